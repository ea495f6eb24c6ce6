package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultBaseDelay    = 2 * time.Second
	DefaultMaxDelay     = 10 * time.Minute
	DefaultMaxTries     = 12
	DefaultPollInterval = time.Second
	DefaultBatch        = 32
)

// IdempotencyHeader is the request header that carries a delivery's ID.
const IdempotencyHeader = "Idempotency-Key"

// userAgent identifies numgate's webhook calls.
const userAgent = "numgate-webhook/1"

// maxLastError bounds the LastError kept with a delivery.
const maxLastError = 300

// Errors of Enqueue and EnqueueKey.
var (
	// ErrRefusedURL: the target is not an absolute http or https URL.
	ErrRefusedURL = errors.New("notify: webhook URL must be an absolute http or https URL")
	// ErrBadHeader: a header name or value cannot be sent.
	ErrBadHeader = errors.New("notify: invalid webhook header")
	// ErrDuplicate: EnqueueKey found a delivery with that key already
	// (it wraps store.ErrAlreadyExists).
	ErrDuplicate = fmt.Errorf("notify: delivery already enqueued: %w", store.ErrAlreadyExists)
)

// Config configures a Notifier. Store is required; zero values take the
// defaults above.
type Config struct {
	// Store is the outbox (any store.Store).
	Store store.Outbox
	// Client sends the webhooks. Default: a client that follows no
	// redirects (a 3xx is a failed try) and, with BlockPrivate, refuses to
	// connect to private addresses. A given Client is used as it is.
	Client *http.Client
	// Timeout bounds one try, connection to last header (default 10 s).
	Timeout time.Duration
	// BaseDelay is the delay after the first failed try; it doubles with
	// every further try (default 2 s).
	BaseDelay time.Duration
	// MaxDelay caps the delay between tries (default 10 min).
	MaxDelay time.Duration
	// MaxTries is how many tries a delivery gets before it fails (default 12).
	MaxTries int
	// Lease is how long a claimed delivery is withheld from other claimers
	// (replicas, or this one after a crash); default Timeout + 30 s. It must
	// exceed Timeout.
	Lease time.Duration
	// PollInterval is how often Run looks for due deliveries when it is not
	// woken by Enqueue (default 1 s).
	PollInterval time.Duration
	// Batch is how many deliveries Run claims, and tries concurrently, at
	// once (default 32).
	Batch int
	// Jitter spreads a backoff delay d; it must return a value in (0, d].
	// Default: "equal jitter", d/2 plus a random part of d/2.
	Jitter func(d time.Duration) time.Duration
	// BlockPrivate refuses connections to loopback, private, link-local and
	// unspecified addresses (checked after DNS resolution) with the default
	// Client. Switch it on where webhook URLs come from untrusted clients.
	BlockPrivate bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per failed try; never a body (default: discard).
	Logger *slog.Logger
	// Registerer, when set, receives the counter
	// numgate_webhook_tries_total{kind, result}.
	Registerer prometheus.Registerer
}

// Notifier enqueues and delivers webhooks. It is safe for concurrent use.
type Notifier struct {
	store  store.Outbox
	client *http.Client
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	wake   chan struct{}
	tries  *prometheus.CounterVec
}

// New checks cfg, applies the defaults and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: Store is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MaxDelay < cfg.BaseDelay {
		return nil, errors.New("notify: MaxDelay must not be below BaseDelay")
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = DefaultMaxTries
	}
	if cfg.Lease <= 0 {
		cfg.Lease = cfg.Timeout + 30*time.Second
	}
	if cfg.Lease <= cfg.Timeout {
		return nil, errors.New("notify: Lease must exceed Timeout")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Jitter == nil {
		cfg.Jitter = equalJitter
	}
	n := &Notifier{store: cfg.Store, client: cfg.Client, cfg: cfg, now: cfg.Now, log: cfg.Logger, wake: make(chan struct{}, 1)}
	if n.now == nil {
		n.now = time.Now
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.client == nil {
		n.client = newClient(cfg.BlockPrivate)
	}
	if cfg.Registerer != nil {
		n.tries = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "numgate_webhook_tries_total",
			Help: "Webhook delivery tries by producer kind and result (delivered, retry, failed, refused, interrupted).",
		}, []string{"kind", "result"})
		if err := cfg.Registerer.Register(n.tries); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("notify: metrics: %w", err)
			}
			n.tries = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return n, nil
}

// Enqueue stores a new pending delivery of body to url, with headers sent on
// every try, and returns its ID (the idempotency key). kind names the
// producer (for example "kpn.notify") for logs and metrics. The first try is
// due at once; Run makes it.
func (n *Notifier) Enqueue(ctx context.Context, kind, url string, headers map[string]string, body []byte) (string, error) {
	id := randid.ID()
	return id, n.EnqueueKey(ctx, id, kind, url, headers, body)
}

// EnqueueKey is Enqueue with a key chosen by the producer, for producers
// that must report one event once even when two code paths (or replicas)
// see it: the second call for the same key returns ErrDuplicate and stores
// nothing. The key is the delivery's ID and idempotency key; it must be
// 1 to 200 printable ASCII characters without spaces.
func (n *Notifier) EnqueueKey(ctx context.Context, key, kind, url string, headers map[string]string, body []byte) error {
	if !validKey(key) {
		return errors.New("notify: invalid delivery key")
	}
	if _, err := checkURL(url); err != nil {
		return err
	}
	h := make(map[string]string, len(headers))
	seen := make(map[string]bool, len(headers))
	for k, v := range headers {
		// Two names for one header ("Authorization", "authorization")
		// would each win at random, a different value at each try.
		ck := http.CanonicalHeaderKey(k)
		if !validHeaderName(k) || !validHeaderValue(v) || seen[ck] {
			return ErrBadHeader
		}
		seen[ck] = true
		h[k] = v
	}
	now := n.now().UTC()
	err := n.store.EnqueueDelivery(ctx, store.Delivery{
		ID: key, Kind: kind, URL: url, Headers: h, Body: body,
		State: store.DeliveryPending, NextTryAt: now, CreatedAt: now, UpdatedAt: now,
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("notify: enqueue: %w", err)
	}
	select { // wake Run for an immediate first try
	case n.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run delivers due deliveries until ctx ends, then returns nil once the
// tries in flight have been abandoned and their leases released. Start it
// once per process; replicas may each run one on a shared store.
func (n *Notifier) Run(ctx context.Context) error {
	t := time.NewTimer(n.cfg.PollInterval)
	defer t.Stop()
	for {
		claimed, err := n.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			n.log.Warn("webhook outbox", "error", err)
		}
		if claimed == n.cfg.Batch {
			continue // there may be more due at once
		}
		t.Reset(n.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
		case <-t.C:
		}
	}
}

// RunOnce claims one batch of due deliveries, tries them concurrently and
// records the results; it returns how many it claimed. Run calls it in a
// loop; it is exported for tools and tests that drive the outbox step by step.
func (n *Notifier) RunOnce(ctx context.Context) (int, error) {
	due, err := n.store.ClaimDeliveries(ctx, n.now(), n.cfg.Lease, n.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("notify: claim: %w", err)
	}
	var wg sync.WaitGroup
	for _, d := range due {
		wg.Go(func() { n.deliver(ctx, d) })
	}
	wg.Wait()
	return len(due), nil
}

// deliver makes one try of a claimed delivery and records it.
func (n *Notifier) deliver(ctx context.Context, d store.Delivery) {
	host := hostOf(d.URL)
	if err := n.CheckTarget(d.URL); err != nil {
		n.record(ctx, d, "refused", store.Delivery{ID: d.ID, State: store.DeliveryFailed, Tries: d.Tries, NextTryAt: d.NextTryAt, LastError: err.Error()})
		n.log.Warn("webhook refused", "delivery", d.ID, "kind", d.Kind, "error", err)
		return
	}
	retryAfter, err := n.try(ctx, d)
	if err != nil && ctx.Err() != nil {
		// Stopping: the try does not count; release the lease at once so
		// the next Notifier need not wait for it to run out.
		n.record(ctx, d, "interrupted", store.Delivery{ID: d.ID, State: store.DeliveryPending, Tries: d.Tries, NextTryAt: d.NextTryAt, LastError: d.LastError})
		return
	}
	tries := d.Tries + 1
	if err == nil {
		n.record(ctx, d, "delivered", store.Delivery{ID: d.ID, State: store.DeliveryDelivered, Tries: tries, NextTryAt: d.NextTryAt})
		n.log.Debug("webhook delivered", "delivery", d.ID, "kind", d.Kind, "host", host, "tries", tries)
		return
	}
	msg := truncate(err.Error(), maxLastError)
	// A name that resolves to a private address is refused for good: the
	// notification matters within minutes, not after hours of retries.
	if tries >= n.cfg.MaxTries || errors.Is(err, ErrPrivateTarget) {
		n.record(ctx, d, "failed", store.Delivery{ID: d.ID, State: store.DeliveryFailed, Tries: tries, NextTryAt: d.NextTryAt, LastError: msg})
		n.log.Warn("webhook failed for good", "delivery", d.ID, "kind", d.Kind, "host", host, "tries", tries, "error", msg)
		return
	}
	next := n.now().Add(n.backoff(tries, retryAfter))
	n.record(ctx, d, "retry", store.Delivery{ID: d.ID, State: store.DeliveryPending, Tries: tries, NextTryAt: next, LastError: msg})
	n.log.Info("webhook try failed", "delivery", d.ID, "kind", d.Kind, "host", host, "tries", tries, "next_try_at", next, "error", msg)
}

// record stores a try's result; the store write outlives a stopping ctx.
func (n *Notifier) record(ctx context.Context, d store.Delivery, result string, r store.Delivery) {
	if n.tries != nil {
		n.tries.WithLabelValues(d.Kind, result).Inc()
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	r.UpdatedAt, r.LeaseUntil = n.now(), d.LeaseUntil // fenced by the claim's lease
	err := n.store.RecordTry(wctx, r)
	if errors.Is(err, store.ErrConflict) {
		// The try outlasted the lease and another claim took the delivery:
		// its result stands; the receiver dedupes by Idempotency-Key.
		n.log.Warn("webhook outbox: lease lost before the try was recorded", "delivery", d.ID, "kind", d.Kind)
		return
	}
	if err != nil {
		// The lease runs out and the delivery is tried again: at least once.
		n.log.Error("webhook outbox: recording a try", "delivery", d.ID, "kind", d.Kind, "error", err)
	}
}

// try POSTs the delivery once. It returns nil for a 2xx answer; otherwise
// an error safe to store (no URL path, no body) and, for 429 and 503, the
// receiver's Retry-After.
func (n *Notifier) try(ctx context.Context, d store.Delivery) (time.Duration, error) {
	tctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, errors.New("cannot build the request")
	}
	for k, v := range d.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(IdempotencyHeader, d.ID)
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, safeError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	var wait time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		wait = retryAfter(resp.Header.Get("Retry-After"), n.now())
	}
	return wait, fmt.Errorf("HTTP %d", resp.StatusCode)
}

// backoff is the delay before try number tries+1: BaseDelay·2^(tries-1)
// capped at MaxDelay, jittered, and no shorter than the receiver's
// Retry-After (itself capped at MaxDelay).
func (n *Notifier) backoff(tries int, retryAfter time.Duration) time.Duration {
	d := n.cfg.MaxDelay
	if shift := tries - 1; shift < 62 {
		if b := n.cfg.BaseDelay << shift; b > 0 && b>>shift == n.cfg.BaseDelay && b < d {
			d = b
		}
	}
	d = n.cfg.Jitter(d)
	if retryAfter > d {
		d = min(retryAfter, n.cfg.MaxDelay)
	}
	return d
}

// equalJitter returns d/2 plus a random duration in [0, d/2].
func equalJitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
}

// retryAfter parses a Retry-After value (seconds or an HTTP date). A delay
// too long for a time.Duration saturates (backoff caps it at MaxDelay)
// rather than wrapping round to a negative or tiny one.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || s > uint64(math.MaxInt64/time.Second) {
			return math.MaxInt64
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// checkURL accepts absolute http and https URLs with a host. A port alone
// ("http://:8080/") is no host: net.Dial takes it for the local system.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return nil, ErrRefusedURL
	}
	return u, nil
}

// hostOf returns the host of a URL for log lines (never its path or query).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// safeError drops the URL from a client error (it may hold tokens or
// numbers in its path or query) and keeps the cause.
func safeError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out")
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ErrPrivateTarget refuses a webhook to a private address (BlockPrivate):
// a URL whose host is such an address, or a name that resolves to one.
var ErrPrivateTarget = errors.New("refusing to connect to a private address")

// CheckTarget says whether a webhook URL can ever be delivered here:
// ErrRefusedURL for one that is not an absolute http(s) URL without user
// info, ErrPrivateTarget for one whose host is a literal address that
// BlockPrivate refuses. A host name is checked at each connection, not
// here (it may resolve differently by then).
func (n *Notifier) CheckTarget(raw string) error {
	u, err := checkURL(raw)
	if err != nil {
		return err
	}
	if !n.cfg.BlockPrivate {
		return nil
	}
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && blocked(a.Unmap()) {
		return ErrPrivateTarget
	}
	return nil
}

// newClient builds the default client: no redirects, optionally no private
// destinations.
func newClient(blockPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if blockPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || blocked(ap.Addr()) {
				return ErrPrivateTarget
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // webhooks go straight to the receiver
	tr.DialContext = dialer.DialContext
	tr.MaxIdleConnsPerHost = 4
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// nonPublic are the special-purpose ranges (RFC 6890 and successors) that
// are not the public Internet, besides those netip classifies itself:
// "this network", shared address space (carrier-grade NAT, and cloud
// metadata services such as 100.100.100.200), IETF protocol assignments,
// benchmarking, reserved and broadcast, IPv6 site-local and discard.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/32"),       // Teredo: reaches an IPv4 host through a relay
	netip.MustParsePrefix("::ffff:0:0:0/96"), // SIIT (RFC 6145) IPv4-translated
}

// IPv6 prefixes that carry an IPv4 address (RFC 4291, 6052, 8215, 3056).
var (
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// blocked reports whether a is not a public unicast address: loopback,
// private, link-local, multicast, unspecified or another special-purpose
// range, also when it is embedded in an IPv6 address that translates to it
// (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
func blocked(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case ipv4Compatible.Contains(a) && !a.IsUnspecified() && !a.IsLoopback(), nat64.Contains(a):
			return blocked(netip.AddrFrom4([4]byte(b[12:16])))
		case nat64Local.Contains(a):
			return true // local-use NAT64: an operator's own network
		case sixToFour.Contains(a):
			return blocked(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func validKey(k string) bool {
	if k == "" || len(k) > 200 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f {
			return false
		}
	}
	return true
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	// Set by the Notifier itself.
	return !strings.EqualFold(k, IdempotencyHeader) && !strings.EqualFold(k, "Host") && !strings.EqualFold(k, "Content-Length")
}

// validHeaderValue accepts what the transport sends, and the store keeps,
// unchanged: no control character but HTAB (net/http refuses the request
// at every try otherwise), and valid UTF-8 (the store's JSON would replace
// invalid bytes, sending another value than the one enqueued).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(v)
}
