package vonage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/dialect/dialectkit"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// Dialect is the name under which Vonage attempts are started
// (store.Attempt.Dialect).
const Dialect = "vonage"

// Paths served, as Vonage's API reference names them.
const (
	PathNetworkEnablement = "/v0.1/network-enablement"
	PathAuthorize         = "/oauth2/auth"
	PathToken             = "/oauth2/token"
	PathVerify            = "/camara/number-verification/v031/verify"
)

// Limits and defaults.
const (
	// DefaultMaxJWTLifetime is the longest application JWT accepted (exp
	// after the time of receipt) when Config.MaxJWTLifetime is zero.
	// Vonage's libraries issue 15-minute JWTs; its online generator and
	// CLI can issue longer ones.
	DefaultMaxJWTLifetime = 24 * time.Hour
	// JWTLeeway is the clock skew tolerated on application JWT times.
	JWTLeeway = 30 * time.Second
	// refGrace keeps an auth_url reference past its attempt's deadline, so
	// that a late device is told the attempt expired rather than unknown.
	refGrace = 10 * time.Minute
)

// Grant kinds of this dialect.
const (
	// grantRef is an auth_url reference: the key is the hash of the opaque
	// login_hint, the grant names the client and the attempt.
	grantRef store.GrantKind = "vonage_auth_ref"
	// grantJTI is a seen application JWT jti, kept until the JWT expires.
	grantJTI store.GrantKind = "vonage_jti"
)

// Store is the part of the store the dialect uses.
type Store interface {
	GetClient(ctx context.Context, id string) (store.Client, error)
	PutGrant(ctx context.Context, g store.Grant) error
	GetGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error)
	ConsumeGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error)
}

// Attempts is the part of the core the dialect drives (*core.Service).
type Attempts interface {
	Admit(ctx context.Context, clientID, dialect, claimedNumber string, n int) error
	Start(ctx context.Context, r core.StartRequest) (store.Attempt, error)
	DeviceArrived(ctx context.Context, id string, conn network.Connection, userAgent string) (store.Attempt, error)
	Identify(ctx context.Context, r core.StartRequest, conn network.Connection, userAgent string) (store.Attempt, error)
}

// Tokens is the part of the OAuth server the dialect uses: its
// authorization codes and access tokens (*oauth.Server).
type Tokens interface {
	IssueCode(ctx context.Context, c oauth.ExternalCode) (string, error)
	RedeemCode(ctx context.Context, c store.Client, code, redirectURI, codeVerifier string) (oauth.IssuedToken, error)
	LookupAccessToken(ctx context.Context, token string) (oauth.AccessToken, error)
	ConsumeAccessTokenAndCompare(ctx context.Context, token string, check func(oauth.AccessToken) error, claim core.Claim) (oauth.AccessToken, bool, error)
}

var _ Tokens = (*oauth.Server)(nil)
var _ Attempts = (*core.Service)(nil)

// Config configures the dialect. Store, Core, OAuth and BaseURL are required.
type Config struct {
	// Store holds the applications (store.Client: ID = application_id,
	// JWKS = the application's public key, RedirectURIs[0] = its Number
	// Verification redirect), auth_url references and seen jti values.
	Store Store
	// Core runs the attempts.
	Core Attempts
	// OAuth issues and redeems the authorization codes and access tokens.
	OAuth Tokens
	// Connection describes the device's connection as the operator network
	// sees it (trusted proxies applied), usually
	// httpx.AddrResolver.Connection. Default: the TCP peer, untrusted.
	Connection func(r *http.Request) network.Connection
	// BaseURL is numgate's public URL as devices and backends reach it,
	// without a trailing slash; auth_url is BaseURL + "/oauth2/auth?…".
	BaseURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per request; it never sees a phone number,
	// a secret, a code or a token (default: discard).
	Logger *slog.Logger
	// Lifetime is how long an auth_url can be opened after the Network
	// Enablement call (the attempt's deadline); zero means the core's default.
	Lifetime time.Duration
	// MaxJWTLifetime bounds an application JWT's exp after the time of
	// receipt (default DefaultMaxJWTLifetime).
	MaxJWTLifetime time.Duration
}

// API serves the Vonage dialect. It is safe for concurrent use, and several
// replicas may share one store.
type API struct {
	store    Store
	core     Attempts
	tokens   Tokens
	conn     func(r *http.Request) network.Connection
	authURL  string
	now      func() time.Time
	log      *slog.Logger
	lifetime time.Duration
	maxJWT   time.Duration
}

// New checks cfg, applies its defaults and returns the API. It reports
// every problem of cfg at once.
func New(cfg Config) (*API, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("missing Store"))
	}
	if cfg.Core == nil {
		errs = append(errs, errors.New("missing Core"))
	}
	if cfg.OAuth == nil {
		errs = append(errs, errors.New("missing OAuth"))
	}
	if err := dialectkit.CheckBaseURL(cfg.BaseURL); err != nil {
		errs = append(errs, err)
	}
	if cfg.Lifetime < 0 || cfg.MaxJWTLifetime < 0 {
		errs = append(errs, errors.New("Lifetime and MaxJWTLifetime may not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("vonage: invalid config: %w", errors.Join(errs...))
	}
	a := &API{
		store: cfg.Store, core: cfg.Core, tokens: cfg.OAuth, conn: cfg.Connection,
		authURL: cfg.BaseURL + PathAuthorize, now: cfg.Now, log: cfg.Logger,
		lifetime: cfg.Lifetime, maxJWT: cfg.MaxJWTLifetime,
	}
	if a.conn == nil {
		a.conn = network.PeerConnection
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.maxJWT == 0 {
		a.maxJWT = DefaultMaxJWTLifetime
	}
	return a, nil
}

// Mount registers the dialect's routes on mux:
//
//	POST /v0.1/network-enablement              the Network Enablement call
//	GET  /oauth2/auth                          the auth_url, opened by the device
//	POST /oauth2/token                         code → access token
//	POST /camara/number-verification/v031/verify
//
// Other methods on these paths get a 405 problem, other paths under
// /camara/number-verification/v031/ a 404 problem.
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle("POST "+PathNetworkEnablement, a.handle("network-enablement", a.enable))
	mux.Handle("GET "+PathAuthorize, a.handle("authorize", a.authorize))
	mux.Handle("POST "+PathToken, a.handle("token", a.token))
	mux.Handle("POST "+PathVerify, a.handle("verify", a.verify))
	for p, allow := range map[string]string{PathNetworkEnablement: "POST", PathAuthorize: "GET", PathToken: "POST", PathVerify: "POST"} {
		mux.Handle(p, a.handle("refused", notAllowed(allow)))
	}
	mux.Handle("/camara/number-verification/v031/", a.handle("refused", refuse(kindNotFound)))
}

// handlerFunc is an endpoint: it writes its success response itself and
// returns the error to render otherwise; attrs collects log attributes.
type handlerFunc func(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error

// refuse answers a request no route serves with problem k. The detail
// names the route that matched, not the request's path: a path may carry
// a phone number, which an error message must never repeat.
func refuse(k problemKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *[]slog.Attr) error {
		route := r.Pattern
		if _, after, ok := strings.Cut(route, " "); ok {
			route = after
		}
		return problem(k, "no such operation: "+r.Method+" "+route)
	}
}

// notAllowed is refuse(kindMethodNotAllowed) with the Allow header RFC 9110
// requires of a 405.
func notAllowed(allow string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
		w.Header().Set("Allow", allow)
		return refuse(kindMethodNotAllowed)(w, r, attrs)
	}
}

// handle wraps an endpoint: error rendering (an error that is not a
// *Problem is logged and rendered as a 500 naming only its instance) and
// one log line per request, which never carries a number, a secret, a code
// or a token.
func (a *API) handle(endpoint string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		attrs := []slog.Attr{slog.String("api", "vonage"), slog.String("endpoint", endpoint), slog.String("method", r.Method)}
		err := h(w, r, &attrs)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				p = problem(kindInternal, "internal error").because(err.Error())
			}
			p = p.withInstance()
			attrs = append(attrs, slog.Int("status", p.Status), slog.String("problem", p.Type),
				slog.String("instance", p.Instance), slog.String("reason", p.reason))
			level := slog.LevelInfo
			if p.Status >= 500 {
				level = slog.LevelError
			}
			a.log.LogAttrs(r.Context(), level, "vonage request", append(attrs, slog.Duration("took", a.now().Sub(start)))...)
			writeProblem(w, p)
			return
		}
		attrs = append(attrs, slog.String("result", "ok"), slog.Duration("took", a.now().Sub(start)))
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "vonage request", attrs...)
	})
}

// withInstance returns a copy of p with a fresh instance id.
func (p *Problem) withInstance() *Problem {
	c := *p
	c.Instance = randid.ID()
	if c.Status == http.StatusInternalServerError {
		c.Detail = "internal error, reference " + c.Instance
	}
	return &c
}
