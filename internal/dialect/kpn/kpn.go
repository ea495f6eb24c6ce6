package kpn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/dialect/dialectkit"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// Dialect is the name under which KPN attempts are started (store.Attempt.Dialect).
const Dialect = "kpn"

// The scopes a token may carry.
const (
	ScopeOperatorLookup    = "operator_lookup"
	ScopeDeviceMatch       = "device_match"
	ScopeDeviceMatchNotify = "device_match_notify"
)

// Defaults of Config.
const (
	// DefaultPrefix is where the dialect is mounted when Config.Prefix is empty.
	DefaultPrefix = "/kpn"
	// DefaultTokenLifetime is an access token's lifetime when
	// Config.TokenLifetime is zero (KPN's expires_in is 3600).
	DefaultTokenLifetime = time.Hour
	// DefaultResultRetention is how long after an attempt's deadline its
	// session and polling ids are still answered when Config.ResultRetention
	// is zero.
	DefaultResultRetention = 10 * time.Minute
)

// NotifyKind is the kind (internal/notify's producer name, for logs and
// metrics) of the notifications this dialect enqueues.
const NotifyKind = "kpn.notify"

// Grant kinds of this dialect. Every key is randid.Key of the secret
// value: the store never holds a usable token or id.
const (
	// grantToken is an access token; Data holds its scopes.
	grantToken store.GrantKind = "kpn_token"
	// grantSession is a session id: it names the client and the attempt.
	grantSession store.GrantKind = "kpn_session"
	// grantPolling is a polling id: it names the client and the attempt;
	// Data holds the claimed number sealed under the polling id.
	grantPolling store.GrantKind = "kpn_polling"
)

// Store is the part of the store the dialect uses: the client registry and
// its grants (access tokens, session ids, polling ids).
type Store interface {
	GetClient(ctx context.Context, id string) (store.Client, error)
	PutGrant(ctx context.Context, g store.Grant) error
	GetGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error)
}

// Attempts is the part of the core the dialect drives (*core.Service).
type Attempts interface {
	Start(ctx context.Context, r core.StartRequest) (store.Attempt, error)
	Get(ctx context.Context, id string) (store.Attempt, error)
	UpdateData(ctx context.Context, id string, data []byte) (store.Attempt, error)
	Reported(ctx context.Context, id string, data []byte) (store.Attempt, error)
	DeviceArrived(ctx context.Context, id string, conn network.Connection, userAgent string) (store.Attempt, error)
	Take(ctx context.Context, id string) (store.Attempt, error)
}

var _ Attempts = (*core.Service)(nil)

// Notifier enqueues a webhook in the durable outbox: the method of
// *notify.Notifier. A second call with the same key stores nothing and
// returns an error wrapping store.ErrAlreadyExists (notify.ErrDuplicate).
type Notifier interface {
	EnqueueKey(ctx context.Context, key, kind, url string, headers map[string]string, body []byte) error
	// CheckTarget says whether a notification_uri can ever be delivered
	// (for example not a private address on a production gateway).
	CheckTarget(url string) error
}

// OperatorInfo is what operator_lookup answers about a number. An empty
// field is rendered as JSON null.
type OperatorInfo struct {
	// RegionCode is the CLDR region of the number (for example "NL").
	RegionCode string
	// OperatorName is the operator serving the number (for example "KPN").
	OperatorName string
	// MCC and MNC are the operator's Mobile Country and Network Codes.
	MCC, MNC string
}

// Config configures the dialect. Store, Core and BaseURL are required.
type Config struct {
	// Store holds the client registry (client_id, client_secret; see
	// `numgate clients add`) and the dialect's tokens and ids.
	Store Store
	// Core runs the attempts.
	Core Attempts
	// Notifier delivers device_match_notify notifications. Nil switches
	// notification off: an insights request asking for it is answered 503,
	// and nothing is started.
	Notifier Notifier
	// Connection describes the device's connection as the operator network
	// sees it (trusted proxies applied), usually
	// httpx.AddrResolver.Connection. Default: the TCP peer, untrusted.
	Connection func(r *http.Request) network.Connection
	// BaseURL is numgate's public URL as devices and backends reach it,
	// without a trailing slash (for example "https://numgate.example").
	// session_uri and polling_uri are BaseURL + Prefix + "/session/…" and
	// "/polling/…".
	BaseURL string
	// Prefix is the path under which the dialect is mounted, starting with
	// "/" and without a trailing slash (default DefaultPrefix). KPN's own
	// production base path is "/communication/kpn/numberverify".
	Prefix string
	// Operator answers operator_lookup for an E.164 number (the operator
	// directory). Default: the number's region by its country code, and no
	// operator name, MCC or MNC.
	Operator func(number string) OperatorInfo
	// TokenLifetime is an access token's lifetime (default DefaultTokenLifetime).
	TokenLifetime time.Duration
	// Lifetime is an attempt's deadline after the insights request; zero
	// means the core's default.
	Lifetime time.Duration
	// ResultRetention is how long after the attempt's deadline its session
	// and polling ids stay valid (default DefaultResultRetention). The
	// store's own garbage collection may remove the attempt sooner.
	ResultRetention time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per request; it never sees a phone number,
	// a secret, a token, an id or a notification target (default: discard).
	Logger *slog.Logger
}

// API serves the KPN Number Verify dialect. It is safe for concurrent use,
// and several replicas may share one store.
type API struct {
	store     Store
	core      Attempts
	notifier  Notifier
	conn      func(r *http.Request) network.Connection
	base      string // BaseURL + Prefix
	prefix    string
	operator  func(number string) OperatorInfo
	tokenLife time.Duration
	lifetime  time.Duration
	retention time.Duration
	now       func() time.Time
	log       *slog.Logger
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
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !validPrefix(prefix) {
		errs = append(errs, fmt.Errorf("the Prefix %q must start with /, not end with /, and hold only letters, digits and -._~/", cfg.Prefix))
	}
	if cfg.TokenLifetime < 0 || cfg.Lifetime < 0 || cfg.ResultRetention < 0 {
		errs = append(errs, errors.New("TokenLifetime, Lifetime and ResultRetention may not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("kpn: invalid config: %w", errors.Join(errs...))
	}
	a := &API{
		store: cfg.Store, core: cfg.Core, notifier: cfg.Notifier, conn: cfg.Connection,
		base: cfg.BaseURL + prefix, prefix: prefix, operator: cfg.Operator,
		tokenLife: cfg.TokenLifetime, lifetime: cfg.Lifetime, retention: cfg.ResultRetention,
		now: cfg.Now, log: cfg.Logger,
	}
	if v := reflect.ValueOf(a.notifier); v.Kind() == reflect.Pointer && v.IsNil() {
		a.notifier = nil // a typed nil (*notify.Notifier)(nil) means none too
	}
	if a.conn == nil {
		a.conn = network.PeerConnection
	}
	if a.operator == nil {
		a.operator = regionOnly
	}
	if a.tokenLife == 0 {
		a.tokenLife = DefaultTokenLifetime
	}
	if a.retention == 0 {
		a.retention = DefaultResultRetention
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// validPrefix: "/" then path segments of unreserved characters, no empty
// segment, no trailing slash, no pattern syntax.
func validPrefix(p string) bool {
	if len(p) < 2 || p[0] != '/' || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return false
	}
	for _, c := range p[1:] {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~/", c)
		if !ok {
			return false
		}
	}
	return true
}

// Mount registers the dialect's routes on mux, under the prefix:
//
//	POST {prefix}/token
//	POST {prefix}/insights/{msisdn}
//	GET  {prefix}/session/{session_id}   302 to {prefix}/session/done
//	GET  {prefix}/session                header session_uri
//	GET  {prefix}/session/done           {"status":"OK"}
//	GET  {prefix}/polling/{polling_id}
//	GET  {prefix}/polling                header polling_uri
//
// Routes are registered without a method so that a wrong method is
// answered 405 in KPN's error shape; any other path under the prefix is 404.
func (a *API) Mount(mux *http.ServeMux) {
	p := a.prefix
	mux.Handle(p+"/token", a.handle("token", http.MethodPost, a.token))
	mux.Handle(p+"/insights/{msisdn}", a.handle("insights", http.MethodPost, a.insights))
	mux.Handle(p+"/session/{session_id}", a.handle("session", http.MethodGet, a.sessionByPath))
	mux.Handle(p+"/session", a.handle("session", http.MethodGet, a.sessionByHeader))
	mux.Handle(p+"/session/done", a.handle("session_done", http.MethodGet, a.sessionDone))
	mux.Handle(p+"/polling/{polling_id}", a.handle("polling", http.MethodGet, a.pollingByPath))
	mux.Handle(p+"/polling", a.handle("polling", http.MethodGet, a.pollingByHeader))
	mux.Handle(p+"/", a.handle("unknown", "", func(http.ResponseWriter, *http.Request, *[]slog.Attr) error {
		return fail(http.StatusNotFound, "no such resource")
	}))
}

// handlerFunc is an endpoint: it writes its success response itself and
// returns the error to render otherwise. attrs collects log attributes.
type handlerFunc func(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error

// handle wraps an endpoint: the method check (405), error rendering (an
// error that is not a KPN *Error is logged with a reference and rendered as
// a 500) and one log line per request, which never carries a number, a
// secret, a token, an id or a notification target.
func (a *API) handle(endpoint, method string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		attrs := []slog.Attr{slog.String("api", "kpn"), slog.String("endpoint", endpoint), slog.String("method", r.Method)}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		w = sw
		var err error
		if method != "" && r.Method != method {
			w.Header().Set("Allow", method)
			err = fail(http.StatusMethodNotAllowed, "use "+method)
		} else {
			err = h(w, r, &attrs)
		}
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) {
				ref := randid.ID()
				a.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
					append(attrs, slog.String("error_ref", ref), slog.Any("error", err))...)
				ke = fail(http.StatusInternalServerError, "internal error, reference "+ref)
			}
			attrs = append(attrs, slog.String("reason", ke.reason))
			writeError(w, ke)
		}
		attrs = append(attrs, slog.Int("status", sw.status), slog.Duration("took", a.now().Sub(start)))
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "kpn request", attrs...)
	})
}

// statusWriter remembers the status a handler wrote, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// regionOnly is the default Config.Operator: the number's region by its
// numbering plan, nothing else.
func regionOnly(number string) OperatorInfo {
	p, err := phonenumbers.Parse(number, "")
	if err != nil {
		return OperatorInfo{}
	}
	region := phonenumbers.GetRegionCodeForNumber(p)
	if region == "" || region == "ZZ" || region == "001" {
		region = phonenumbers.GetRegionCodeForCountryCode(int(p.GetCountryCode()))
	}
	if region == "ZZ" || region == "001" {
		region = ""
	}
	return OperatorInfo{RegionCode: region}
}
