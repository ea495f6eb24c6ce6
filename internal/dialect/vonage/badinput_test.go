package vonage_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/vonage"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/store"
)

// TestEnablementRefused: a bad Network Enablement call gets its problem,
// starts no attempt, and leaves its JWT unspent.
func TestEnablementRefused(t *testing.T) {
	e := newEnv(t)
	// An application registered without a redirect URI.
	noRedirect := e.Register(t, "app-without-callback", callback)
	reg, err := e.Store.GetClient(t.Context(), noRedirect.ID)
	if err != nil {
		t.Fatal(err)
	}
	reg.RedirectURIs = nil
	if err := e.Store.DeleteClient(t.Context(), reg.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateClient(t.Context(), reg); err != nil {
		t.Fatal(err)
	}
	limited := e.Register(t, "app-limited", callback, "dpv:AccountManagement#number-verification-verify-read")

	valid := enablementBody(verified, "s")
	cases := []struct {
		name        string
		status      int
		slug        string
		method, ct  string
		body        string
		application string // default: the env's
	}{
		{"GET", 405, "method-not-allowed", http.MethodGet, "", "", ""},
		{"text/plain", 415, "unsupported-media-type", "", "text/plain", valid, ""},
		{"no content type", 415, "unsupported-media-type", "", "-", valid, ""},
		{"not JSON", 400, "bad-request", "", "", `phone_number=+99012345678`, ""},
		{"a JSON array", 400, "bad-request", "", "", `[` + valid + `]`, ""},
		{"two objects", 400, "bad-request", "", "", valid + valid, ""},
		{"phone_number missing", 400, "bad-request", "", "", `{"scopes":["` + scope + `"],"state":"s"}`, ""},
		{"phone_number national", 400, "bad-request", "", "", enablementBody("0612345678", "s"), ""},
		{"phone_number a number", 400, "bad-request", "", "", `{"phone_number":99012345678,"scopes":["` + scope + `"],"state":"s"}`, ""},
		{"scopes missing", 400, "bad-request", "", "", `{"phone_number":"+99012345678","state":"s"}`, ""},
		{"scopes empty", 400, "bad-request", "", "", `{"phone_number":"+99012345678","scopes":[],"state":"s"}`, ""},
		{"scope openid", 400, "bad-request", "", "", `{"phone_number":"+99012345678","scopes":["openid"],"state":"s"}`, ""},
		{"scope of another API", 400, "bad-request", "", "", `{"phone_number":"+99012345678","scopes":["dpv:FraudPreventionAndDetection#check-sim-swap"],"state":"s"}`, ""},
		{"state missing", 400, "bad-request", "", "", `{"phone_number":"+99012345678","scopes":["` + scope + `"]}`, ""},
		{"state too long", 400, "bad-request", "", "", enablementBody(verified, strings.Repeat("s", 1025)), ""},
		{"state with a newline", 400, "bad-request", "", "", enablementBody(verified, "a\nb"), ""},
		{"application without redirect URI", 403, "forbidden", "", "", valid, noRedirect.ID},
		{"scope not allowed", 403, "forbidden", "", "", valid, limited.ID},
	}
	var bodies bytes.Buffer
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := e.app
			switch c.application {
			case noRedirect.ID:
				app = noRedirect
			case limited.ID:
				app = limited
			}
			tok := app.JWT(t, e.Clock.Now(), nil)
			method, ct := c.method, c.ct
			if method == "" {
				method = http.MethodPost
			}
			switch ct {
			case "":
				ct = "application/json"
			case "-":
				ct = ""
			}
			r := e.do(method, vonage.PathNetworkEnablement, tok, ct, c.body)
			checkProblem(t, r, c.status, c.slug)
			fmt.Fprintf(&bodies, "%s: HTTP %d %s\n", c.name, r.Status, masked(r.Body))
			noNumberIn(t, "the problem", string(r.Body), verified)
			if n := e.openAttempts(); n != 0 {
				t.Fatalf("the refused call started %d attempts", n)
			}
			if c.status != 403 && c.status != 405 {
				// The JWT is still unspent: a good request with it succeeds.
				if ok := e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", valid); ok.Status != http.StatusOK {
					t.Fatalf("the JWT was spent by the refused call: HTTP %d %s", ok.Status, ok.Body)
				}
				e.Clock.Add(3 * time.Minute) // expire what the good request started
				if n := e.openAttempts(); n > 1 {
					t.Fatal("attempts pile up")
				}
				e.Core.ExpireDue(t.Context(), 10)
			}
		})
	}
	if !t.Failed() {
		golden(t, "enablement_refused.golden", bodies.Bytes())
	}
}

// TestAuthorizeRefused: bad authorization requests get a 400 problem while
// the client or redirect URI is not trusted, a redirect with an error
// afterwards, and never use up the auth_url they name.
func TestAuthorizeRefused(t *testing.T) {
	e := newEnv(t)
	authURL := e.authURL(verified, "st")
	base, _ := url.Parse(authURL)
	with := func(edit func(q url.Values)) string {
		q := base.Query()
		edit(q)
		return e.URL + vonage.PathAuthorize + "?" + q.Encode()
	}
	problems := []struct {
		name, url string
	}{
		{"client_id missing", with(func(q url.Values) { q.Del("client_id") })},
		{"client_id unknown", with(func(q url.Values) { q.Set("client_id", "nope") })},
		{"redirect_uri missing", with(func(q url.Values) { q.Del("redirect_uri") })},
		{"redirect_uri not registered", with(func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") })},
		{"parameter twice", authURL + "&state=again"},
	}
	redirects := []struct {
		name, url, wantError string
	}{
		{"response_type missing", with(func(q url.Values) { q.Del("response_type") }), oauth.ErrCodeInvalidRequest},
		{"response_type token", with(func(q url.Values) { q.Set("response_type", "token") }), oauth.ErrCodeUnsupportedResponseType},
		{"scope missing", with(func(q url.Values) { q.Del("scope") }), oauth.ErrCodeInvalidScope},
		{"scope of CAMARA", with(func(q url.Values) { q.Set("scope", "openid number-verification:verify") }), oauth.ErrCodeInvalidScope},
		{"another purpose", with(func(q url.Values) { q.Set("scope", "dpv:AccountManagement#number-verification-verify-read") }), oauth.ErrCodeInvalidRequest},
		{"state changed", with(func(q url.Values) { q.Set("state", "forged") }), oauth.ErrCodeInvalidRequest},
		{"reference unknown", with(func(q url.Values) { q.Set("login_hint", "operatortoken:"+strings.Repeat("A", 43)) }), oauth.ErrCodeInvalidRequest},
		{"reference malformed", with(func(q url.Values) { q.Set("login_hint", "operatortoken:xyz") }), oauth.ErrCodeInvalidRequest},
		{"PKCE plain", with(func(q url.Values) { q.Set("code_challenge", "abc"); q.Set("code_challenge_method", "plain") }), oauth.ErrCodeInvalidRequest},
		{"direct form, bad number", with(func(q url.Values) { q.Set("login_hint", "0612345678") }), oauth.ErrCodeInvalidRequest},
	}
	var bodies bytes.Buffer
	for _, c := range problems {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(http.MethodGet, c.url, "", "", "")
			checkProblem(t, r, http.StatusBadRequest, "bad-request")
			fmt.Fprintf(&bodies, "%s: HTTP %d %s\n", c.name, r.Status, masked(r.Body))
		})
	}
	for _, c := range redirects {
		t.Run(c.name, func(t *testing.T) {
			r, cb := e.open(c.url)
			if r.Status != http.StatusFound || cb.Get("error") != c.wantError || cb.Get("error_description") == "" || cb.Has("code") {
				t.Fatalf("HTTP %d, callback %v; want error=%s", r.Status, cb, c.wantError)
			}
			fmt.Fprintf(&bodies, "%s: redirect error=%s error_description=%q\n", c.name, cb.Get("error"), cb.Get("error_description"))
		})
	}
	if n := e.openAttempts(); n != 1 {
		t.Fatalf("%d open attempts, want only the Network Enablement one", n)
	}
	if _, cb := e.open(authURL); cb.Get("code") == "" {
		t.Fatalf("the refused requests used up the auth_url: %v", cb)
	}
	if r := e.do(http.MethodPost, vonage.PathAuthorize, "", "application/x-www-form-urlencoded", base.RawQuery); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST /oauth2/auth: HTTP %d", r.Status)
	}
	if !t.Failed() {
		golden(t, "authorize_refused.golden", bodies.Bytes())
	}
	noNumberIn(t, "the log", e.Logs.String(), verified)
}

// TestTokenRefused: a bad token request gets its problem and leaves the
// code redeemable.
func TestTokenRefused(t *testing.T) {
	e := newEnv(t)
	other := e.Register(t, "other-app", "https://other.example/cb")
	code := e.code(verified)
	form := func(edit func(f url.Values)) string {
		f := codeForm(code)
		edit(f)
		return f.Encode()
	}
	cases := []struct {
		name, bearer, ct, body string
		status                 int
		slug                   string
	}{
		{"no JWT", "-", "", codeForm(code).Encode(), 401, "unauthorized"},
		{"JSON body", "", "application/json", `{"grant_type":"authorization_code","code":"` + code + `","redirect_uri":"` + callback + `"}`, 415, "unsupported-media-type"},
		{"grant_type missing", "", "", form(func(f url.Values) { f.Del("grant_type") }), 400, "bad-request"},
		{"grant_type client_credentials", "", "", form(func(f url.Values) { f.Set("grant_type", "client_credentials") }), 400, "unsupported-grant-type"},
		{"code missing", "", "", form(func(f url.Values) { f.Del("code") }), 400, "bad-request"},
		{"redirect_uri missing", "", "", form(func(f url.Values) { f.Del("redirect_uri") }), 400, "bad-request"},
		{"parameter twice", "", "", codeForm(code).Encode() + "&code=" + code, 400, "bad-request"},
		{"redirect_uri differs", "", "", form(func(f url.Values) { f.Set("redirect_uri", "https://app.example/other") }), 400, "invalid-grant"},
		{"code unknown", "", "", form(func(f url.Values) { f.Set("code", strings.Repeat("C", 43)) }), 400, "invalid-grant"},
		{"code malformed", "", "", form(func(f url.Values) { f.Set("code", "short") }), 400, "invalid-grant"},
		{"code_verifier without PKCE", "", "", form(func(f url.Values) { f.Set("code_verifier", strings.Repeat("v", 43)) }), 400, "invalid-grant"},
		{"code of another application", "other", "", codeForm(code).Encode(), 400, "invalid-grant"},
	}
	var bodies bytes.Buffer
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bearer := e.jwt()
			switch c.bearer {
			case "-":
				bearer = ""
			case "other":
				bearer = other.JWT(t, e.Clock.Now(), nil)
			}
			ct := c.ct
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r := e.do(http.MethodPost, vonage.PathToken, bearer, ct, c.body)
			checkProblem(t, r, c.status, c.slug)
			fmt.Fprintf(&bodies, "%s: HTTP %d %s\n", c.name, r.Status, masked(r.Body))
		})
	}
	if r := e.exchange(codeForm(code)); r.Status != http.StatusOK {
		t.Fatalf("the refused requests spent the code: HTTP %d %s", r.Status, r.Body)
	}
	if !t.Failed() {
		golden(t, "token_refused.golden", bodies.Bytes())
	}
}

// TestVerifyRefused: a bad /verify gets its problem and leaves the access
// token usable; a CAMARA token is refused here.
func TestVerifyRefused(t *testing.T) {
	e := newEnv(t)
	tok := e.accessToken(e.code(verified))

	hash, salt := oauth.HashSecret("camara-secret")
	if err := e.Store.CreateClient(t.Context(), store.Client{ID: "camara-rp", SecretHash: hash, SecretSalt: salt, RedirectURIs: []string{callback}}); err != nil {
		t.Fatal(err)
	}
	cc := e.do(http.MethodPost, "/token", "", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {"camara-rp"}, "client_secret": {"camara-secret"},
			"scope": {"number-verification:verify dpv:FraudPreventionAndDetection"}}.Encode())
	camaraToken, _ := cc.JSON(t)["access_token"].(string)
	if camaraToken == "" {
		t.Fatalf("CAMARA client credentials token: HTTP %d %s", cc.Status, cc.Body)
	}

	good := `{"phoneNumber":"` + verified + `"}`
	cases := []struct {
		name, token, ct, body string
		status                int
		slug                  string
	}{
		{"no token", "-", "", good, 401, "unauthorized"},
		{"unknown token", strings.Repeat("T", 43), "", good, 401, "unauthorized"},
		{"application JWT as token", e.jwt(), "", good, 401, "unauthorized"},
		{"text/plain", "", "text/plain", good, 415, "unsupported-media-type"},
		{"not JSON", "", "", "phoneNumber=" + verified, 400, "bad-request"},
		{"empty object", "", "", `{}`, 400, "bad-request"},
		{"national number", "", "", `{"phoneNumber":"0612345678"}`, 400, "bad-request"},
		{"number and hash", "", "", `{"phoneNumber":"` + verified + `","hashedPhoneNumber":"` + strings.Repeat("a", 64) + `"}`, 400, "bad-request"},
		{"hash malformed", "", "", `{"hashedPhoneNumber":"xyz"}`, 400, "bad-request"},
		{"CAMARA token", camaraToken, "", good, 403, "forbidden"},
	}
	var bodies bytes.Buffer
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			token := tok
			switch c.token {
			case "-":
				token = ""
			case "":
			default:
				token = c.token
			}
			ct := c.ct
			if ct == "" {
				ct = "application/json"
			}
			r := e.do(http.MethodPost, vonage.PathVerify, token, ct, c.body)
			checkProblem(t, r, c.status, c.slug)
			noNumberIn(t, "the problem", string(r.Body), verified)
			fmt.Fprintf(&bodies, "%s: HTTP %d %s\n", c.name, r.Status, masked(r.Body))
		})
	}
	for _, path := range []string{"/camara/number-verification/v031/device-phone-number", "/camara/number-verification/v031/verify-x"} {
		checkProblem(t, e.do(http.MethodGet, path, tok, "", ""), http.StatusNotFound, "not-found")
	}
	checkProblem(t, e.do(http.MethodGet, vonage.PathVerify, tok, "", ""), http.StatusMethodNotAllowed, "method-not-allowed")
	if r := e.verifyNumber(tok, good); r.JSON(t)["devicePhoneNumberVerified"] != true {
		t.Fatalf("the refused requests spent the token: HTTP %d %s", r.Status, r.Body)
	}
	if !t.Failed() {
		golden(t, "verify_refused.golden", bodies.Bytes())
	}
}
