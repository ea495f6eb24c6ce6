package vonage

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/numgate/numgate/internal/oauth"
)

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	// ExpiresIn is the token's lifetime in minutes, as Vonage documents it
	// (at least 1).
	ExpiresIn int64 `json:"expires_in"`
}

// token exchanges an authorization code for an access token. The
// application authenticates with its JWT as Bearer; the body is a form with
// grant_type=authorization_code, code and redirect_uri (the registered
// callback), and code_verifier when the authorization request used PKCE.
//
// Order: 401 (the JWT), 415/400 (the form), then the JWT's jti is used up,
// then the code (checked against its client and redirect URI before it is
// used up, by the OAuth server).
func (a *API) token(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	ctx := r.Context()
	app, err := a.authenticateApp(ctx, r)
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("client", app.client.ID))
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return problem(kindUnsupportedMedia, "the request body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return problem(kindBadRequest, "the request body is not a valid form or is too large")
	}
	f := r.PostForm
	for name, vs := range f {
		if len(vs) > 1 {
			return problem(kindBadRequest, name+" was given more than once")
		}
	}
	switch gt := f.Get("grant_type"); {
	case gt == "":
		return problem(kindBadRequest, "grant_type is required")
	case gt != "authorization_code":
		return problem(kindUnsupportedGrant, "grant_type must be authorization_code")
	case f.Get("code") == "":
		return problem(kindBadRequest, "code is required")
	case f.Get("redirect_uri") == "":
		return problem(kindBadRequest, "redirect_uri is required")
	}
	if err := a.recordJTI(ctx, app); err != nil {
		return err
	}
	tok, err := a.tokens.RedeemCode(ctx, app.client, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
	if err != nil {
		return tokenProblem(err)
	}
	writeJSON(w, tokenResponse{AccessToken: tok.AccessToken, TokenType: tok.TokenType, ExpiresIn: minutes(tok.ExpiresIn)})
	return nil
}

// tokenProblem maps the OAuth server's refusal of a code onto a problem.
func tokenProblem(err error) error {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return err
	}
	if oe.Code == oauth.ErrCodeInvalidGrant {
		return problem(kindInvalidGrant, oe.Description)
	}
	return problem(kindBadRequest, oe.Description)
}

// minutes rounds a lifetime down to whole minutes, at least 1: a client
// reading expires_in as minutes (Vonage's documentation) or as seconds
// (RFC 6749) never uses the token after it expired.
func minutes(d time.Duration) int64 { return max(1, int64(d/time.Minute)) }

// wellFormedSecret reports whether s has the form of randid.Secret (43
// base64url characters), so that garbage never reaches the store.
func wellFormedSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}
