package dialecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network/virtual"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/ratelimit"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
)

// Clock is a settable test clock: it stands still until Add moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// LogBuffer collects log output written concurrently.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Options tune a Gateway. Now is required.
type Options struct {
	// Now is the clock of the core (and of Gateway.OpenAttempts).
	Now func() time.Time
	// TLS serves the gateway over HTTPS (httptest's certificate, which
	// Gateway.HTTP trusts) instead of plain HTTP.
	TLS bool
	// PseudonymByte fills the 32-byte pseudonymizer key (default 1).
	PseudonymByte byte
	// Lifetime is an attempt's lifetime (default 2 minutes).
	Lifetime time.Duration
	// IdentifyTimeout bounds the virtual operator's lookup (default 200 ms);
	// its slow numbers take 5 seconds.
	IdentifyTimeout time.Duration
	// LogLevel is the lowest level logged (default slog.LevelInfo).
	LogLevel slog.Level
	// PerClient and PerNumber are the core's rate limits (default: none),
	// counted on Now.
	PerClient, PerNumber ratelimit.Limit
}

// Gateway is the part of a numgate every dialect runs on, started on
// loopback for one test: a SQLite store in a temporary directory, the real
// core with the virtual operator, and an HTTP server whose mux is empty
// until the test mounts what it needs.
type Gateway struct {
	// URL is the server's base URL, http(s)://127.0.0.1:<port>.
	URL string
	// Server is the running server.
	Server *httptest.Server
	// Mux serves the gateway's routes; the test mounts its dialect on it.
	Mux *http.ServeMux
	// HTTP reaches the server (trusting its certificate under TLS) and
	// does not follow redirects.
	HTTP *http.Client
	// Store is the gateway's SQLite store.
	Store *sqlite.Store
	// Core is the attempt service.
	Core *core.Service
	// Pseudonymizer is the core's pseudonymizer.
	Pseudonymizer *msisdn.Pseudonymizer
	// Log writes to Logs and to the test's output; give each component its
	// own With("component", …).
	Log *slog.Logger
	// Logs is everything logged through Log.
	Logs *LogBuffer
	// Now is Options.Now.
	Now func() time.Time
}

// Start starts a gateway for the duration of the test.
func Start(t testing.TB, opts Options) *Gateway {
	t.Helper()
	if opts.Now == nil {
		t.Fatal("dialecttest: Options.Now is required")
	}
	if opts.PseudonymByte == 0 {
		opts.PseudonymByte = 1
	}
	if opts.Lifetime == 0 {
		opts.Lifetime = 2 * time.Minute
	}
	if opts.IdentifyTimeout == 0 {
		opts.IdentifyTimeout = 200 * time.Millisecond
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "numgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pseudo, err := msisdn.NewPseudonymizer(bytes.Repeat([]byte{opts.PseudonymByte}, 32))
	if err != nil {
		t.Fatal(err)
	}
	logs := &LogBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: opts.LogLevel}))
	var limiter core.Limiter
	if !opts.PerClient.Unlimited() || !opts.PerNumber.Unlimited() {
		limiter = ratelimit.New(ratelimit.Config{PerClient: opts.PerClient, PerNumber: opts.PerNumber, Now: opts.Now})
	}
	svc, err := core.NewService(core.Config{
		Store: st, Identifier: virtual.New(virtual.Options{SlowDelay: 5 * time.Second}),
		Pseudonymizer: pseudo, Lifetime: opts.Lifetime, IdentifyTimeout: opts.IdentifyTimeout,
		Now: opts.Now, Logger: log.With("component", "core"), Limiter: limiter,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	var srv *httptest.Server
	if opts.TLS {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	hc := srv.Client()
	hc.Timeout = 15 * time.Second
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Gateway{
		URL: srv.URL, Server: srv, Mux: mux, HTTP: hc, Store: st, Core: svc,
		Pseudonymizer: pseudo, Log: log, Logs: logs, Now: opts.Now,
	}
}

// AddClient registers c, with secret (hashed) when secret is not empty. A
// zero c.CreatedAt becomes now.
func (g *Gateway) AddClient(t testing.TB, c store.Client, secret string) {
	t.Helper()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = g.Now()
	}
	if secret != "" {
		c.SecretHash, c.SecretSalt = oauth.HashSecret(secret)
	}
	if err := g.Store.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// OpenAttempts counts the attempts not yet decided: a refused request must
// not change it.
func (g *Gateway) OpenAttempts(t testing.TB) int {
	t.Helper()
	due, err := g.Store.DueAttempts(context.Background(), g.Now().Add(24*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(due)
}

// Reply is an HTTP answer, read whole.
type Reply struct {
	// Status is the status code.
	Status int
	// Header is the response header.
	Header http.Header
	// Body is the whole body.
	Body []byte
}

// JSON decodes the body into a map; it fails t if the body is not a JSON
// object.
func (r Reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("HTTP %d body is not a JSON object: %v\n%s", r.Status, err, r.Body)
	}
	return m
}

// Do sends req with g.HTTP and reads the answer.
func (g *Gateway) Do(t testing.TB, req *http.Request) Reply {
	t.Helper()
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Request sends method target with body and headers (name, value pairs).
// A target starting with "/" is a path on the gateway; any other is an
// absolute URL.
func (g *Gateway) Request(t testing.TB, method, target, body string, headers ...string) Reply {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = g.URL + target
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return g.Do(t, req)
}

// Golden compares got with testdata/name or, when update is set (a test
// package's -update flag), writes it there.
func Golden(t testing.TB, name string, got []byte, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// SeedBody returns testdata/seed/name, a provider's published example
// body, compacted.
func SeedBody(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "seed", name))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// NoNumberIn reports an error for each of forms (the ways a dialect may
// write a phone number) that s contains; what names s.
func NoNumberIn(t testing.TB, what, s string, forms ...string) {
	t.Helper()
	for _, form := range forms {
		if strings.Contains(s, form) {
			t.Errorf("%s contains the phone number (as %q)", what, form)
		}
	}
}
