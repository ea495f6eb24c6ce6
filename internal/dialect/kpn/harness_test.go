package kpn_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
	"github.com/numgate/numgate/internal/dialect/kpn"
	"github.com/numgate/numgate/internal/notify"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
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
	*dialecttest.Gateway
	t        *testing.T
	api      *kpn.API
	notifier *notify.Notifier
	recv     *receiver
	clock    *dialecttest.Clock
}

// newHarness starts a gateway; tweak may change the dialect's config.
func newHarness(t *testing.T, tweak func(*kpn.Config)) *harness {
	t.Helper()
	clk := dialecttest.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	g := dialecttest.Start(t, dialecttest.Options{Now: clk.Now, PseudonymByte: 7, LogLevel: slog.LevelDebug})
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
		g.AddClient(t, store.Client{ID: c.id, RedirectURIs: []string{"https://app.example/cb"}, Scopes: c.scopes, JWKS: c.jwks}, c.secret)
	}
	n, err := notify.New(notify.Config{Store: g.Store, Now: clk.Now, Timeout: 5 * time.Second, Logger: g.Log.With("component", "notify")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := kpn.Config{
		Store: g.Store, Core: g.Core, Notifier: n, BaseURL: g.URL, Now: clk.Now,
		Logger: g.Log.With("component", "kpn"),
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
	api.Mount(g.Mux)
	return &harness{Gateway: g, t: t, api: api, notifier: n, recv: newReceiver(t), clock: clk}
}

// reply is an HTTP answer.
type reply = dialecttest.Reply

// request sends method path (relative to the server, or absolute) with
// headers (name, value pairs) and a body.
func (h *harness) request(method, path string, body string, headers ...string) reply {
	h.t.Helper()
	return h.Request(h.t, method, path, body, headers...)
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
	if r.Status != http.StatusOK {
		h.t.Fatalf("token: HTTP %d %s", r.Status, r.Body)
	}
	return r.JSON(h.t)["access_token"].(string)
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
	if r.Status != http.StatusOK {
		h.t.Fatalf("insights: HTTP %d %s", r.Status, r.Body)
	}
	dm, _ := r.JSON(h.t)["device_match"].(map[string]any)
	s, _ := dm["session_uri"].(string)
	p, _ := dm["polling_uri"].(string)
	if s == "" || p == "" {
		h.t.Fatalf("insights: no device_match URIs in %s", r.Body)
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
	if r.Status != http.StatusOK {
		h.t.Fatalf("insights: HTTP %d %s", r.Status, r.Body)
	}
	dm, _ := r.JSON(h.t)["device_match_notify"].(map[string]any)
	s, _ := dm["session_uri"].(string)
	if s == "" {
		h.t.Fatalf("insights: no session_uri in %s", r.Body)
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
	if r.Status != http.StatusOK {
		h.t.Fatalf("polling: HTTP %d %s", r.Status, r.Body)
	}
	return r.JSON(h.t)
}

// sweep passes d on the clock and runs the server's expiry sweep (see
// internal/server: expireDue): the core expires due attempts, and the
// dialect reports them and every ended attempt still due for a report.
func (h *harness) sweep(d time.Duration) {
	h.t.Helper()
	if err := h.trySweep(d); err != nil {
		h.t.Fatal(err)
	}
}

// trySweep is sweep that returns the reports' errors.
func (h *harness) trySweep(d time.Duration) error {
	h.t.Helper()
	h.clock.Add(d)
	ctx := context.Background()
	expired, err := h.Core.ExpireDue(ctx, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	due, err := h.Core.DueReports(ctx, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	var errs []error
	for _, a := range expired {
		if a.ReportAt.IsZero() { // one marked comes with the due ones
			errs = append(errs, h.api.Report(ctx, a))
		}
	}
	for _, a := range due {
		errs = append(errs, h.api.Report(ctx, a))
	}
	return errors.Join(errs...)
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
	return h.OpenAttempts(h.t)
}

// attemptOf returns the stored attempt of a session URI.
func (h *harness) attemptOf(sessionURI string) store.Attempt {
	h.t.Helper()
	ctx := context.Background()
	g, err := h.Store.GetGrant(ctx, "kpn_session", randid.Key(lastSegment(sessionURI)), h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	a, err := h.Store.GetAttempt(ctx, g.AttemptID)
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
		dialecttest.NoNumberIn(t, what, s, n, "+"+n, url.QueryEscape("+"+n), "0"+n[2:])
	}
}
