package dqe_test

import (
	"flag"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
	"github.com/numgate/numgate/internal/dialect/dqe"
	"github.com/numgate/numgate/internal/store"
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

// harness is a numgate with the DQE dialect on loopback: SQLite, the real
// core, the virtual operator.
type harness struct {
	*dialecttest.Gateway
	t     *testing.T
	clock *dialecttest.Clock
}

// newHarness starts a gateway; tweak may change the dialect's config.
func newHarness(t *testing.T, tweak func(*dqe.Config)) *harness {
	t.Helper()
	clk := dialecttest.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	g := dialecttest.Start(t, dialecttest.Options{Now: clk.Now, PseudonymByte: 9})
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
		g.AddClient(t, store.Client{ID: c.id, RedirectURIs: []string{redirectURI}, Scopes: c.scopes, JWKS: c.jwks}, c.secret)
	}
	cfg := dqe.Config{
		Store: g.Store, Core: g.Core, BaseURL: g.URL, Now: clk.Now, Logger: g.Log.With("component", "dqe"),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	api, err := dqe.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api.Mount(g.Mux)
	return &harness{Gateway: g, t: t, clock: clk}
}

// reply is an HTTP answer.
type reply = dialecttest.Reply

// do sends req and reads the answer.
func (h *harness) do(req *http.Request) reply {
	h.t.Helper()
	return h.Do(h.t, req)
}

// get sends GET path?query.
func (h *harness) get(path string, q url.Values) reply {
	h.t.Helper()
	if q != nil {
		path += "?" + q.Encode()
	}
	return h.Request(h.t, http.MethodGet, path, "")
}

// post sends a form POST to path.
func (h *harness) post(path string, form url.Values) reply {
	h.t.Helper()
	return h.Request(h.t, http.MethodPost, path, form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

// open is the device opening a URL (with a phone's User-Agent).
func (h *harness) open(rawURL string) reply {
	h.t.Helper()
	return h.Request(h.t, http.MethodGet, rawURL, "", "User-Agent", "Mozilla/5.0 (Linux; Android 14) numgate-test")
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
	m := r.JSON(h.t)
	if r.Status != http.StatusOK || m["status"] != "success" {
		h.t.Fatalf("initiate: HTTP %d %s", r.Status, r.Body)
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
	return h.OpenAttempts(h.t)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	dialecttest.Golden(t, name, got, *update)
}

// noNumberIn fails if any form of number appears in s.
func noNumberIn(t *testing.T, what, s string, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		digits := strings.TrimPrefix(n, "+")
		dialecttest.NoNumberIn(t, what, s, n, digits, url.QueryEscape(n), "0"+digits[2:])
	}
}
