package vonage

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/oauth"
)

// verifyRequest is CAMARA Number Verification v0.3.1's request body.
type verifyRequest struct {
	PhoneNumber       *string `json:"phoneNumber"`
	HashedPhoneNumber *string `json:"hashedPhoneNumber"`
}

// verifyResponse is its answer.
type verifyResponse struct {
	DevicePhoneNumberVerified bool `json:"devicePhoneNumberVerified"`
}

// verify answers whether the number the backend names is the number of the
// device that opened the auth_url. The access token is single-use.
//
// Order: 401 (the access token, without using it up), 415/400 (the body),
// 403 (the token's scope), then the token is used up and the attempt
// answers once, in one store transaction.
func (a *API) verify(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	ctx := r.Context()
	raw, ok := bearer(r)
	if !ok {
		return unauthorized("an access token is required as Authorization: Bearer")
	}
	at, err := a.tokens.LookupAccessToken(ctx, raw)
	if err != nil {
		return tokenError(err)
	}
	*attrs = append(*attrs, slog.String("client", at.ClientID), slog.String("attempt", at.AttemptID))
	claim, err := readVerify(r)
	if err != nil {
		return err
	}
	// The token is used up and the attempt compared in one store
	// transaction, after the scope check (which spends nothing).
	_, matched, err := a.tokens.ConsumeAccessTokenAndCompare(ctx, raw, func(at oauth.AccessToken) error {
		if !hasVerifyScope(at) || !at.NetworkAuthenticated || at.AttemptID == "" {
			return problem(kindForbidden, "the access token was not granted Number Verification by a device's authorization")
		}
		return nil
	}, claim)
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, oauth.ErrTokenExpired), errors.Is(err, oauth.ErrInvalidToken):
		return tokenError(err)
	case errors.Is(err, core.ErrWrongState), errors.Is(err, core.ErrNotFound), errors.Is(err, core.ErrExpired):
		return problem(kindForbidden, "the access token's verification was already answered or has expired").because(err.Error())
	case err != nil:
		return err
	}
	*attrs = append(*attrs, slog.Bool("verified", matched))
	writeJSON(w, verifyResponse{DevicePhoneNumberVerified: matched})
	return nil
}

// tokenError maps an access token lookup failure onto a 401.
func tokenError(err error) error {
	switch {
	case errors.Is(err, oauth.ErrTokenExpired):
		return unauthorized("the access token has expired")
	case errors.Is(err, oauth.ErrInvalidToken):
		return unauthorized("the access token is unknown, malformed or already used")
	}
	return err
}

// hasVerifyScope reports whether the token grants a Number Verification
// scope of this dialect.
func hasVerifyScope(at oauth.AccessToken) bool {
	for _, s := range at.Scopes {
		if servedScope(s) {
			return true
		}
	}
	return false
}

// readVerify reads the body: a JSON object with exactly one of phoneNumber
// (E.164) and hashedPhoneNumber (SHA-256 hex of the E.164 number).
func readVerify(r *http.Request) (core.Claim, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return core.Claim{}, problem(kindUnsupportedMedia, "the request body must be application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return core.Claim{}, problem(kindBadRequest, "the request body could not be read or is too large")
	}
	var req verifyRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		return core.Claim{}, problem(kindBadRequest, "the request body must be a JSON object with phoneNumber")
	}
	var c core.Claim
	switch {
	case req.PhoneNumber != nil && req.HashedPhoneNumber != nil:
		return core.Claim{}, problem(kindBadRequest, "give phoneNumber or hashedPhoneNumber, not both")
	case req.PhoneNumber != nil:
		c.Number = *req.PhoneNumber
		if !msisdn.Valid(c.Number) {
			return core.Claim{}, problem(kindBadRequest, "phoneNumber must be an E.164 number with a leading '+' and no separators")
		}
	case req.HashedPhoneNumber != nil:
		c.Hash = *req.HashedPhoneNumber
		if !msisdn.ValidHash(c.Hash) {
			return core.Claim{}, problem(kindBadRequest, "hashedPhoneNumber must be a SHA-256 digest in hexadecimal")
		}
	default:
		return core.Claim{}, problem(kindBadRequest, "phoneNumber is required")
	}
	return c, nil
}
