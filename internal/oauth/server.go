package oauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/store"
)

// Scopes served by default (besides one dpv: purpose per request).
const (
	ScopeOpenID = "openid"
	// ScopeNumberVerify is CAMARA Number Verification's POST /verify scope.
	ScopeNumberVerify = "number-verification:verify"
	// ScopeNumberShare is CAMARA Number Verification's GET /device-phone-number scope.
	ScopeNumberShare = "number-verification:device-phone-number:read"
)

// Limits of the CAMARA profile and defaults of Config.
const (
	// MaxAccessTokenLifetime is the longest access token lifetime New accepts.
	MaxAccessTokenLifetime = 300 * time.Second
	// MaxAssertionLifetime is the longest client assertion lifetime (exp-iat,
	// and exp-now) accepted (CAMARA ICM, Client Authentication).
	MaxAssertionLifetime = 300 * time.Second
	// ClockLeeway is the clock skew tolerated on client assertion times.
	ClockLeeway = 5 * time.Second

	defaultCodeLifetime        = 60 * time.Second
	maxCodeLifetime            = 10 * time.Minute // RFC 6749 section 4.1.2
	defaultAccessTokenLifetime = 300 * time.Second
)

// Config configures a Server. Issuer, Store, Core, Keys and Subject are
// required.
type Config struct {
	// Issuer is the server's issuer identifier, an http(s) URL without a
	// trailing slash, query or fragment, e.g. "http://127.0.0.1:9091".
	// Endpoints are Issuer+"/authorize", "/token", "/jwks" and
	// "/.well-known/openid-configuration".
	Issuer string
	// Store holds clients, codes, access tokens and seen assertion jti values.
	Store store.Store
	// Core runs the verification attempt behind each authorization.
	Core *core.Service
	// Keys signs ID tokens.
	Keys *Keys
	// Connection describes the device's connection as seen by the operator
	// network (trusted proxies already applied). Default: the TCP peer of
	// the request, never from a trusted proxy.
	Connection func(r *http.Request) network.Connection
	// Subject returns the pairwise pseudonymous ID token subject of a device
	// number for a client. It must not be reversible to the number.
	Subject func(deviceNumber, clientID string) string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per request; it never sees a phone number,
	// a secret, a code or a token (default: discard).
	Logger *slog.Logger
	// CodeLifetime is an authorization code's lifetime (default 60 s, at
	// most 10 min).
	CodeLifetime time.Duration
	// AccessTokenLifetime is an access token's lifetime (default 300 s,
	// never more than 300 s).
	AccessTokenLifetime time.Duration
	// Scopes are the non-purpose scopes served (default: openid,
	// number-verification:verify, number-verification:device-phone-number:read).
	Scopes []string
}

// Server is the authorization server. It is safe for concurrent use, and
// several replicas may share one store.
type Server struct {
	issuer       string
	origin       string // scheme://host of the issuer
	basePath     string // path of the issuer, "" or "/prefix"
	authorizeURL string
	tokenURL     string
	jwksURL      string

	store    store.Store
	core     *core.Service
	keys     atomic.Pointer[Keys] // swapped by SetKeys
	conn     func(r *http.Request) network.Connection
	subject  func(deviceNumber, clientID string) string
	now      func() time.Time
	log      *slog.Logger
	codeLife time.Duration
	atLife   time.Duration
	scopes   []string
	served   map[string]bool
}

// New checks cfg, applies defaults and returns a Server. It reports every
// problem of cfg at once.
func New(cfg Config) (*Server, error) {
	var errs []error
	u, err := url.Parse(cfg.Issuer)
	switch {
	case cfg.Issuer == "":
		errs = append(errs, errors.New("missing Issuer"))
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(cfg.Issuer, "/"):
		errs = append(errs, fmt.Errorf("the Issuer %q must be an http(s) URL without trailing slash, query, fragment or user info", cfg.Issuer))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("missing Store"))
	}
	if cfg.Core == nil {
		errs = append(errs, errors.New("missing Core"))
	}
	if cfg.Keys == nil {
		errs = append(errs, errors.New("missing Keys"))
	}
	if cfg.Subject == nil {
		errs = append(errs, errors.New("missing Subject (the pairwise ID token subject)"))
	}
	if cfg.CodeLifetime < 0 || cfg.CodeLifetime > maxCodeLifetime {
		errs = append(errs, fmt.Errorf("the CodeLifetime %v must be between 0 (default %v) and %v", cfg.CodeLifetime, defaultCodeLifetime, maxCodeLifetime))
	}
	if cfg.AccessTokenLifetime < 0 || cfg.AccessTokenLifetime > MaxAccessTokenLifetime {
		errs = append(errs, fmt.Errorf("the AccessTokenLifetime %v must be between 0 (default %v) and %v", cfg.AccessTokenLifetime, defaultAccessTokenLifetime, MaxAccessTokenLifetime))
	}
	for _, sc := range cfg.Scopes {
		if !validScopeToken(sc) || strings.HasPrefix(sc, purposePrefix) {
			errs = append(errs, fmt.Errorf("the Scopes entry %q is not a servable scope (purposes are dpv:<Value> and need no configuration)", sc))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("oauth: invalid config: %w", errors.Join(errs...))
	}

	s := &Server{
		issuer:       cfg.Issuer,
		origin:       u.Scheme + "://" + u.Host,
		basePath:     u.Path,
		authorizeURL: cfg.Issuer + "/authorize",
		tokenURL:     cfg.Issuer + "/token",
		jwksURL:      cfg.Issuer + "/jwks",
		store:        cfg.Store,
		core:         cfg.Core,
		conn:         cfg.Connection,
		subject:      cfg.Subject,
		now:          cfg.Now,
		log:          cfg.Logger,
		codeLife:     cfg.CodeLifetime,
		atLife:       cfg.AccessTokenLifetime,
		scopes:       cfg.Scopes,
	}
	s.keys.Store(cfg.Keys)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.conn == nil {
		s.conn = network.PeerConnection
	}
	if s.codeLife == 0 {
		s.codeLife = defaultCodeLifetime
	}
	if s.atLife == 0 {
		s.atLife = defaultAccessTokenLifetime
	}
	if len(s.scopes) == 0 {
		s.scopes = []string{ScopeOpenID, ScopeNumberVerify, ScopeNumberShare}
	}
	s.served = make(map[string]bool, len(s.scopes))
	for _, sc := range s.scopes {
		s.served[sc] = true
	}
	return s, nil
}

// Issuer returns the server's issuer identifier.
func (s *Server) Issuer() string { return s.issuer }

// SetKeys replaces the signing keys (after RotateKeyFile, on a reload):
// ID tokens are signed and the JWKS served with k from now on.
func (s *Server) SetKeys(k *Keys) {
	if k != nil {
		s.keys.Store(k)
	}
}

// Mount registers the server's endpoints on mux, under the issuer's path:
// GET /.well-known/openid-configuration, GET /jwks, GET and POST /authorize,
// and POST /token.
func (s *Server) Mount(mux *http.ServeMux) {
	p := s.basePath
	mux.Handle("GET "+p+"/.well-known/openid-configuration", http.HandlerFunc(s.serveDiscovery))
	mux.Handle("GET "+p+"/jwks", http.HandlerFunc(s.serveJWKS))
	authorize := s.AuthorizeHandler()
	mux.Handle("GET "+p+"/authorize", authorize)
	mux.Handle("POST "+p+"/authorize", authorize)
	mux.Handle("POST "+p+"/token", s.TokenHandler())
}

// AuthorizeHandler returns the authorization endpoint (GET query or POST
// form), so that other dialects can mount it under another path too.
//
// HEAD, which a GET route also takes, is refused: a link checker's or a
// chat app's preview must not start, decide and rate-count an attempt.
func (s *Server) AuthorizeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.Header().Set("Allow", "GET, POST")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		s.serveAuthorize(w, r)
	})
}

// TokenHandler returns the token endpoint (POST form), so that other
// dialects can mount it under another path too. A client assertion's aud may
// name the URL it was actually sent to (under the issuer's origin).
func (s *Server) TokenHandler() http.Handler { return http.HandlerFunc(s.serveToken) }
