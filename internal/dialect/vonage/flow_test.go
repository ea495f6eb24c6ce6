package vonage_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/vonage"
	"github.com/numgate/numgate/internal/dialect/vonage/vonagetest"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/ratelimit"
	"github.com/numgate/numgate/internal/store"
)

// TestContractNetworkEnablement sends the README's request body and checks
// the answer's shape: {"scopes": {"<scope>": {"auth_url": …}}}, auth_url
// being numgate's /oauth2/auth with the SDKs' parameters and an opaque
// login_hint instead of the number.
func TestContractNetworkEnablement(t *testing.T) {
	e := newEnv(t)
	r := e.enable(`{"phone_number": "+99012345678", "scopes": ["dpv:FraudPreventionAndDetection#number-verification-verify-read"], "state": "tests-state-b3977c55-b4caa"}`)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	m := r.JSON(t)
	scopes, _ := m["scopes"].(map[string]any)
	entry, _ := scopes[scope].(map[string]any)
	authURL, _ := entry["auth_url"].(string)
	if len(m) != 1 || len(scopes) != 1 || len(entry) != 1 || authURL == "" {
		t.Fatalf("body %s: want exactly scopes.<scope>.auth_url", r.Body)
	}
	u, err := url.Parse(authURL)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != e.URL+vonage.PathAuthorize {
		t.Fatalf("auth_url %q is not numgate's %s", authURL, vonage.PathAuthorize)
	}
	q := u.Query()
	want := map[string]string{
		"client_id": appID, "redirect_uri": callback, "response_type": "code",
		"scope": "openid " + scope, "state": "tests-state-b3977c55-b4caa",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("auth_url %s=%q, want %q", k, q.Get(k), v)
		}
	}
	if !regexp.MustCompile(`^operatortoken:[A-Za-z0-9_-]{43}$`).MatchString(q.Get("login_hint")) {
		t.Errorf("login_hint %q is not an opaque reference", q.Get("login_hint"))
	}
	if len(q) != len(want)+1 {
		t.Errorf("auth_url carries unexpected parameters: %v", q)
	}
	noNumberIn(t, "the auth_url", authURL, verified)
	golden(t, "network_enablement.golden", []byte(strings.Replace(string(r.Body), authURL, "<auth_url>", 1)))
}

// TestDeviceFlow runs the tutorial's whole flow over loopback per virtual
// operator outcome: Network Enablement, the device, the callback, the
// token, /verify.
func TestDeviceFlow(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, number, claim string
		wantVerified        bool
		wantError           string // the callback's error instead of a code
	}{
		{"verified", verified, `{"phoneNumber":"+99012345678"}`, true, ""},
		{"verified by hash", verified, `{"hashedPhoneNumber":"` + msisdn.Hash(verified) + `"}`, true, ""},
		{"not verified", notSame, `{"phoneNumber":"+99012345677"}`, false, ""},
		{"another number at /verify", verified, `{"phoneNumber":"+99012345670"}`, false, ""},
		{"operator error", "+99011111199", "", false, "temporarily_unavailable"},
		{"operator too slow", "+99900000005", "", false, "temporarily_unavailable"},
		{"not on mobile data", "+99900000003", "", false, "login_required"},
		{"not eligible", "+99900000006", "", false, "access_denied"},
		{"consent declined", "+99900000007", "", false, "access_denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			authURL := e.authURL(c.number, "st-"+c.name)
			r, cb := e.open(authURL)
			if r.Status != http.StatusFound || cb.Get("state") != "st-"+c.name {
				t.Fatalf("device: HTTP %d, callback %v", r.Status, cb)
			}
			noNumberIn(t, "the callback", r.Header.Get("Location"), c.number)
			if c.wantError != "" {
				if cb.Get("error") != c.wantError || cb.Get("error_description") == "" || cb.Has("code") {
					t.Fatalf("callback %v, want error=%s with a description", cb, c.wantError)
				}
				return
			}
			tr := e.exchange(codeForm(cb.Get("code")))
			tok := tr.JSON(t)
			if tr.Status != http.StatusOK || tok["token_type"] != "Bearer" || tok["expires_in"] != float64(5) || len(tok) != 3 {
				t.Fatalf("token: HTTP %d %s", tr.Status, tr.Body)
			}
			vr := e.verifyNumber(tok["access_token"].(string), c.claim)
			if vr.Status != http.StatusOK || string(vr.Body) != `{"devicePhoneNumberVerified":`+map[bool]string{true: "true", false: "false"}[c.wantVerified]+"}\n" {
				t.Fatalf("verify: HTTP %d %s", vr.Status, vr.Body)
			}
			// The token and the attempt answer once.
			checkProblem(t, e.verifyNumber(tok["access_token"].(string), c.claim), http.StatusUnauthorized, "unauthorized")
		})
	}
	noNumberIn(t, "the log", e.Logs.String(), verified, notSame, "+99011111199", "+99900000007", "+99012345670")
}

// TestDirectAuthorizeURL is the authorization URL as Vonage's SDKs build it
// themselves, with the number as login_hint: it still works.
func TestDirectAuthorizeURL(t *testing.T) {
	e := newEnv(t)
	for _, hint := range []string{verified, "tel:" + verified} {
		q := url.Values{
			"client_id": {appID}, "redirect_uri": {callback}, "response_type": {"code"},
			"scope": {"openid " + scope}, "state": {"sdk-state"}, "login_hint": {hint},
		}
		r, cb := e.open(e.URL + vonage.PathAuthorize + "?" + q.Encode())
		if r.Status != http.StatusFound || cb.Get("code") == "" || cb.Get("state") != "sdk-state" {
			t.Fatalf("login_hint %s: HTTP %d, callback %v", hint, r.Status, cb)
		}
		tok := e.accessToken(cb.Get("code"))
		if vr := e.verifyNumber(tok, `{"phoneNumber":"`+verified+`"}`); vr.JSON(t)["devicePhoneNumberVerified"] != true {
			t.Fatalf("verify: %s", vr.Body)
		}
	}
	noNumberIn(t, "the log", e.Logs.String(), verified)
}

// TestDirectAuthorizeURLUnencodedPlus: a direct authorization URL built
// by concatenation, login_hint=+E164 with the '+' not percent-encoded (it
// reads as a space), still claims the number.
func TestDirectAuthorizeURLUnencodedPlus(t *testing.T) {
	e := newEnv(t)
	for _, hint := range []string{verified, "tel:" + verified} {
		q := url.Values{
			"client_id": {appID}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {"openid " + scope}, "state": {"sdk-state"},
		}
		r, cb := e.open(e.URL + vonage.PathAuthorize + "?" + q.Encode() + "&login_hint=" + hint)
		if r.Status != http.StatusFound || cb.Get("code") == "" {
			t.Fatalf("login_hint=%s unencoded: HTTP %d, callback %v, want a code", hint, r.Status, cb)
		}
		tok := e.accessToken(cb.Get("code"))
		if vr := e.verifyNumber(tok, `{"phoneNumber":"`+verified+`"}`); vr.JSON(t)["devicePhoneNumberVerified"] != true {
			t.Fatalf("verify: %s", vr.Body)
		}
	}
}

// TestAuthURLOnce: an auth_url is used up by the device; opening it again
// is refused by redirect, and creates nothing.
func TestAuthURLOnce(t *testing.T) {
	e := newEnv(t)
	authURL := e.authURL(verified, "s")
	if _, cb := e.open(authURL); cb.Get("code") == "" {
		t.Fatalf("first open: %v", cb)
	}
	_, cb := e.open(authURL)
	if cb.Get("error") != "invalid_request" || cb.Get("state") != "s" {
		t.Fatalf("second open: %v, want invalid_request", cb)
	}
}

// TestAuthURLHeadChangesNothing: a HEAD on the auth_url (a link checker)
// neither uses it up nor decides its attempt; the device's GET still works.
func TestAuthURLHeadChangesNothing(t *testing.T) {
	e := newEnv(t)
	authURL := e.authURL(verified, "s")
	if r := e.do(http.MethodHead, authURL, "", "", ""); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD: HTTP %d, want 405", r.Status)
	}
	if _, cb := e.open(authURL); cb.Get("code") == "" {
		t.Fatalf("the device after a HEAD: %v, want a code", cb)
	}
}

// TestExpiredAuthURL: a device that comes after the attempt's deadline is
// told so at the callback.
func TestExpiredAuthURL(t *testing.T) {
	e := newEnv(t)
	authURL := e.authURL(verified, "late")
	e.Clock.Add(3 * time.Minute) // past the 2-minute lifetime
	_, cb := e.open(authURL)
	if cb.Get("error") != "temporarily_unavailable" || !strings.Contains(cb.Get("error_description"), "expired") {
		t.Fatalf("callback %v, want temporarily_unavailable: expired", cb)
	}
}

// TestCodeReplayRevokesToken: a code redeemed twice is refused the second
// time and the token it produced is revoked.
func TestCodeReplayRevokesToken(t *testing.T) {
	e := newEnv(t)
	code := e.code(verified)
	tok := e.accessToken(code)
	checkProblem(t, e.exchange(codeForm(code)), http.StatusBadRequest, "invalid-grant")
	checkProblem(t, e.verifyNumber(tok, `{"phoneNumber":"`+verified+`"}`), http.StatusUnauthorized, "unauthorized")
}

// TestAttemptRecord checks what the core stored for a Network Enablement
// attempt.
func TestAttemptRecord(t *testing.T) {
	e := newEnv(t)
	e.code(verified)
	if n := e.openAttempts(); n != 0 {
		t.Fatalf("%d attempts still open", n)
	}
	if !strings.Contains(e.Logs.String(), "dialect=vonage") {
		t.Error("the core's audit line does not name the dialect")
	}
}

// TestPKCE: a direct authorization URL with an S256 code_challenge binds
// its code to the code_verifier.
func TestPKCE(t *testing.T) {
	e := newEnv(t)
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {appID}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {scope},
		"login_hint": {verified}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	_, cb := e.open(e.URL + vonage.PathAuthorize + "?" + q.Encode())
	code := cb.Get("code")
	if code == "" {
		t.Fatalf("callback %v", cb)
	}
	checkProblem(t, e.exchange(codeForm(code)), http.StatusBadRequest, "invalid-grant")
	f := codeForm(code)
	f.Set("code_verifier", strings.Repeat("w", 43))
	checkProblem(t, e.exchange(f), http.StatusBadRequest, "invalid-grant")
	f.Set("code_verifier", verifier)
	if r := e.exchange(f); r.Status != http.StatusOK {
		t.Fatalf("with the verifier: HTTP %d %s", r.Status, r.Body)
	}
}

// TestSeveralScopes: one Network Enablement call with two purposes gets
// one auth_url, and one attempt, per scope.
func TestSeveralScopes(t *testing.T) {
	e := newEnv(t)
	other := "dpv:AccountManagement#" + vonage.APIScopeVerify
	r := e.enable(`{"phone_number":"+99012345678","scopes":["` + scope + `","` + other + `","` + scope + `"],"state":"two"}`)
	var resp struct {
		Scopes map[string]struct {
			AuthURL string `json:"auth_url"`
		} `json:"scopes"`
	}
	if err := json.Unmarshal(r.Body, &resp); err != nil || len(resp.Scopes) != 2 {
		t.Fatalf("HTTP %d %s: want two scopes", r.Status, r.Body)
	}
	if resp.Scopes[scope].AuthURL == resp.Scopes[other].AuthURL || e.openAttempts() != 2 {
		t.Fatalf("the scopes share an auth_url or an attempt")
	}
	_, cb := e.open(resp.Scopes[other].AuthURL)
	if tr := e.exchange(codeForm(cb.Get("code"))); tr.Status != http.StatusOK {
		t.Fatalf("token for the second scope: HTTP %d %s", tr.Status, tr.Body)
	}
}

// TestRateLimited: over the core's limit per number, Network Enablement
// answers 429 throttled with Retry-After, and the direct authorize URL
// (counted per device network) redirects temporarily_unavailable; neither
// starts an attempt. A request
// for two scopes counts two attempts at once: refused, it starts neither
// and its JWT stays usable. Another number is unaffected, and the number
// is served again once its bucket refills.
func TestRateLimited(t *testing.T) {
	perNumber, err := ratelimit.ParseLimit("2/h")
	if err != nil {
		t.Fatal(err)
	}
	g := vonagetest.Start(t, vonagetest.Options{PerNumber: perNumber})
	e := &env{Gateway: g, t: t, app: g.Register(t, appID, callback)}
	e.authURL(verified, "s1")
	open := e.openAttempts()
	jwt := e.jwt()
	two := `{"phone_number":"` + verified + `","scopes":["` + scope + `","dpv:AccountManagement#` + vonage.APIScopeVerify + `"],"state":"two"}`
	checkProblem(t, e.do(http.MethodPost, vonage.PathNetworkEnablement, jwt, "application/json", two), http.StatusTooManyRequests, "throttled")
	if got := e.openAttempts(); got != open {
		t.Fatalf("%d open attempts after refusing two scopes with one left, want %d: one was started", got, open)
	}
	three := `{"phone_number":"` + notSame + `","scopes":["` + scope + `","dpv:AccountManagement#` + vonage.APIScopeVerify +
		`","dpv:RequestedServiceProvision#` + vonage.APIScopeVerify + `"],"state":"three"}`
	if r := e.enable(three); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "rate limit per number") {
		t.Fatalf("three scopes against a bucket of two: HTTP %d %s, want 400 saying it can never fit", r.Status, r.Body)
	}
	if r := e.do(http.MethodPost, vonage.PathNetworkEnablement, jwt, "application/json", enablementBody(verified, "s2")); r.Status != http.StatusOK {
		t.Fatalf("the refused request's JWT, retried for one scope: HTTP %d %s", r.Status, r.Body)
	}
	open = e.openAttempts()

	r := e.enable(enablementBody(verified, "s3"))
	checkProblem(t, r, http.StatusTooManyRequests, "throttled")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 1800 {
		t.Errorf("Retry-After %q, want whole seconds up to the 30 min refill of 2/h", r.Header.Get("Retry-After"))
	}
	q := url.Values{
		"client_id": {appID}, "redirect_uri": {callback}, "response_type": {"code"},
		"scope": {"openid " + scope}, "state": {"sdk-state"}, "login_hint": {verified},
	}
	// The direct URL is device-facing: it counts per device network, so
	// the backend's spent allowance does not block this device, its own does.
	for i := range 2 {
		if _, cb := e.open(e.URL + vonage.PathAuthorize + "?" + q.Encode()); cb.Get("code") == "" {
			t.Fatalf("direct authorize %d, under this device's limit: callback %v, want a code", i+1, cb)
		}
	}
	if _, cb := e.open(e.URL + vonage.PathAuthorize + "?" + q.Encode()); cb.Get("error") != "temporarily_unavailable" || cb.Get("state") != "sdk-state" {
		t.Errorf("direct authorize over the device's limit: callback %v, want error=temporarily_unavailable with the state", cb)
	}
	if got := e.openAttempts(); got != open {
		t.Errorf("%d open attempts after the refusals, want %d", got, open)
	}
	noNumberIn(t, "the problem", string(r.Body), verified)
	noNumberIn(t, "the log", e.Logs.String(), verified)

	e.authURL(notSame, "other") // another number has its own bucket
	e.Clock.Add(30 * time.Minute)
	e.authURL(verified, "s4") // one token back
}

// TestReplayedJWTSpendsNoRateLimit: a JWT that was already used is refused
// before the rate limits count anything, so replaying a spent JWT (found in
// a log or a proxy, valid for up to 24 h) cannot drain any number's or the
// application's allowance.
func TestReplayedJWTSpendsNoRateLimit(t *testing.T) {
	perNumber, err := ratelimit.ParseLimit("2/h")
	if err != nil {
		t.Fatal(err)
	}
	g := vonagetest.Start(t, vonagetest.Options{PerNumber: perNumber})
	e := &env{Gateway: g, t: t, app: g.Register(t, appID, callback)}
	spent := e.jwt()
	if r := e.do(http.MethodPost, vonage.PathNetworkEnablement, spent, "application/json", enablementBody(notSame, "s")); r.Status != http.StatusOK {
		t.Fatalf("first use: HTTP %d %s", r.Status, r.Body)
	}
	for range 3 {
		checkProblem(t, e.do(http.MethodPost, vonage.PathNetworkEnablement, spent, "application/json", enablementBody(verified, "s")), http.StatusUnauthorized, "unauthorized")
	}
	for i := range 2 {
		if r := e.enable(enablementBody(verified, "s")); r.Status != http.StatusOK {
			t.Fatalf("fresh JWT %d after the replays: HTTP %d %s, want 200: the replays spent the number's allowance", i+1, r.Status, r.Body)
		}
	}
}

// TestScopesAsRegistered: an application restricted the way numgate's
// client registry accepts restrictions (`numgate clients add --scope`:
// number-verification:verify and, optionally, dpv:<Purpose> values; the
// Vonage form dpv:<Purpose>#<api-scope> is refused there) may ask for the
// Number Verification scope of each purpose it lists, and only those.
func TestScopesAsRegistered(t *testing.T) {
	e := newEnv(t)
	other := "dpv:AccountManagement#" + vonage.APIScopeVerify
	cases := []struct {
		name    string
		scopes  []string
		allowed map[string]bool
	}{
		{"API scope, no purpose", []string{oauth.ScopeNumberVerify}, map[string]bool{scope: true, other: true}},
		{"API scope and one purpose", []string{oauth.ScopeNumberVerify, "dpv:FraudPreventionAndDetection"}, map[string]bool{scope: true, other: false}},
		{"another API only", []string{oauth.ScopeNumberShare, "dpv:FraudPreventionAndDetection"}, map[string]bool{scope: false, other: false}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := oauth.ValidateClient(store.Client{ID: "x", RedirectURIs: []string{callback}, Scopes: c.scopes}); err != nil {
				t.Fatalf("the registry refuses the registration: %v", err)
			}
			app := e.Register(t, fmt.Sprintf("app-%d", i), callback, c.scopes...)
			for sc, want := range c.allowed {
				body := `{"phone_number":"` + verified + `","scopes":["` + sc + `"],"state":"s"}`
				r := e.do(http.MethodPost, vonage.PathNetworkEnablement, app.JWT(t, e.Clock.Now(), nil), "application/json", body)
				if got := r.Status == http.StatusOK; got != want {
					t.Errorf("%s: HTTP %d %s, want allowed=%v", sc, r.Status, r.Body, want)
				}
			}
		})
	}
}
