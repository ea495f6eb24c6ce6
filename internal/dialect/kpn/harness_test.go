package kpn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/dialect/kpn"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network/virtual"
	"github.com/numgate/numgate/internal/notify"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
)

// The registered test clients.
const (
	clientID     = "kpn-app"
	clientSecret = "kpn-app-secret-0001"
	otherID      = "kpn-other"
	otherSecret  = "kpn-other-secret-02"
	pollOnlyID   = "kpn-poll-only" // registered for operator_lookup and device_match
	camaraOnlyID = "camara-only"   // registered for another dialect's scopes only
	keyOnlyID    = "keys-only"     // no secret (private_key_jwt only)
	sharedSecret = "shared-secret-0003"
)

// Virtual operator numbers (Telefónica's convention, any country): last
// digit 1 is the device's own number, 2 is another device's.
const (
	ownNumber   = "31630000001" // the seed's example
	otherNumber = "31630000002"
)

// clock is a settable test clock shared by the core, the dialect and the notifier.
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

// hook is one webhook call the receiver got.
type hook struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is the client's webhook endpoint.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []hook
	fail bool // answer 500
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.got = append(rc.got, hook{path: r.URL.Path, header: r.Header.Clone(), body: b})
		if rc.fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setFail(f bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = f
}

func (rc *receiver) hooks() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hook(nil), rc.got...)
}

// harness is a numgate with the KPN dialect on loopback: SQLite, the real
// core, the virtual operator, the real webhook outbox.
type harness struct {
	t        *testing.T
	srv      *httptest.Server
	api      *kpn.API
	store    *sqlite.Store
	core     *core.Service
	notifier *notify.Notifier
	recv     *receiver
	clock    *clock
	logs     *syncBuffer
	http     *http.Client // does not follow redirects
}

// newHarness starts a gateway; tweak may change the dialect's config.
func newHarness(t *testing.T, tweak func(*kpn.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kpn.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pseudo, err := msisdn.NewPseudonymizer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
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
		{clientID, clientSecret, nil, nil},
		{otherID, otherSecret, nil, nil},
		{pollOnlyID, sharedSecret, []string{kpn.ScopeOperatorLookup, kpn.ScopeDeviceMatch}, nil},
		{camaraOnlyID, sharedSecret, []string{"openid", "dpv:FraudPreventionAndDetection#number-verification-verify-read"}, nil},
		{keyOnlyID, "", nil, []byte(`{"keys":[]}`)},
	} {
		cl := store.Client{ID: c.id, RedirectURIs: []string{"https://app.example/cb"}, Scopes: c.scopes, JWKS: c.jwks, CreatedAt: clk.Now()}
		if c.secret != "" {
			cl.SecretHash, cl.SecretSalt = oauth.HashSecret(c.secret)
		}
		if err := st.CreateClient(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}
	n, err := notify.New(notify.Config{Store: st, Now: clk.Now, Timeout: 5 * time.Second, Logger: log.With("component", "notify")})
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := kpn.Config{
		Store: st, Core: svc, Notifier: n, BaseURL: srv.URL, Now: clk.Now,
		Logger: log.With("component", "kpn"),
		Operator: func(string) kpn.OperatorInfo {
			return kpn.OperatorInfo{RegionCode: "NL", OperatorName: "KPN"}
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	api, err := kpn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(mux)
	return &harness{
		t: t, srv: srv, api: api, store: st, core: svc, notifier: n, recv: newReceiver(t), clock: clk, logs: logs,
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

// request sends method path (relative to the server, or absolute) with
// headers (name, value pairs) and a body.
func (h *harness) request(method, path string, body string, headers ...string) reply {
	h.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = h.srv.URL + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return h.do(req)
}

// postForm sends a form POST of the raw encoded body.
func (h *harness) postForm(path, form string, headers ...string) reply {
	h.t.Helper()
	return h.request(http.MethodPost, path, form, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
}

// tokenForm is a /token form.
func tokenForm(id, secret, scopes string) string {
	return url.Values{"client_id": {id}, "client_secret": {secret}, "scopes": {scopes}}.Encode()
}

// token gets an access token for the main client.
func (h *harness) token(scopes string) string {
	h.t.Helper()
	return h.tokenFor(clientID, clientSecret, scopes)
}

func (h *harness) tokenFor(id, secret, scopes string) string {
	h.t.Helper()
	r := h.postForm("/kpn/token", tokenForm(id, secret, scopes))
	if r.status != http.StatusOK {
		h.t.Fatalf("token: HTTP %d %s", r.status, r.body)
	}
	return r.json(h.t)["access_token"].(string)
}

// insights sends POST /kpn/insights/{number} with tok and body.
func (h *harness) insights(tok, number, body string) reply {
	h.t.Helper()
	return h.request(http.MethodPost, "/kpn/insights/"+number, body, "Authorization", "Bearer "+tok, "Content-Type", "application/json")
}

// pollingStart is insights in polling mode; it returns session_uri and polling_uri.
func (h *harness) pollingStart(tok, number string) (sessionURI, pollingURI string) {
	h.t.Helper()
	r := h.insights(tok, number, "{}")
	if r.status != http.StatusOK {
		h.t.Fatalf("insights: HTTP %d %s", r.status, r.body)
	}
	dm, _ := r.json(h.t)["device_match"].(map[string]any)
	s, _ := dm["session_uri"].(string)
	p, _ := dm["polling_uri"].(string)
	if s == "" || p == "" {
		h.t.Fatalf("insights: no device_match URIs in %s", r.body)
	}
	return s, p
}

// notifyBody is an insights body asking for a notification to the receiver.
func (h *harness) notifyBody(path, token string) string {
	b, _ := json.Marshal(map[string]any{"device_match_notify": map[string]string{
		"notification_token": token, "notification_uri": h.recv.srv.URL + path,
	}})
	return string(b)
}

// notifyStart is insights in notify mode; it returns session_uri.
func (h *harness) notifyStart(tok, number, path, notifToken string) string {
	h.t.Helper()
	r := h.insights(tok, number, h.notifyBody(path, notifToken))
	if r.status != http.StatusOK {
		h.t.Fatalf("insights: HTTP %d %s", r.status, r.body)
	}
	dm, _ := r.json(h.t)["device_match_notify"].(map[string]any)
	s, _ := dm["session_uri"].(string)
	if s == "" {
		h.t.Fatalf("insights: no session_uri in %s", r.body)
	}
	return s
}

// open is the device opening its session_uri (with a phone's User-Agent).
func (h *harness) open(sessionURI string) reply {
	h.t.Helper()
	return h.request(http.MethodGet, sessionURI, "", "User-Agent", phoneUA)

}

const phoneUA = "Mozilla/5.0 (Linux; Android 14) numgate-test"

// poll is GET polling_uri with tok.
func (h *harness) poll(tok, pollingURI string) reply {
	h.t.Helper()
	return h.request(http.MethodGet, pollingURI, "", "Authorization", "Bearer "+tok)
}

// result polls and decodes a 200 answer.
func (h *harness) result(tok, pollingURI string) map[string]any {
	h.t.Helper()
	r := h.poll(tok, pollingURI)
	if r.status != http.StatusOK {
		h.t.Fatalf("polling: HTTP %d %s", r.status, r.body)
	}
	return r.json(h.t)
}

// sweep passes d on the clock and runs the server's expiry sweep: the core
// expires due attempts and the dialect reports them.
func (h *harness) sweep(d time.Duration) {
	h.t.Helper()
	h.clock.Add(d)
	ctx := context.Background()
	expired, err := h.core.ExpireDue(ctx, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, a := range expired {
		if err := h.api.ReportExpired(ctx, a); err != nil {
			h.t.Fatal(err)
		}
	}
}

// deliver runs the outbox once and returns the hooks received so far.
func (h *harness) deliver() []hook {
	h.t.Helper()
	if _, err := h.notifier.RunOnce(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	return h.recv.hooks()
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

// attemptOf returns the stored attempt of a session URI.
func (h *harness) attemptOf(sessionURI string) store.Attempt {
	h.t.Helper()
	ctx := context.Background()
	g, err := h.store.GetGrant(ctx, "kpn_session", randid.Key(lastSegment(sessionURI)), h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	a, err := h.store.GetAttempt(ctx, g.AttemptID)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// lastSegment is an id inside a URI.
func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }

// noNumberIn fails if any form of the numbers (KPN digits) appears in s.
func noNumberIn(t *testing.T, what, s string, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		for _, form := range []string{n, "+" + n, url.QueryEscape("+" + n), "0" + n[2:]} {
			if strings.Contains(s, form) {
				t.Errorf("%s contains the phone number (as %q)", what, form)
			}
		}
	}
}
