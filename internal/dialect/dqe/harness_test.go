package dqe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/dialect/dqe"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network/virtual"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The registered test clients (licences).
const (
	licence     = "LIC-0042"
	secret      = "dqe-partner-token"
	otherLic    = "LIC-0099"
	otherSecret = "other-partner-token"
	keyOnlyLic  = "LIC-KEYS" // a client without a secret (private_key_jwt only)
	kycLic      = "LIC-KYC"  // a client registered for another scope only
	redirectURI = "https://partner.example/dqe/return?from=numgate"
	partnerName = "ACME"
)

// clock is a settable test clock shared by the core and the dialect.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// syncBuffer collects log output from concurrent handlers.
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

// harness is a numgate with the DQE dialect on loopback: SQLite, the real
// core, the virtual operator.
type harness struct {
	t     *testing.T
	srv   *httptest.Server
	store *sqlite.Store
	core  *core.Service
	clock *clock
	logs  *syncBuffer
	http  *http.Client // does not follow redirects
}

// newHarness starts a gateway; tweak may change the dialect's config.
func newHarness(t *testing.T, tweak func(*dqe.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "dqe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pseudo, err := msisdn.NewPseudonymizer(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), nil))
	svc, err := core.NewService(core.Config{
		Store: st, Identifier: virtual.New(virtual.Options{SlowDelay: 5 * time.Second}),
		Pseudonymizer: pseudo, Lifetime: 2 * time.Minute, IdentifyTimeout: 200 * time.Millisecond,
		Now: clk.Now, Logger: log.With("component", "core"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, secret string
		scopes     []string
		jwks       []byte
	}{
		{licence, secret, nil, nil},
		{otherLic, otherSecret, []string{dqe.ScopeNumVerify}, nil},
		{keyOnlyLic, "", nil, []byte(`{"keys":[]}`)},
		{kycLic, "kyc-token", []string{"kyc"}, nil},
	} {
		cl := store.Client{ID: c.id, RedirectURIs: []string{redirectURI}, Scopes: c.scopes, JWKS: c.jwks, CreatedAt: clk.Now()}
		if c.secret != "" {
			cl.SecretHash, cl.SecretSalt = oauth.HashSecret(c.secret)
		}
		if err := st.CreateClient(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := dqe.Config{
		Store: st, Core: svc, BaseURL: srv.URL, Now: clk.Now, Logger: log.With("component", "dqe"),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	api, err := dqe.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(mux)
	return &harness{
		t: t, srv: srv, store: st, core: svc, clock: clk, logs: logs,
		http: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a map.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (h *harness) do(req *http.Request) reply {
	h.t.Helper()
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// get sends GET path?query.
func (h *harness) get(path string, q url.Values) reply {
	h.t.Helper()
	u := h.srv.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(req)
}

// post sends a form POST to path.
func (h *harness) post(path string, form url.Values) reply {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return h.do(req)
}

// open is the device opening a URL (with a phone's User-Agent).
func (h *harness) open(rawURL string) reply {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14) numgate-test")
	return h.do(req)
}

// initiateParams are valid step 1 parameters for number.
func initiateParams(number string) url.Values {
	return url.Values{
		"number": {number}, "token": {secret}, "name": {partnerName}, "licence": {licence},
		"scope": {dqe.ScopeNumVerify}, "redirect_uri": {redirectURI},
	}
}

// retrieveParams are valid step 2 parameters for a session token.
func retrieveParams(token string) url.Values {
	return url.Values{"token": {token}, "Licence": {licence}, "scope": {dqe.ScopeNumVerify}}
}

// initiate runs step 1 and returns the device url; it fails the test on an error.
func (h *harness) initiate(number string) string {
	h.t.Helper()
	r := h.get("/IDMOBILE/", initiateParams(number))
	m := r.json(h.t)
	if r.status != http.StatusOK || m["status"] != "success" {
		h.t.Fatalf("initiate: HTTP %d %s", r.status, r.body)
	}
	return m["url"].(string)
}

// sessionToken is the session token inside a device url.
func sessionToken(deviceURL string) string {
	return deviceURL[strings.LastIndex(deviceURL, "/")+1:]
}

// openAttempts counts the attempts not yet decided: a refused request must
// not change it.
func (h *harness) openAttempts() int {
	h.t.Helper()
	due, err := h.store.DueAttempts(context.Background(), h.clock.Now().Add(24*time.Hour), 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(due)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
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

// noNumberIn fails if any form of number appears in s.
func noNumberIn(t *testing.T, what, s string, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		digits := strings.TrimPrefix(n, "+")
		for _, form := range []string{n, digits, url.QueryEscape(n), "0" + digits[2:]} {
			if strings.Contains(s, form) {
				t.Errorf("%s contains the phone number (as %q)", what, form)
			}
		}
	}
}
