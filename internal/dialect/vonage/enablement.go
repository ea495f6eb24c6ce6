package vonage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/ratelimit"
	"github.com/numgate/numgate/internal/store"
)

// Limits on the Network Enablement body.
const (
	maxBody        = 16 << 10
	maxStateLength = 1024
	maxScopes      = 8
)

// refPrefix is the login_hint form of an auth_url reference: CAMARA's
// operatortoken: form, an opaque token that stands for the subscriber.
const refPrefix = "operatortoken:"

// enablementRequest is the Network Enablement body.
type enablementRequest struct {
	PhoneNumber *string   `json:"phone_number"`
	Scopes      *[]string `json:"scopes"`
	State       *string   `json:"state"`
}

// enablementResponse is its answer: one auth_url per scope.
type enablementResponse struct {
	Scopes map[string]scopeURL `json:"scopes"`
}

type scopeURL struct {
	AuthURL string `json:"auth_url"`
}

// refData is the stored JSON of an auth_url reference: what the
// authorization request must repeat.
type refData struct {
	RedirectURI string `json:"redirect_uri"`
	Scope       string `json:"scope"`
	State       string `json:"state"`
}

// attemptData is the dialect data stored with the attempt, for audit.
type attemptData struct {
	Scope string `json:"scope"`
	Entry string `json:"entry"` // "network-enablement" or "authorize"
}

// enable is the Network Enablement call: an application (by its JWT) names
// the user's phone number, scopes and a state, and gets one auth_url per
// scope for the device to open.
//
// Each auth_url is numgate's /oauth2/auth with the parameters Vonage's SDKs
// send (client_id, redirect_uri, response_type, scope, state, login_hint),
// but its login_hint is an opaque, single-use reference to the attempt
// (operatortoken:<43 characters>), never the number: the number stays in
// the attempt.
//
// Order: 401 (the JWT), 415/400 (the body), 403 (the application's
// registration), then the JWT's jti is used up and the attempts start.
func (a *API) enable(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	ctx := r.Context()
	app, err := a.authenticateApp(ctx, r)
	if err != nil {
		return err
	}
	c := app.client
	*attrs = append(*attrs, slog.String("client", c.ID))
	number, scopes, state, err := readEnablement(r)
	if err != nil {
		return err
	}
	if len(c.RedirectURIs) == 0 {
		return problem(kindForbidden, "the application has no Number Verification redirect URI registered")
	}
	redirectURI := c.RedirectURIs[0]
	for _, sc := range scopes {
		if !allowedScope(c, sc) {
			return problem(kindForbidden, "the application is not allowed the scope "+sc)
		}
	}
	// The limits count the request's attempts at once, before the JWT's
	// jti is spent: a refusal starts nothing and the JWT can be retried.
	var limit *ratelimit.Error
	if err := a.core.Admit(ctx, c.ID, Dialect, number, len(scopes)); errors.As(err, &limit) && limit.Exceeds {
		return problem(kindBadRequest, fmt.Sprintf("%d scopes are more attempts than the rate limit per %s allows at once", len(scopes), limit.Scope)).because(err.Error())
	} else if errors.Is(err, core.ErrRateLimited) {
		return throttled(err)
	} else if err != nil {
		return fmt.Errorf("admit attempts: %w", err)
	}
	if err := a.recordJTI(ctx, app); err != nil {
		return err
	}

	resp := enablementResponse{Scopes: make(map[string]scopeURL, len(scopes))}
	for _, sc := range scopes {
		data, err := json.Marshal(attemptData{Scope: sc, Entry: "network-enablement"})
		if err != nil {
			return err
		}
		att, err := a.core.Start(ctx, core.StartRequest{
			ClientID: c.ID, Dialect: Dialect, ClaimedNumber: number, Lifetime: a.lifetime, Data: data, Admitted: true,
		})
		if err != nil {
			return fmt.Errorf("start attempt: %w", err)
		}
		*attrs = append(*attrs, slog.String("attempt", att.ID))
		ref := randid.Secret()
		rd, err := json.Marshal(refData{RedirectURI: redirectURI, Scope: sc, State: state})
		if err != nil {
			return err
		}
		now := a.now().UTC()
		err = a.store.PutGrant(ctx, store.Grant{
			Kind: grantRef, Key: randid.Key(ref), ClientID: c.ID, AttemptID: att.ID,
			Data: rd, CreatedAt: now, ExpiresAt: att.Deadline.Add(refGrace),
		})
		if err != nil {
			return fmt.Errorf("store auth_url reference: %w", err)
		}
		q := url.Values{
			"client_id": {c.ID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
			"scope": {scopeOpenID + " " + sc}, "state": {state}, "login_hint": {refPrefix + ref},
		}
		resp.Scopes[sc] = scopeURL{AuthURL: a.authURL + "?" + q.Encode()}
	}
	writeJSON(w, resp)
	return nil
}

// readEnablement reads and checks the Network Enablement body: a JSON
// object with phone_number (E.164), scopes (1 to 8 Number Verification
// scopes) and state (1 to 1024 printable characters). Unknown members are
// ignored. Details never echo the number.
func readEnablement(r *http.Request) (number string, scopes []string, state string, err error) {
	mt, _, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if perr != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return "", nil, "", problem(kindUnsupportedMedia, "the request body must be application/json")
	}
	body, rerr := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case rerr != nil:
		return "", nil, "", problem(kindBadRequest, "the request body could not be read")
	case len(body) > maxBody:
		return "", nil, "", problem(kindBadRequest, "the request body is too large")
	}
	var req enablementRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		return "", nil, "", problem(kindBadRequest, "the request body must be one JSON object with phone_number, scopes and state")
	}
	switch {
	case req.PhoneNumber == nil || *req.PhoneNumber == "":
		return "", nil, "", problem(kindBadRequest, "phone_number is required")
	case !msisdn.Valid(*req.PhoneNumber):
		return "", nil, "", problem(kindBadRequest, "phone_number must be an E.164 number with a leading '+' and no separators")
	case req.Scopes == nil || len(*req.Scopes) == 0:
		return "", nil, "", problem(kindBadRequest, "scopes must list at least one scope")
	case len(*req.Scopes) > maxScopes:
		return "", nil, "", problem(kindBadRequest, fmt.Sprintf("scopes may list at most %d scopes", maxScopes))
	case req.State == nil || *req.State == "":
		return "", nil, "", problem(kindBadRequest, "state is required")
	case len(*req.State) > maxStateLength || !printable(*req.State):
		return "", nil, "", problem(kindBadRequest, "state must be at most 1024 printable ASCII characters")
	}
	for _, sc := range *req.Scopes {
		if !servedScope(sc) {
			return "", nil, "", problem(kindBadRequest, "scopes may only hold Number Verification scopes, dpv:<Purpose>#"+APIScopeVerify)
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return *req.PhoneNumber, scopes, *req.State, nil
}

// printable reports whether s is printable ASCII (spaces allowed).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}
