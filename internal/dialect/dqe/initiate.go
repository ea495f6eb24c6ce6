package dqe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/ratelimit"
	"github.com/numgate/numgate/internal/store"
)

// Parameter names. The seed writes the licence "licence" at /IDMOBILE/ and
// "Licence" at /GET/; both spellings are accepted at both.
var (
	pLicence     = []string{"licence", "Licence"}
	pToken       = []string{"token"}
	pName        = []string{"name"}
	pNumber      = []string{"number"}
	pScope       = []string{"scope"}
	pRedirectURI = []string{"redirect_uri"}
	pUserInfos   = []string{"user_infos"}
)

// sessionData is the stored JSON of a session token.
type sessionData struct {
	RedirectURI string `json:"redirect_uri,omitempty"`
}

// attemptData is the dialect data stored with the attempt, for audit.
type attemptData struct {
	Scope    string `json:"scope"`
	Operator string `json:"operator"`
	Name     string `json:"name"`
}

// initiate is step 1, /IDMOBILE/ by GET query or POST form: it checks the
// request, starts an attempt and answers the operator and the device URL.
//
// Order of checks: the request's form (01), who asks (02, then 30 for the
// token), what is asked (01 name, 04, 11/10/09, 05/06/07/12, 01
// redirect_uri), the operator (13, 15, 14, 17, 16). Every check comes
// before the attempt is started: a refused request creates nothing.
func (a *API) initiate(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	if r.URL.Path != "/IDMOBILE/" && r.URL.Path != "/IDMOBILE" {
		return fail(ErrInvalidRequest, "no such resource")
	}
	ctx := r.Context()
	p, e := readParams(w, r)
	if e != nil {
		return e
	}
	c, err := a.authenticate(ctx, p)
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("licence", c.ID))
	req, e := a.checkInitiate(p, c)
	if e != nil {
		return e
	}
	*attrs = append(*attrs, slog.String("operator", req.operator))

	data, err := json.Marshal(attemptData{Scope: ScopeNumVerify, Operator: req.operator, Name: req.name})
	if err != nil {
		return err
	}
	att, err := a.core.Start(ctx, core.StartRequest{
		ClientID: c.ID, Dialect: Dialect, ClaimedNumber: req.number, Lifetime: a.lifetime, Data: data,
	})
	if errors.Is(err, core.ErrInvalidClaim) {
		return fail(ErrInvalidNumber, "the core refused the number")
	}
	if errors.Is(err, core.ErrRateLimited) {
		e := fail(ErrInvalidRequest, err.Error())
		e.retryAfter = ratelimit.RetryAfter(err)
		return e
	}
	if err != nil {
		return fmt.Errorf("start attempt: %w", err)
	}
	*attrs = append(*attrs, slog.String("attempt", att.ID))

	token := randid.Secret()
	sd, err := json.Marshal(sessionData{RedirectURI: req.redirectURI})
	if err != nil {
		return err
	}
	now := a.now().UTC()
	err = a.store.PutGrant(ctx, store.Grant{
		Kind: grantSession, Key: randid.Key(token), ClientID: c.ID, AttemptID: att.ID,
		Data: sd, CreatedAt: now, ExpiresAt: att.Deadline.Add(a.retention),
	})
	if err != nil {
		// The attempt is left to expire on its own: nobody can reach it.
		return fmt.Errorf("store session token: %w", err)
	}
	writeJSON(w, http.StatusOK, initiateBody{Status: statusSuccess, Operator: req.operator, URL: a.deviceURL + token})
	return nil
}

// authenticate finds the licence's client and checks the token against its
// secret: licence = client ID, token = client secret.
func (a *API) authenticate(ctx context.Context, p params) (store.Client, error) {
	licence, e := p.get(pLicence...)
	if e != nil {
		return store.Client{}, e
	}
	token, e := p.get(pToken...)
	if e != nil {
		return store.Client{}, e
	}
	if licence == "" {
		return store.Client{}, fail(ErrInvalidLicence, "licence is missing")
	}
	c, err := a.store.GetClient(ctx, licence)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, fail(ErrInvalidLicence, "no client is registered under this licence")
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client: %w", err)
	}
	if len(c.SecretHash) == 0 {
		return store.Client{}, fail(ErrInvalidLicence, "the client has no secret: it cannot use the DQE dialect")
	}
	if token == "" {
		return store.Client{}, fail(ErrInvalidRequest, "token is missing")
	}
	if !oauth.CheckSecret(c, token) {
		return store.Client{}, fail(ErrInvalidToken, "token is not the licence's secret")
	}
	return c, nil
}

// initiateRequest is a checked initiation.
type initiateRequest struct {
	number      string // E.164
	name        string
	redirectURI string
	operator    string
}

// checkInitiate checks everything but the licence and token.
func (a *API) checkInitiate(p params, c store.Client) (initiateRequest, *Error) {
	var req initiateRequest
	var e *Error
	if req.name, e = p.get(pName...); e != nil {
		return req, e
	}
	if req.name == "" {
		return req, fail(ErrInvalidRequest, "name is missing")
	}
	if e := checkScope(p, c); e != nil {
		return req, e
	}

	raw, e := p.get(pNumber...)
	if e != nil {
		return req, e
	}
	if req.number, e = normalize(raw, a.region); e != nil {
		return req, e
	}
	if e := a.checkUserInfos(p, req.number); e != nil {
		return req, e
	}
	if req.redirectURI, e = p.get(pRedirectURI...); e != nil {
		return req, e
	}
	if req.redirectURI != "" {
		if u, err := url.Parse(req.redirectURI); err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" {
			return req, fail(ErrInvalidRequest, "redirect_uri is not an absolute http(s) URL without fragment")
		}
		if !slices.Contains(c.RedirectURIs, req.redirectURI) {
			return req, fail(ErrInvalidRequest, "redirect_uri is not registered for this licence")
		}
	}
	req.operator, e = a.checkOperator(req.number, c.ID)
	return req, e
}

// checkScope checks scope=numVerify, and that the licence's registration
// allows it (an empty Client.Scopes allows every scope).
func checkScope(p params, c store.Client) *Error {
	scope, e := p.get(pScope...)
	switch {
	case e != nil:
		return e
	case scope == "":
		return fail(ErrInvalidScope, "scope is missing")
	case scope != ScopeNumVerify:
		return fail(ErrInvalidScope, "scope is not numVerify")
	case len(c.Scopes) > 0 && !slices.Contains(c.Scopes, ScopeNumVerify):
		return fail(ErrInvalidScope, "the licence is not registered for numVerify")
	}
	return nil
}

// checkUserInfos checks the optional user_infos parameter, which DQE's
// other scopes use to describe the user: when it is sent, it must be a
// non-empty JSON object (05, 06) with a "phone" key (07) naming the same
// number as number (12).
func (a *API) checkUserInfos(p params, number string) *Error {
	if !p.has(pUserInfos...) {
		return nil
	}
	raw, e := p.get(pUserInfos...)
	if e != nil {
		return e
	}
	if raw == "" {
		return fail(ErrUserInfosEmpty, "user_infos is empty")
	}
	var infos map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &infos); err != nil || infos == nil {
		return fail(ErrUserInfosNotJSON, "user_infos is not a JSON object")
	}
	rawPhone, ok := infos["phone"]
	if !ok {
		return fail(ErrUserInfosNoPhone, "user_infos has no phone key")
	}
	var phone string
	if err := json.Unmarshal(rawPhone, &phone); err != nil {
		return fail(ErrPhoneCheckFailed, "user_infos.phone is not a string")
	}
	n, e := normalize(phone, a.region)
	if e != nil {
		return fail(ErrPhoneCheckFailed, "user_infos.phone is not a valid number")
	}
	if !msisdn.Equal(n, number) {
		return fail(ErrPhoneCheckFailed, "user_infos.phone is not the number")
	}
	return nil
}

// checkOperator finds the number's operator and checks that this gateway
// serves it, for this licence and numVerify, now.
func (a *API) checkOperator(number, licence string) (string, *Error) {
	name := a.operator(number)
	if name == "" {
		return "", failOperator(ErrOperatorNotFound, "", "the operator directory knows no operator for the number")
	}
	if a.operators == nil {
		return name, nil
	}
	pol, ok := a.operators[name]
	switch {
	case !ok:
		return name, failOperator(ErrOperatorNotSupported, name, "the operator is not served by this gateway")
	case len(pol.Licences) > 0 && !slices.Contains(pol.Licences, licence):
		return name, failOperator(ErrOperatorNotAuthorized, name, "the licence is not among the operator's licences")
	case len(pol.Scopes) > 0 && !slices.Contains(pol.Scopes, ScopeNumVerify):
		return name, failOperator(ErrScopeNotSupported, name, "numVerify is not served for the operator")
	case pol.Unreachable:
		return name, failOperator(ErrOperatorUnreachable, name, "the operator is switched off as unreachable")
	}
	return name, nil
}
