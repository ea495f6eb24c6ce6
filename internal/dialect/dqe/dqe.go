package dqe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/dialect/dialectkit"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// Dialect is the name under which DQE attempts are started (store.Attempt.Dialect).
const Dialect = "dqe"

// ScopeNumVerify is the one scope served: number verification.
const ScopeNumVerify = "numVerify"

// DefaultOperatorName is the operator named for every number when
// Config.Operator is nil: numgate itself is the operator.
const DefaultOperatorName = "numgate"

// DefaultResultRetention is how long after an attempt's deadline its
// session token can still be polled when Config.ResultRetention is zero.
const DefaultResultRetention = 10 * time.Minute

// grantSession is the store.GrantKind of a session token: the key is the
// token's hash, the grant names the licence and the attempt.
const grantSession store.GrantKind = "dqe_session"

// Store is the part of the store the dialect uses: the client registry and
// session tokens.
type Store interface {
	GetClient(ctx context.Context, id string) (store.Client, error)
	PutGrant(ctx context.Context, g store.Grant) error
	GetGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error)
	ConsumeGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error)
}

// Attempts is the part of the core the dialect drives (*core.Service).
type Attempts interface {
	Start(ctx context.Context, r core.StartRequest) (store.Attempt, error)
	Get(ctx context.Context, id string) (store.Attempt, error)
	DeviceArrived(ctx context.Context, id string, conn network.Connection, userAgent string) (store.Attempt, error)
	Take(ctx context.Context, id string) (store.Attempt, error)
}

// OperatorPolicy says how this gateway serves one operator through DQE.
type OperatorPolicy struct {
	// Scopes are the scopes served for the operator; empty means numVerify.
	// A list without numVerify gives error 17.
	Scopes []string
	// Licences, when not empty, are the only licences (client IDs) the
	// operator serves; any other gets error 14.
	Licences []string
	// Unreachable switches the operator off (maintenance): initiation
	// answers error 16 without starting an attempt.
	Unreachable bool
}

// Config configures the dialect. Store, Core and BaseURL are required.
type Config struct {
	// Store holds the client registry (licence = client ID, token =
	// client secret) and the session tokens.
	Store Store
	// Core runs the attempts.
	Core Attempts
	// Connection describes the device's connection as the operator network
	// sees it (trusted proxies applied), usually
	// httpx.AddrResolver.Connection. Default: the TCP peer, untrusted.
	Connection func(r *http.Request) network.Connection
	// BaseURL is numgate's public URL as devices reach it, without a
	// trailing slash (for example "https://numgate.example"); the device
	// URL is BaseURL + "/IDMOBILE/device/" + session token.
	BaseURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per request; it never sees a phone number,
	// a secret or a session token (default: discard).
	Logger *slog.Logger
	// Operator names the operator serving an E.164 number (the operator
	// directory), or returns "" when it knows none (error 13). Default:
	// DefaultOperatorName for every number.
	Operator func(number string) string
	// Operators, when not nil, are the operators served, by the name
	// Operator returns; an operator not listed gives error 15. Nil serves
	// every operator Operator names.
	Operators map[string]OperatorPolicy
	// DefaultRegion is the CLDR region of numbers given in national form
	// (for example "0612345678"); default "FR".
	DefaultRegion string
	// Lifetime is an attempt's deadline after initiation; zero means the
	// core's default.
	Lifetime time.Duration
	// ResultRetention is how long after the attempt's deadline its session
	// token stays valid for /GET/ (default DefaultResultRetention).
	ResultRetention time.Duration
}

// API serves the DQE ID Mobile numVerify dialect. It is safe for
// concurrent use, and several replicas may share one store.
type API struct {
	store     Store
	core      Attempts
	conn      func(r *http.Request) network.Connection
	deviceURL string
	now       func() time.Time
	log       *slog.Logger
	operator  func(number string) string
	operators map[string]OperatorPolicy
	region    string
	lifetime  time.Duration
	retention time.Duration
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
	if err := dialectkit.CheckBaseURL(cfg.BaseURL); err != nil {
		errs = append(errs, err)
	}
	if cfg.Lifetime < 0 || cfg.ResultRetention < 0 {
		errs = append(errs, errors.New("Lifetime and ResultRetention may not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("dqe: invalid config: %w", errors.Join(errs...))
	}
	a := &API{
		store: cfg.Store, core: cfg.Core, conn: cfg.Connection, deviceURL: cfg.BaseURL + devicePath,
		now: cfg.Now, log: cfg.Logger, operator: cfg.Operator, operators: cfg.Operators,
		region: cfg.DefaultRegion, lifetime: cfg.Lifetime, retention: cfg.ResultRetention,
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
	if a.operator == nil {
		a.operator = func(string) string { return DefaultOperatorName }
	}
	if a.region == "" {
		a.region = "FR"
	}
	if a.retention == 0 {
		a.retention = DefaultResultRetention
	}
	return a, nil
}

// devicePath is where devices open their session (followed by the token).
const devicePath = "/IDMOBILE/device/"

// Mount registers the dialect's routes on mux: GET and POST /IDMOBILE/
// (initiate), GET /IDMOBILE/device/{token} (the device URL), GET and POST
// /GET/ (retrieve); /IDMOBILE and /GET without the trailing slash too. Any
// other method, or another path under /IDMOBILE/ or /GET/, is error 01.
func (a *API) Mount(mux *http.ServeMux) {
	initiate, retrieve := a.handle("initiate", a.initiate), a.handle("retrieve", a.retrieve)
	mux.Handle("/IDMOBILE/", initiate)
	mux.Handle("/IDMOBILE", initiate)
	mux.Handle("GET "+devicePath+"{token}", a.handle("device", a.device))
	mux.Handle("/GET/", retrieve)
	mux.Handle("/GET", retrieve)
}

// handlerFunc is an endpoint: it writes its success response itself and
// returns the error to render otherwise. attrs collects log attributes.
type handlerFunc func(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error

// handle wraps an endpoint: error rendering (an error that is not a DQE
// error is logged with a reference and rendered as 99) and one log line per
// request, which never carries a number, a secret or a token.
func (a *API) handle(endpoint string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		attrs := []slog.Attr{slog.String("api", "dqe"), slog.String("endpoint", endpoint), slog.String("method", r.Method)}
		err := h(w, r, &attrs)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				ref := randid.ID()
				a.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
					append(attrs, slog.String("error_ref", ref), slog.Any("error", err))...)
				de = fail(ErrInternal, "internal error, reference "+ref)
			}
			attrs = append(attrs, slog.String("error_id", string(de.ID)), slog.String("reason", de.reason))
			writeError(w, de)
		} else {
			attrs = append(attrs, slog.String("result", "ok"))
		}
		attrs = append(attrs, slog.Duration("took", a.now().Sub(start)))
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "dqe request", attrs...)
	})
}
