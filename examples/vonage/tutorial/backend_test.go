package tutorial_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/examples/vonage/tutorial"
	"github.com/numgate/numgate/internal/dialect/vonage/vonagetest"
)

// rig is numgate (TLS, Vonage dialect) and the tutorial backend, on loopback.
type rig struct {
	gw      *vonagetest.Gateway
	backend *httptest.Server
	device  *http.Client // trusts numgate's certificate, follows redirects
	advance func(time.Duration)
}

func newRig(t *testing.T, tweak func(*tutorial.BackendConfig)) *rig {
	t.Helper()
	gw := vonagetest.Start(t, vonagetest.Options{})
	caFile := filepath.Join(t.TempDir(), "numgate-ca.pem")
	if err := os.WriteFile(caFile, gw.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	hc, err := tutorial.NewHTTPClient(caFile)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	app := gw.Register(t, "tutorial-app", srv.URL+"/callback")
	var mu sync.Mutex
	var skew time.Duration
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
	cfg := tutorial.BackendConfig{
		APIURL: gw.URL, ApplicationID: app.ID, PrivateKey: app.Key, RedirectURI: app.RedirectURI, HTTP: hc, Now: now,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	b, err := tutorial.NewBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", b)
	device, err := tutorial.NewHTTPClient(caFile)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{gw: gw, backend: srv, device: device,
		advance: func(d time.Duration) { mu.Lock(); defer mu.Unlock(); skew += d }}
}

// TestLoginThenAuth is the tutorial's flow: login, then auth.
func TestLoginThenAuth(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	for number, want := range map[string]bool{"+99012345678": true, "+99012345677": false} {
		authURL, err := tutorial.Login(ctx, r.device, r.backend.URL, number)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(authURL, strings.TrimPrefix(number, "+")) {
			t.Errorf("the auth_url carries the number: %s", authURL)
		}
		got, err := tutorial.Auth(ctx, r.device, authURL)
		if err != nil || got != want {
			t.Fatalf("%s: Auth = %v, %v; want %v", number, got, err, want)
		}
	}
	_, err := tutorial.Auth(ctx, r.device, mustLogin(t, r, "+99011111199"))
	var re *tutorial.ResultError
	if !errors.As(err, &re) || re.Code != "temporarily_unavailable" {
		t.Fatalf("operator error: %v", err)
	}
}

// TestPerAttemptState: concurrent logins keep their own phone numbers; the
// results cannot cross, whatever order the devices come back in.
func TestPerAttemptState(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	numbers := []string{"+99012345678", "+99012345677", "+99012345676", "+99012345675", "+99012345674", "+99012345673"}
	urls := make([]string, len(numbers))
	for i, n := range numbers {
		urls[i] = mustLogin(t, r, n)
	}
	var wg sync.WaitGroup
	got := make([]bool, len(numbers))
	errs := make([]error, len(numbers))
	for i := len(numbers) - 1; i >= 0; i-- { // the devices come back in reverse order, at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = tutorial.Auth(ctx, r.device, urls[i])
		}()
	}
	wg.Wait()
	for i, n := range numbers {
		want := (n[len(n)-1]-'0')%2 == 0
		if errs[i] != nil || got[i] != want {
			t.Errorf("%s: %v, %v; want %v", n, got[i], errs[i], want)
		}
	}
}

// TestCallbackChecksState: a callback is accepted once, for a state the
// backend made, before it expires; anything else is refused before a code
// is exchanged.
func TestCallbackChecksState(t *testing.T) {
	r := newRig(t, func(c *tutorial.BackendConfig) { c.AttemptTTL = time.Minute })
	get := func(q url.Values) (int, string) {
		resp, err := http.Get(r.backend.URL + "/callback?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := get(url.Values{"code": {"x"}, "state": {"forged"}}); code != 400 || !strings.Contains(body, "invalid_state") {
		t.Errorf("forged state: %d %s", code, body)
	}
	if code, body := get(url.Values{"code": {"x"}}); code != 400 || !strings.Contains(body, "invalid_state") {
		t.Errorf("no state: %d %s", code, body)
	}

	// The device's real callback, captured instead of followed.
	authURL := mustLogin(t, r, "+99012345678")
	resp, err := r.gw.HTTP.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if code, body := get(loc.Query()); code != 200 || !strings.Contains(body, `"devicePhoneNumberVerified":true`) {
		t.Fatalf("the real callback: %d %s", code, body)
	}
	if code, body := get(loc.Query()); code != 400 || !strings.Contains(body, "invalid_state") {
		t.Errorf("replayed callback: %d %s", code, body)
	}

	// A login whose device comes back too late.
	late := mustLogin(t, r, "+99012345678")
	resp, err = r.gw.HTTP.Get(late)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	r.advance(2 * time.Minute)
	if code, body := get(loc.Query()); code != 400 || !strings.Contains(body, "invalid_state") {
		t.Errorf("expired state: %d %s", code, body)
	}
}

// TestTLSIsVerified: a backend that does not trust numgate's certificate
// fails the login; it never falls back to an unverified connection.
func TestTLSIsVerified(t *testing.T) {
	r := newRig(t, func(c *tutorial.BackendConfig) {
		hc, err := tutorial.NewHTTPClient("")
		if err != nil {
			t.Fatal(err)
		}
		c.HTTP = hc
	})
	_, err := tutorial.Login(context.Background(), r.device, r.backend.URL, "+99012345678")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("login over an untrusted certificate: %v", err)
	}
}

// TestLoginRefusals: a bad phone number, and too many logins at once.
func TestLoginRefusals(t *testing.T) {
	r := newRig(t, func(c *tutorial.BackendConfig) { c.MaxAttempts = 1 })
	ctx := context.Background()
	if _, err := tutorial.Login(ctx, r.device, r.backend.URL, "0612345678"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("national number: %v", err)
	}
	mustLogin(t, r, "+99012345678")
	if _, err := tutorial.Login(ctx, r.device, r.backend.URL, "+99012345676"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("second login beyond MaxAttempts: %v", err)
	}
}

func mustLogin(t *testing.T, r *rig, number string) string {
	t.Helper()
	u, err := tutorial.Login(context.Background(), r.device, r.backend.URL, number)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
