package vonage_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
	"github.com/numgate/numgate/internal/dialect/vonage"
	"github.com/numgate/numgate/internal/dialect/vonage/vonagetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	appID    = "2f1c7a4e-8d3b-4c5a-9e6f-0a1b2c3d4e5f"
	callback = "https://app.example/callback"
	scope    = vonage.ScopeVerify
	verified = "+99012345678" // virtual operator: even → verified
	notSame  = "+99012345677" // odd → not verified
)

// env is a gateway with one registered application.
type env struct {
	*vonagetest.Gateway
	t   *testing.T
	app vonagetest.Application
}

func newEnv(t *testing.T) *env {
	t.Helper()
	g := vonagetest.Start(t, vonagetest.Options{})
	return &env{Gateway: g, t: t, app: g.Register(t, appID, callback)}
}

// jwt is a fresh application JWT of the env's application.
func (e *env) jwt() string { return e.app.JWT(e.t, e.Clock.Now(), nil) }

// reply is an HTTP answer.
type reply = dialecttest.Reply

// do sends method path (a path on the gateway, or an absolute URL) with a
// phone's User-Agent, the bearer token and the content type when not empty.
func (e *env) do(method, path, bearer, contentType, body string) reply {
	e.t.Helper()
	headers := []string{"User-Agent", "Mozilla/5.0 (iPhone) numgate-test"}
	if bearer != "" {
		headers = append(headers, "Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		headers = append(headers, "Content-Type", contentType)
	}
	return e.Request(e.t, method, path, body, headers...)
}

// enablementBody is the README's request body for number.
func enablementBody(number, state string) string {
	b, _ := json.Marshal(map[string]any{"phone_number": number, "scopes": []string{scope}, "state": state})
	return string(b)
}

// enable makes the Network Enablement call with a fresh JWT.
func (e *env) enable(body string) reply {
	e.t.Helper()
	return e.do(http.MethodPost, vonage.PathNetworkEnablement, e.jwt(), "application/json", body)
}

// authURL runs the Network Enablement call and returns the auth_url.
func (e *env) authURL(number, state string) string {
	e.t.Helper()
	r := e.enable(enablementBody(number, state))
	if r.Status != http.StatusOK {
		e.t.Fatalf("network enablement: HTTP %d %s", r.Status, r.Body)
	}
	var resp struct {
		Scopes map[string]struct {
			AuthURL string `json:"auth_url"`
		} `json:"scopes"`
	}
	if err := json.Unmarshal(r.Body, &resp); err != nil {
		e.t.Fatal(err)
	}
	return resp.Scopes[scope].AuthURL
}

// open is the device opening a URL; it returns the callback's query.
func (e *env) open(rawURL string) (reply, url.Values) {
	e.t.Helper()
	r := e.do(http.MethodGet, rawURL, "", "", "")
	if r.Status != http.StatusFound {
		return r, nil
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		e.t.Fatalf("redirected to %s, want the registered callback", got)
	}
	return r, loc.Query()
}

// code runs enablement and the device, and returns the code.
func (e *env) code(number string) string {
	e.t.Helper()
	_, q := e.open(e.authURL(number, "state-1"))
	if q.Get("code") == "" {
		e.t.Fatalf("no code: %v", q)
	}
	return q.Get("code")
}

// exchange posts the token request with a fresh JWT.
func (e *env) exchange(form url.Values) reply {
	e.t.Helper()
	return e.do(http.MethodPost, vonage.PathToken, e.jwt(), "application/x-www-form-urlencoded", form.Encode())
}

func codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}
}

// accessToken redeems a code.
func (e *env) accessToken(code string) string {
	e.t.Helper()
	r := e.exchange(codeForm(code))
	if r.Status != http.StatusOK {
		e.t.Fatalf("token: HTTP %d %s", r.Status, r.Body)
	}
	return r.JSON(e.t)["access_token"].(string)
}

// verifyNumber calls /verify.
func (e *env) verifyNumber(token, body string) reply {
	e.t.Helper()
	return e.do(http.MethodPost, vonage.PathVerify, token, "application/json", body)
}

// openAttempts counts undecided attempts: a refused request must not change it.
func (e *env) openAttempts() int {
	e.t.Helper()
	return e.OpenAttempts(e.t)
}

var problemTypePattern = regexp.MustCompile(`^https://developer\.vonage\.com/api-errors#[a-z-]+$`)

// checkProblem checks an RFC 7807 answer of the given status and type.
func checkProblem(t *testing.T, r reply, status int, slug string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("HTTP %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	m := r.JSON(t)
	typ, _ := m["type"].(string)
	if !problemTypePattern.MatchString(typ) || !strings.HasSuffix(typ, "#"+slug) {
		t.Errorf("type %q, want …#%s", typ, slug)
	}
	for _, k := range []string{"type", "title", "detail", "instance"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("problem member %s is missing", k)
		}
	}
	if len(m) != 4 {
		t.Errorf("problem has members beyond type, title, detail, instance: %s", r.Body)
	}
}

// masked replaces a problem's instance, which is random, for golden files.
func masked(b []byte) []byte {
	return regexp.MustCompile(`"instance":"[^"]*"`).ReplaceAll(bytes.TrimSpace(b), []byte(`"instance":"…"`))
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	dialecttest.Golden(t, name, got, *update)
}

// noNumberIn fails if any form of the numbers appears in s.
func noNumberIn(t *testing.T, what, s string, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		dialecttest.NoNumberIn(t, what, s, n, strings.TrimPrefix(n, "+"), url.QueryEscape(n))
	}
}
