package camara

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// Scopes of the Number Verification API.
const (
	ScopeVerify = "number-verification:verify"
	ScopeShare  = "number-verification:device-phone-number:read"
)

// Token is what the API needs to know of an access token.
type Token struct {
	ClientID  string
	AttemptID string
	Scopes    []string
	// NetworkAuthenticated is true when the token was issued after the
	// mobile network identified the device (a 3-legged token).
	NetworkAuthenticated bool
}

// Token errors a TokenSource returns.
var (
	ErrTokenInvalid = errors.New("camara: access token unknown, malformed or used")
	ErrTokenExpired = errors.New("camara: access token expired")
)

// TokenSource looks up and consumes access tokens (the OAuth server).
type TokenSource interface {
	// Lookup returns the token without using it up.
	Lookup(ctx context.Context, raw string) (Token, error)
	// Consume uses the token up: of two concurrent callers one succeeds.
	Consume(ctx context.Context, raw string) (Token, error)
}

// TokenComparer is an optional ability of a TokenSource: check the token,
// use it up and compare the claim with the number identified for its
// attempt in one step (one store transaction instead of three). Token
// errors (ErrTokenInvalid, ErrTokenExpired) come first; then check is
// called with the valid token, and its error is returned as is with
// nothing used up; then the token is used up and the claim compared, and
// attempt errors are core's (ErrNotFound, ErrWrongState, ErrInvalidClaim).
type TokenComparer interface {
	ConsumeAndCompare(ctx context.Context, raw string, check func(Token) error, c core.Claim) (Token, bool, error)
}

// Attempts is the part of the core the API uses.
type Attempts interface {
	Compare(ctx context.Context, id string, c core.Claim) (bool, error)
	Take(ctx context.Context, id string) (store.Attempt, error)
}

// Config configures the API.
type Config struct {
	Tokens   TokenSource
	Attempts Attempts
	Now      func() time.Time
	Logger   *slog.Logger
}

// API serves both versions of the Number Verification API.
type API struct {
	tokens   TokenSource
	attempts Attempts
	now      func() time.Time
	log      *slog.Logger
}

// New returns an API.
func New(cfg Config) *API {
	a := &API{tokens: cfg.Tokens, attempts: cfg.Attempts, now: cfg.Now, log: cfg.Logger}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

var (
	v1 = version{name: "v1", errors: v1Errors, assessedAt: true}
	v2 = version{name: "v2", errors: v2Errors, hashPattern: true, correlatorPattern: true}
)

// Mount registers both versions on mux.
func (a *API) Mount(mux *http.ServeMux) {
	for _, v := range []version{v1, v2} {
		base := "/number-verification/" + v.name
		mux.Handle("POST "+base+"/verify", a.handle(v, a.verify))
		mux.Handle("GET "+base+"/device-phone-number", a.handle(v, a.share))
		// The GET pattern would also take HEAD, which would use up the
		// single-use token and the attempt's number and return neither.
		mux.Handle("HEAD "+base+"/device-phone-number", a.handle(v, notAllowed("GET")))
		// Anything else under the base answers in CAMARA's shape too.
		mux.Handle(base+"/verify", a.handle(v, notAllowed("POST")))
		mux.Handle(base+"/device-phone-number", a.handle(v, notAllowed("GET")))
		mux.Handle(base+"/", a.handle(v, refuse(codeNotFound)))
	}
}

type handlerFunc func(v version, w http.ResponseWriter, r *http.Request) error

// notAllowed answers 405 with the Allow header RFC 9110 section 15.5.6
// requires of it.
func notAllowed(allow string) handlerFunc {
	return func(v version, w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return v.fail(codeMethodNotAllowed, "no such operation: "+r.Method+" "+route(r))
	}
}

func refuse(code string) handlerFunc {
	return func(v version, w http.ResponseWriter, r *http.Request) error {
		return v.fail(code, "no such operation: "+r.Method+" "+route(r))
	}
}

// route is the path pattern that matched r, for the log: the request's own
// path may carry a phone number (a client that puts it in the URL), which
// must never reach a log line.
func route(r *http.Request) string {
	p := r.Pattern
	if _, after, ok := strings.Cut(p, " "); ok {
		p = after
	}
	if p == "" {
		return "(unrouted)"
	}
	return p
}

// correlatorPattern is XCorrelator's pattern in the v2 definition.
var correlatorPattern = regexp.MustCompile(`^[a-zA-Z0-9-_:;.\/<>{}]{0,256}$`)

// correlatorHeaders are the headers echoed back: CAMARA's, and the
// aggregator's name from seed 001.
var correlatorHeaders = []string{"x-correlator", "x-correlation-id"}

// maxLoggedCorrelator bounds the correlator in the log line: v1's is any
// string, as long as a header may be (a megabyte), and every request is
// logged, refused ones too. v2's pattern allows 256 characters.
const maxLoggedCorrelator = 256

// logCorrelator is c as the log records it: cut to maxLoggedCorrelator
// bytes (at a character boundary), marked when cut.
func logCorrelator(c string) string {
	if len(c) <= maxLoggedCorrelator {
		return c
	}
	cut := maxLoggedCorrelator
	for cut > 0 && !utf8.RuneStart(c[cut]) {
		cut--
	}
	return c[:cut] + "…(cut)"
}

// handle wraps an operation: correlator validation and echo, error
// rendering, and one log line per request.
func (a *API) handle(v version, op handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		attrs := []slog.Attr{slog.String("api", "camara-"+v.name), slog.String("method", r.Method), slog.String("path", route(r))}
		var err error
		for _, h := range correlatorHeaders {
			val, present := r.Header[http.CanonicalHeaderKey(h)]
			if !present {
				continue
			}
			if len(val) != 1 {
				err = v.fail(codeInvalidArgument, h+" header is given more than once")
				continue
			}
			if v.correlatorPattern && !correlatorPattern.MatchString(val[0]) {
				err = v.fail(codeInvalidArgument, h+" header does not match the XCorrelator pattern")
				continue
			}
			w.Header().Set(h, val[0])
			attrs = append(attrs, slog.String("correlator", logCorrelator(val[0])))
		}
		if err == nil {
			err = op(v, w, r)
		}
		status := http.StatusOK
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				id := randid.ID()
				a.log.LogAttrs(r.Context(), slog.LevelError, "internal error", append(attrs, slog.String("error_id", id), slog.Any("error", err))...)
				ce = v.fail(codeInternal, "internal error "+id)
			}
			status = ce.Status
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", bearerChallenge(r))
			}
			attrs = append(attrs, slog.String("code", ce.Code), slog.String("reason", ce.reason))
			writeJSON(w, ce.Status, ce)
		}
		attrs = append(attrs, slog.Int("status", status), slog.Duration("took", a.now().Sub(start)))
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "camara request", attrs...)
	})
}

// authenticate checks the bearer token without using it up: a missing,
// unknown, used or expired token is 401.
func (a *API) authenticate(ctx context.Context, v version, r *http.Request) (raw string, tok Token, err error) {
	if raw, err = bearer(v, r); err != nil {
		return "", Token{}, err
	}
	tok, err = a.tokens.Lookup(ctx, raw)
	switch {
	case errors.Is(err, ErrTokenExpired):
		return "", Token{}, v.fail(codeUnauthenticated, "access token expired")
	case errors.Is(err, ErrTokenInvalid):
		return "", Token{}, v.fail(codeUnauthenticated, "access token unknown, malformed or already used")
	case err != nil:
		return "", Token{}, err
	}
	return raw, tok, nil
}

// bearerChallenge is the WWW-Authenticate of a 401 (RFC 6750 section 3):
// the Bearer scheme, and invalid_token when a bearer token was presented.
func bearerChallenge(r *http.Request) string {
	const c = `Bearer realm="numgate"`
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(raw) != "" {
		return c + `, error="invalid_token"`
	}
	return c
}

// bearer returns the bearer token of the Authorization header: a missing
// or other header is 401.
func bearer(v version, r *http.Request) (string, error) {
	authz := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(authz, " ")
	if authz == "" {
		return "", v.fail(codeUnauthenticated, "no Authorization header")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return "", v.fail(codeUnauthenticated, "Authorization is not a Bearer token")
	}
	return strings.TrimSpace(raw), nil
}

// permit checks the token's scope and how it was obtained (403).
func permit(v version, tok Token, scope string) error {
	if !slices.Contains(tok.Scopes, scope) {
		return v.fail(codePermissionDenied, "access token lacks scope "+scope)
	}
	if !tok.NetworkAuthenticated || tok.AttemptID == "" {
		return v.fail(codeNotMobileNetwork, "access token was not obtained by network-based authentication")
	}
	return nil
}

// consume uses the token up, after the request has been validated, so a bad
// request leaves the token usable.
func (a *API) consume(ctx context.Context, v version, raw string) (Token, error) {
	tok, err := a.tokens.Consume(ctx, raw)
	switch {
	case errors.Is(err, ErrTokenExpired):
		return Token{}, v.fail(codeUnauthenticated, "access token expired")
	case errors.Is(err, ErrTokenInvalid):
		return Token{}, v.fail(codeUnauthenticated, "access token already used")
	}
	return tok, err
}

// verifyRequest is NumberVerificationRequestBody.
type verifyRequest struct {
	PhoneNumber       *string `json:"phoneNumber"`
	HashedPhoneNumber *string `json:"hashedPhoneNumber"`
}

// verifyResponse is NumberVerificationMatchResponse; assessedAt only in v1.
// The fields are in the order a map's keys would be encoded.
type verifyResponse struct {
	AssessedAt string `json:"assessedAt,omitempty"`
	Verified   bool   `json:"devicePhoneNumberVerified"`
}

// maxBody bounds request bodies; a verify body is under 100 bytes.
const maxBody = 4 << 10

func (a *API) verify(v version, w http.ResponseWriter, r *http.Request) error {
	// Order: 401 (who is asking), 400 (what is asked), 403 (may they ask
	// it), and only then is the single-use token used up.
	ctx := r.Context()
	var matched bool
	if tc, ok := a.tokens.(TokenComparer); ok {
		raw, err := bearer(v, r)
		if err != nil {
			return err
		}
		// The body is parsed first (it has no effects); its error is
		// reported after the token's, from inside the one step.
		claim, bodyErr := parseVerifyBody(v, r)
		_, matched, err = tc.ConsumeAndCompare(ctx, raw, func(tok Token) error {
			if bodyErr != nil {
				return bodyErr
			}
			return permit(v, tok, ScopeVerify)
		}, claim)
		switch {
		case errors.Is(err, ErrTokenExpired):
			return v.fail(codeUnauthenticated, "access token expired")
		case errors.Is(err, ErrTokenInvalid):
			return v.fail(codeUnauthenticated, "access token unknown, malformed or already used")
		case err != nil:
			var ce *Error
			if errors.As(err, &ce) {
				return err
			}
			return a.attemptError(v, err)
		}
	} else {
		raw, tok, err := a.authenticate(ctx, v, r)
		if err != nil {
			return err
		}
		claim, err := parseVerifyBody(v, r)
		if err != nil {
			return err
		}
		if err := permit(v, tok, ScopeVerify); err != nil {
			return err
		}
		tok, err = a.consume(ctx, v, raw)
		if err != nil {
			return err
		}
		if matched, err = a.attempts.Compare(ctx, tok.AttemptID, claim); err != nil {
			return a.attemptError(v, err)
		}
	}
	body := verifyResponse{Verified: matched}
	if v.assessedAt {
		body.AssessedAt = a.now().UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (a *API) share(v version, w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	raw, tok, err := a.authenticate(ctx, v, r)
	if err != nil {
		return err
	}
	if err := permit(v, tok, ScopeShare); err != nil {
		return err
	}
	tok, err = a.consume(ctx, v, raw)
	if err != nil {
		return err
	}
	att, err := a.attempts.Take(ctx, tok.AttemptID)
	if err != nil {
		return a.attemptError(v, err)
	}
	if att.DeviceNumber == "" {
		return v.fail(codeInvalidContext, "attempt carries no device number")
	}
	writeJSON(w, http.StatusOK, map[string]string{"devicePhoneNumber": att.DeviceNumber})
	return nil
}

// attemptError maps a core error after the token was used up: the token's
// attempt no longer holds a number (already answered, or expired).
func (a *API) attemptError(v version, err error) error {
	switch {
	case errors.Is(err, core.ErrNotFound), errors.Is(err, core.ErrWrongState), errors.Is(err, core.ErrExpired):
		if v.name == "v1" {
			return v.fail(codeInvalidContext, "the token's attempt holds no phone number: "+err.Error())
		}
		return v.fail(codeUnauthenticated, "the token's attempt holds no phone number: "+err.Error())
	case errors.Is(err, core.ErrInvalidClaim):
		return v.fail(codeInvalidArgument, err.Error())
	}
	return err
}

// parseVerifyBody validates the request against NumberVerificationRequestBody:
// JSON object, exactly one property, phoneNumber or hashedPhoneNumber, each
// matching its pattern.
func parseVerifyBody(v version, r *http.Request) (core.Claim, error) {
	// The exact common value skips mime.ParseMediaType, which allocates.
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return core.Claim{}, v.fail(codeUnsupportedMedia, "Content-Type is not application/json")
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return core.Claim{}, v.fail(codeInvalidArgument, "request body could not be read")
	}
	if len(body) > maxBody {
		return core.Claim{}, v.fail(codeInvalidArgument, "request body too large")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return core.Claim{}, v.fail(codeInvalidArgument, "request body is missing")
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(body, &props); err != nil {
		return core.Claim{}, v.fail(codeInvalidArgument, "request body is not a JSON object")
	}
	if len(props) != 1 {
		return core.Claim{}, v.fail(codeInvalidArgument, "request body must have exactly one of phoneNumber and hashedPhoneNumber")
	}
	// Property names are matched exactly: encoding/json would also fill
	// PhoneNumber from "PHONENUMBER", a property the schema does not have.
	var req verifyRequest
	for name, raw := range props {
		var dst **string
		switch name {
		case "phoneNumber":
			dst = &req.PhoneNumber
		case "hashedPhoneNumber":
			dst = &req.HashedPhoneNumber
		default:
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return core.Claim{}, v.fail(codeInvalidArgument, name+" is not a string")
		}
	}
	var c core.Claim
	switch {
	case req.PhoneNumber != nil:
		c.Number = *req.PhoneNumber
		if c.Number == "" || c.Check() != nil {
			return core.Claim{}, v.fail(codeInvalidArgument, "phoneNumber does not match ^\\+[1-9][0-9]{4,14}$")
		}
	case req.HashedPhoneNumber != nil:
		c.Hash = *req.HashedPhoneNumber
		if c.Hash == "" {
			return core.Claim{}, v.fail(codeInvalidArgument, "hashedPhoneNumber is empty")
		}
		if v.hashPattern && c.Check() != nil {
			return core.Claim{}, v.fail(codeInvalidArgument, "hashedPhoneNumber does not match ^[a-fA-F0-9]{64}$")
		}
		if !v.hashPattern && c.Check() != nil {
			// v1 sets no pattern: a hash of another form matches nothing.
			// Hashing it behind a NUL byte gives a well-formed digest no
			// E.164 number hashes to.
			c.Hash = msisdn.Hash("\x00" + c.Hash)
		}
	default:
		return core.Claim{}, v.fail(codeInvalidArgument, "request body has neither phoneNumber nor hashedPhoneNumber")
	}
	return c, nil
}
