package notify_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/numgate/numgate/internal/notify"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// request is what the receiver saw of one try.
type request struct {
	method, path string
	header       http.Header
	body         string
}

// receiver is a webhook endpoint on loopback that answers fail for the
// first failFirst tries and 204 after.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	got       []request
	failFirst int
	fail      func(w http.ResponseWriter) // default: 503
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	t.Helper()
	rc := &receiver{failFirst: failFirst}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, request{r.Method, r.URL.RequestURI(), r.Header.Clone(), string(body)})
		n := len(rc.got)
		fail := rc.fail
		rc.mu.Unlock()
		if n <= rc.failFirst {
			if fail != nil {
				fail(w)
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.got...)
}

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	// A cleanup, not a defer: it runs after the Notifiers started later
	// (by run) have stopped.
	t.Cleanup(func() { st.Close() })
	return st
}

// identity is a jitter that keeps the delay, so schedules are exact.
func identity(d time.Duration) time.Duration { return d }

func newNotifier(t *testing.T, st store.Outbox, clk *clock, tweak func(*notify.Config)) (*notify.Notifier, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := notify.Config{
		Store: st, Now: clk.Now, Jitter: identity,
		Timeout: 2 * time.Second, BaseDelay: time.Second, MaxDelay: time.Minute, MaxTries: 5,
		PollInterval: 2 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n, logs
}

// run starts n.Run and returns a function that stops it and waits.
func run(t *testing.T, n *notify.Notifier) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitDelivery polls the store until cond holds for the delivery (5 s).
func waitDelivery(t *testing.T, st store.Outbox, id string, what string, cond func(store.Delivery) bool) store.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := st.GetDelivery(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: delivery is %+v", what, d)
		}
		time.Sleep(time.Millisecond)
	}
}

func tries(n int) func(store.Delivery) bool {
	return func(d store.Delivery) bool { return d.Tries == n && d.LeaseUntil.IsZero() }
}

const secretBody = `{"msisdn":"31630000001","device_match":true}`

var hookHeaders = map[string]string{"Authorization": "Bearer abcd1234"}

// checkSameTries asserts that every try carried the same body, headers and
// idempotency key.
func checkSameTries(t *testing.T, got []request, id, path string) {
	t.Helper()
	for i, r := range got {
		if r.method != http.MethodPost || r.path != path {
			t.Errorf("try %d: %s %s, want POST %s", i+1, r.method, r.path, path)
		}
		if k := r.header.Get(notify.IdempotencyHeader); k != id {
			t.Errorf("try %d: Idempotency-Key %q, want %q (stable across tries)", i+1, k, id)
		}
		if a := r.header.Get("Authorization"); a != "Bearer abcd1234" {
			t.Errorf("try %d: Authorization %q", i+1, a)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("try %d: Content-Type %q", i+1, ct)
		}
		if r.body != secretBody {
			t.Errorf("try %d: body %q", i+1, r.body)
		}
	}
}

// TestRetriesWithBackoffThenDelivers: a receiver that fails twice gets the
// delivery on the third try, after 1 s and 2 s of backoff, and every try
// carries the same idempotency key.
func TestRetriesWithBackoffThenDelivers(t *testing.T) {
	rc := newReceiver(t, 2)
	st := openStore(t, filepath.Join(t.TempDir(), "n.db"))
	clk := newClock()
	reg := prometheus.NewRegistry()
	n, logs := newNotifier(t, st, clk, func(c *notify.Config) { c.Registerer = reg })
	run(t, n)

	id, err := n.Enqueue(t.Context(), "kpn.notify", rc.URL+"/hook?tenant=7", hookHeaders, []byte(secretBody))
	if err != nil {
		t.Fatal(err)
	}
	t0 := clk.Now()
	d := waitDelivery(t, st, id, "first try", tries(1))
	if d.State != store.DeliveryPending || d.LastError != "HTTP 503" || !d.NextTryAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("after try 1: %+v", d)
	}
	clk.Add(999 * time.Millisecond)
	time.Sleep(20 * time.Millisecond) // several polls: not due yet
	if got := len(rc.requests()); got != 1 {
		t.Fatalf("%d tries before the backoff ran out", got)
	}
	clk.Add(time.Millisecond)
	d = waitDelivery(t, st, id, "second try", tries(2))
	if d.State != store.DeliveryPending || !d.NextTryAt.Equal(clk.Now().Add(2*time.Second)) {
		t.Fatalf("after try 2: %+v (backoff should double to 2s)", d)
	}
	clk.Add(2 * time.Second)
	d = waitDelivery(t, st, id, "delivery", func(d store.Delivery) bool { return d.State == store.DeliveryDelivered })
	if d.Tries != 3 || d.LastError != "" {
		t.Fatalf("delivered: %+v", d)
	}
	got := rc.requests()
	if len(got) != 3 {
		t.Fatalf("%d tries, want 3", len(got))
	}
	checkSameTries(t, got, id, "/hook?tenant=7")
	if v := counterValue(t, reg, "retry"); v != 2 {
		t.Errorf("retry counter %v, want 2", v)
	}
	checkLogs(t, logs.String())
}

// counterValue reads the tries counter for a result of kind kpn.notify.
func counterValue(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "numgate_webhook_tries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == "kpn.notify" && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// checkLogs: no body, no number, no token, no URL path in the logs.
func checkLogs(t *testing.T, logs string) {
	t.Helper()
	for _, s := range []string{"31630000001", "abcd1234", "/hook", "tenant=7", "device_match"} {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %q:\n%s", s, logs)
		}
	}
}

// TestDeliveredAcrossRestart: the gateway stops after a failed try; a new
// Notifier on the store reopened from the same file delivers it, with the
// same idempotency key.
func TestDeliveredAcrossRestart(t *testing.T) {
	rc := newReceiver(t, 2)
	path := filepath.Join(t.TempDir(), "restart.db")
	clk := newClock()

	st := openStore(t, path)
	n1, _ := newNotifier(t, st, clk, nil)
	stop := run(t, n1)
	id, err := n1.Enqueue(t.Context(), "kpn.notify", rc.URL+"/hook", hookHeaders, []byte(secretBody))
	if err != nil {
		t.Fatal(err)
	}
	waitDelivery(t, st, id, "first try", tries(1))
	stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The gateway is down past the backoff; a new process starts.
	clk.Add(time.Minute)
	st2 := openStore(t, path)
	n2, _ := newNotifier(t, st2, clk, nil)
	run(t, n2)
	d := waitDelivery(t, st2, id, "second try", tries(2))
	clk.Add(d.NextTryAt.Sub(clk.Now()))
	d = waitDelivery(t, st2, id, "delivery", func(d store.Delivery) bool { return d.State == store.DeliveryDelivered })
	if d.Tries != 3 {
		t.Fatalf("delivered after %d tries, want 3", d.Tries)
	}
	got := rc.requests()
	if len(got) != 3 {
		t.Fatalf("%d tries, want 3", len(got))
	}
	checkSameTries(t, got, id, "/hook")
}

// TestLeaseExpiredMidFlight: a gateway claimed a delivery and died before
// recording the try. Another Notifier leaves it alone while the lease
// holds, and delivers it once the lease has run out.
func TestLeaseExpiredMidFlight(t *testing.T) {
	rc := newReceiver(t, 0)
	path := filepath.Join(t.TempDir(), "lease.db")
	clk := newClock()
	st := openStore(t, path)
	n1, _ := newNotifier(t, st, clk, nil) // never run: enqueue only
	id, err := n1.Enqueue(t.Context(), "kpn.notify", rc.URL+"/hook", hookHeaders, []byte(secretBody))
	if err != nil {
		t.Fatal(err)
	}
	// The dead gateway's claim, as its Run would have made it.
	claimed, err := st.ClaimDeliveries(t.Context(), clk.Now(), 40*time.Second, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	st.Close()

	st2 := openStore(t, path)
	n2, _ := newNotifier(t, st2, clk, func(c *notify.Config) { c.Lease = 40 * time.Second })
	run(t, n2)
	time.Sleep(30 * time.Millisecond)
	if len(rc.requests()) != 0 {
		t.Fatal("delivered while another gateway's lease held")
	}
	clk.Add(40*time.Second + time.Millisecond)
	d := waitDelivery(t, st2, id, "delivery", func(d store.Delivery) bool { return d.State == store.DeliveryDelivered })
	if d.Tries != 1 || len(rc.requests()) != 1 {
		t.Fatalf("delivery %+v after %d requests", d, len(rc.requests()))
	}
	checkSameTries(t, rc.requests(), id, "/hook")
}

// TestStopMidFlight: stopping Run while a try is in flight does not count
// the try and releases the lease; the next Notifier delivers at once.
func TestStopMidFlight(t *testing.T) {
	var (
		mu      sync.Mutex
		calls   int
		entered = make(chan struct{}, 1)
		release = make(chan struct{})
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body: only then does the server watch the connection
		// and cancel r.Context() when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			entered <- struct{}{}
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer rc.Close()
	defer close(release) // never leave the handler hanging, whatever fails
	clk := newClock()
	st := openStore(t, filepath.Join(t.TempDir(), "stop.db"))
	n1, _ := newNotifier(t, st, clk, nil)
	stop := run(t, n1)
	id, err := n1.Enqueue(t.Context(), "kpn.notify", rc.URL, hookHeaders, []byte(secretBody))
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	stop()
	d, _ := st.GetDelivery(t.Context(), id)
	if d.State != store.DeliveryPending || d.Tries != 0 || !d.LeaseUntil.IsZero() {
		t.Fatalf("after an interrupted try: %+v", d)
	}
	n2, _ := newNotifier(t, st, clk, nil)
	run(t, n2)
	waitDelivery(t, st, id, "delivery", func(d store.Delivery) bool { return d.State == store.DeliveryDelivered && d.Tries == 1 })
}

// TestBoundedTries: a receiver that always fails gets MaxTries tries; then
// the delivery fails with the last error recorded and is never tried again.
func TestBoundedTries(t *testing.T) {
	rc := newReceiver(t, 1000)
	rc.fail = func(w http.ResponseWriter) { http.Error(w, "boom 31630000001", http.StatusInternalServerError) }
	st := openStore(t, filepath.Join(t.TempDir(), "bounded.db"))
	clk := newClock()
	n, logs := newNotifier(t, st, clk, func(c *notify.Config) { c.MaxTries = 3 })
	run(t, n)
	id, err := n.Enqueue(t.Context(), "kpn.notify", rc.URL+"/hook", hookHeaders, []byte(secretBody))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		waitDelivery(t, st, id, "a failed try", tries(i))
		clk.Add(time.Hour)
	}
	d := waitDelivery(t, st, id, "failure", func(d store.Delivery) bool { return d.State == store.DeliveryFailed })
	if d.Tries != 3 || d.LastError != "HTTP 500" {
		t.Fatalf("failed delivery: %+v", d)
	}
	clk.Add(24 * time.Hour)
	time.Sleep(20 * time.Millisecond)
	if got := len(rc.requests()); got != 3 {
		t.Fatalf("%d tries, want exactly 3", got)
	}
	checkSameTries(t, rc.requests(), id, "/hook")
	checkLogs(t, logs.String())
}

// TestFailures: each kind of failed try is recorded as a retry with a
// LastError that names the cause without the URL.
func TestFailures(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		tweak   func(*notify.Config)
		// wantErr is a substring of LastError; wantDelay the backoff.
		wantErr   string
		wantDelay time.Duration
	}{
		{"redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		}, nil, "HTTP 302", time.Second},
		{"Retry-After on 429 is honoured", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}, nil, "HTTP 429", 30 * time.Second},
		{"Retry-After is capped at MaxDelay", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "86400")
			w.WriteHeader(http.StatusServiceUnavailable)
		}, nil, "HTTP 503", time.Minute},
		{"a Retry-After past time.Duration is capped too", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "10000000000")
			w.WriteHeader(http.StatusServiceUnavailable)
		}, nil, "HTTP 503", time.Minute},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			// Reading the body makes the server cancel r.Context() when
			// the client hangs up; the bound keeps a failure from hanging.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, func(c *notify.Config) { c.Timeout = 50 * time.Millisecond; c.Lease = time.Second }, "timed out", time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			st := openStore(t, filepath.Join(t.TempDir(), "f.db"))
			clk := newClock()
			n, logs := newNotifier(t, st, clk, c.tweak)
			run(t, n)
			id, err := n.Enqueue(t.Context(), "kpn.notify", srv.URL+"/hook?tenant=7", hookHeaders, []byte(secretBody))
			if err != nil {
				t.Fatal(err)
			}
			d := waitDelivery(t, st, id, "a failed try", tries(1))
			if d.State != store.DeliveryPending || !strings.Contains(d.LastError, c.wantErr) || strings.Contains(d.LastError, "/hook") {
				t.Fatalf("LastError %q, want it to mention %q and not the URL (%+v)", d.LastError, c.wantErr, d)
			}
			if got := d.NextTryAt.Sub(clk.Now()); got != c.wantDelay {
				t.Errorf("next try after %v, want %v", got, c.wantDelay)
			}
			checkLogs(t, logs.String())
		})
	}
}

// TestPrivateTargetFailsAtOnce: with BlockPrivate, a delivery to a private
// address fails for good on its first turn, without retries for hours:
// one whose URL names the address is not even tried, one whose host name
// resolves to it is refused at connect. The receiver is never reached.
func TestPrivateTargetFailsAtOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a blocked receiver was reached")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, tc := range []struct {
		url   string
		tries int
	}{
		{srv.URL + "/hook", 0},                             // 127.0.0.1: refused before any try
		{"http://localhost:" + port + "/hook", 1},          // a name: refused when it resolves to loopback
		{"http://[::ffff:127.0.0.1]:" + port + "/hook", 0}, // IPv4-mapped
	} {
		st := openStore(t, filepath.Join(t.TempDir(), "f.db"))
		clk := newClock()
		n, logs := newNotifier(t, st, clk, func(c *notify.Config) { c.BlockPrivate = true })
		if err := n.CheckTarget(tc.url); tc.tries == 0 && !errors.Is(err, notify.ErrPrivateTarget) {
			t.Errorf("CheckTarget(%s) = %v, want ErrPrivateTarget", tc.url, err)
		}
		run(t, n)
		id, err := n.Enqueue(t.Context(), "kpn.notify", tc.url, hookHeaders, []byte(secretBody))
		if err != nil {
			t.Fatal(err)
		}
		d := waitDelivery(t, st, id, "a failed delivery", func(d store.Delivery) bool { return d.State == store.DeliveryFailed })
		if d.Tries != tc.tries || !strings.Contains(d.LastError, "private address") {
			t.Errorf("%s: %d tries, error %q; want %d, private address", tc.url, d.Tries, d.LastError, tc.tries)
		}
		checkLogs(t, logs.String())
	}
}

// TestRefusesNonHTTP: only absolute http(s) URLs are enqueued; a row that
// got into the outbox some other way fails without being tried.
func TestRefusesNonHTTP(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "refuse.db"))
	clk := newClock()
	n, _ := newNotifier(t, st, clk, nil)
	for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "/relative", "http://", "https://user:pw@example.com/", "gopher://x", "", "http//missing-colon", "http://:8080/hook", "https://[]:443/"} {
		if _, err := n.Enqueue(t.Context(), "kpn.notify", u, nil, nil); !errors.Is(err, notify.ErrRefusedURL) {
			t.Errorf("Enqueue(%q): %v, want ErrRefusedURL", u, err)
		}
	}
	for _, h := range []map[string]string{{"X-Bad\r\nInjected": "1"}, {"X-Ok": "a\r\nInjected: 1"}, {"Idempotency-Key": "mine"}, {"": "x"},
		// net/http refuses these at every try; the store would rewrite the last.
		{"X-Ok": "a\x01b"}, {"X-Ok": "a\x7fb"}, {"X-Ok": "a\x00b"}, {"Authorization": "Bearer \xff"},
		{"Authorization": "Bearer a", "authorization": "Bearer b"}} { // one header, two values
		if _, err := n.Enqueue(t.Context(), "kpn.notify", "https://example.com/", h, nil); !errors.Is(err, notify.ErrBadHeader) {
			t.Errorf("Enqueue with headers %q: %v, want ErrBadHeader", h, err)
		}
	}
	if got, _ := st.ClaimDeliveries(t.Context(), clk.Now().Add(time.Hour), time.Second, 100); len(got) != 0 {
		t.Fatalf("refused deliveries were stored: %+v", got)
	}

	// A delivery written by something else with a file: URL.
	now := clk.Now()
	if err := st.EnqueueDelivery(t.Context(), store.Delivery{ID: "raw", Kind: "kpn.notify", URL: "file:///etc/passwd", NextTryAt: now, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	d, _ := st.GetDelivery(t.Context(), "raw")
	if d.State != store.DeliveryFailed || d.Tries != 0 || d.LastError != notify.ErrRefusedURL.Error() {
		t.Fatalf("raw file: delivery: %+v", d)
	}
}

// TestEnqueueKey: a producer-chosen key is the idempotency key, and a second
// enqueue with the same key stores nothing.
func TestEnqueueKey(t *testing.T) {
	rc := newReceiver(t, 0)
	st := openStore(t, filepath.Join(t.TempDir(), "key.db"))
	clk := newClock()
	n, _ := newNotifier(t, st, clk, nil)
	if err := n.EnqueueKey(t.Context(), "kpn-0123abcd", "kpn.notify", rc.URL+"/hook", hookHeaders, []byte(secretBody)); err != nil {
		t.Fatal(err)
	}
	err := n.EnqueueKey(t.Context(), "kpn-0123abcd", "kpn.notify", rc.URL+"/other", nil, []byte("{}"))
	if !errors.Is(err, notify.ErrDuplicate) || !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate key: %v", err)
	}
	for _, bad := range []string{"", "with space", strings.Repeat("k", 201), "tab\there"} {
		if err := n.EnqueueKey(t.Context(), bad, "kpn.notify", rc.URL, nil, nil); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	if _, err := n.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkSameTries(t, rc.requests(), "kpn-0123abcd", "/hook")
}

// TestConfig: impossible settings are refused.
func TestConfig(t *testing.T) {
	st := openStore(t, sqlite.MemoryPath)
	for name, cfg := range map[string]notify.Config{
		"no store":            {},
		"lease below timeout": {Store: st, Timeout: time.Minute, Lease: time.Second},
		"max below base":      {Store: st, BaseDelay: time.Minute, MaxDelay: time.Second},
	} {
		if _, err := notify.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
