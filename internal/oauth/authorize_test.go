package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/oauth"
)

func TestAuthorizeErrors(t *testing.T) {
	e := newEnv(t, nil)
	set := func(k, v string) func(url.Values) { return func(q url.Values) { q.Set(k, v) } }
	del := func(k string) func(url.Values) { return func(q url.Values) { q.Del(k) } }
	add := func(k, v string) func(url.Values) { return func(q url.Values) { q.Add(k, v) } }

	cases := []struct {
		name   string
		client string // default clientSecret
		mod    func(url.Values)
		hdr    map[string]string
		// direct: a 400 JSON body, no redirect (client or redirect URI not trusted).
		direct bool
		want   string
		// attempt: the network was consulted (an attempt exists, decided).
		attempt bool
	}{
		// Not redirected: RFC 6749 section 4.1.2.1.
		{name: "client_id missing", mod: del("client_id"), direct: true, want: "invalid_request"},
		{name: "client_id unknown", mod: set("client_id", "nobody"), direct: true, want: "invalid_client"},
		{name: "client_id twice", mod: add("client_id", clientSecret), direct: true, want: "invalid_request"},
		{name: "redirect_uri missing", mod: del("redirect_uri"), direct: true, want: "invalid_request"},
		{name: "redirect_uri not registered", mod: set("redirect_uri", "https://evil.example/callback"), direct: true, want: "invalid_request"},
		{name: "redirect_uri prefix of registered", mod: set("redirect_uri", "https://rp.example/"), direct: true, want: "invalid_request"},
		{name: "redirect_uri with extra slash", mod: set("redirect_uri", redirectURI+"/"), direct: true, want: "invalid_request"},
		{name: "redirect_uri twice", mod: add("redirect_uri", redirectURI), direct: true, want: "invalid_request"},

		// Redirected, nothing created.
		{name: "response_type missing", mod: del("response_type"), want: "invalid_request"},
		{name: "response_type token", mod: set("response_type", "token"), want: "unsupported_response_type"},
		{name: "response_type code id_token", mod: set("response_type", "code id_token"), want: "unsupported_response_type"},
		{name: "response_mode fragment", mod: set("response_mode", "fragment"), want: "invalid_request"},
		{name: "state twice", mod: add("state", "again"), want: "invalid_request"},
		{name: "scope twice", mod: add("scope", "openid"), want: "invalid_request"},
		{name: "request object", mod: set("request", "eyJhbGciOiJub25lIn0.e30."), want: "request_not_supported"},
		{name: "request_uri", mod: set("request_uri", "urn:example:1"), want: "request_uri_not_supported"},
		{name: "scope missing", mod: del("scope"), want: "invalid_scope"},
		{name: "scope unknown", mod: set("scope", nvScope+" admin"), want: "invalid_scope"},
		{name: "scope malformed", mod: set("scope", "openid \"x\""), want: "invalid_scope"},
		{name: "two purposes", mod: set("scope", nvScope+" dpv:IdentityVerification"), want: "invalid_scope"},
		{name: "purpose malformed", mod: set("scope", "openid number-verification:verify dpv:fraud"), want: "invalid_scope"},
		{name: "NV scope without purpose", mod: set("scope", "openid number-verification:verify"), want: "invalid_scope"},
		{name: "scope not allowed for client", client: clientLimited, mod: set("scope", "openid number-verification:device-phone-number:read "+purpose), want: "invalid_scope"},
		{name: "purpose not allowed for client", client: clientLimited, mod: set("scope", "openid number-verification:verify dpv:Marketing"), want: "invalid_scope"},
		{name: "PKCE plain", mod: set("code_challenge_method", "plain"), want: "invalid_request"},
		{name: "PKCE method missing", mod: del("code_challenge_method"), want: "invalid_request"},
		{name: "PKCE challenge missing", mod: del("code_challenge"), want: "invalid_request"},
		{name: "PKCE challenge malformed", mod: set("code_challenge", "too-short"), want: "invalid_request"},
		{name: "public client without PKCE", client: clientPublic, mod: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, want: "invalid_request"},
		{name: "prompt login", mod: set("prompt", "login"), want: "login_required"},
		{name: "prompt consent", mod: set("prompt", "consent"), want: "consent_required"},
		{name: "prompt select_account", mod: set("prompt", "select_account"), want: "account_selection_required"},
		{name: "prompt none with login", mod: set("prompt", "none login"), want: "invalid_request"},
		{name: "login_hint tel malformed", mod: set("login_hint", "tel:+31 6 1234 5678"), want: "invalid_request"},
		{name: "login_hint tel not E.164", mod: set("login_hint", "tel:0612345678"), want: "invalid_request"},
		{name: "login_hint ipport malformed", mod: set("login_hint", "ipport:300.1.1.1:80"), want: "invalid_request"},
		{name: "login_hint ipport IPv6 unbracketed", mod: set("login_hint", "ipport:2001:db8::1"), want: "invalid_request"},
		{name: "nonce too long", mod: set("nonce", strings.Repeat("n", 1025)), want: "invalid_request"},

		// Redirected after the network answered.
		{name: "Wi-Fi", hdr: map[string]string{"X-Test-Outcome": "wifi"}, want: "login_required", attempt: true},
		{name: "operator down", hdr: map[string]string{"X-Test-Outcome": "down"}, want: "temporarily_unavailable", attempt: true},
		{name: "not eligible", hdr: map[string]string{"X-Test-Outcome": "ineligible"}, want: "access_denied", attempt: true},
		{name: "opted out", hdr: map[string]string{"X-Test-Outcome": "optout"}, want: "access_denied", attempt: true},
		{name: "invalid number", mod: set("login_hint", "tel:"+deviceNumber), hdr: map[string]string{"X-Test-Outcome": "invalid"}, want: "invalid_request", attempt: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := tc.client
			if client == "" {
				client = clientSecret
			}
			q, _ := authQuery(client)
			if tc.mod != nil {
				tc.mod(q)
			}
			attempts, codes := e.store.attempts.Load(), e.store.codes.Load()
			resp := e.authorize(t, q, tc.hdr)

			var code, desc string
			if tc.direct {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d, Location %q; want 400 without redirect", resp.StatusCode, resp.Header.Get("Location"))
				}
				var body struct{ Error, Error_description string }
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Fatal(err)
				}
				code, desc = body.Error, body.Error_description
			} else {
				v := e.redirected(t, resp)
				code, desc = v.Get("error"), v.Get("error_description")
				if v.Get("state") != "state-1" {
					t.Errorf("state = %q, want state-1", v.Get("state"))
				}
				if v.Has("code") {
					t.Errorf("an error redirect carries a code")
				}
			}
			if code != tc.want {
				t.Errorf("error = %q (%s), want %q", code, desc, tc.want)
			}
			if desc == "" {
				t.Error("no error_description")
			}
			if strings.Contains(desc, deviceNumber[1:]) {
				t.Errorf("error_description contains the phone number: %s", desc)
			}
			if got := e.store.codes.Load() - codes; got != 0 {
				t.Errorf("%d codes created", got)
			}
			wantAttempts := int64(0)
			if tc.attempt {
				wantAttempts = 1
			}
			if got := e.store.attempts.Load() - attempts; got != wantAttempts {
				t.Errorf("%d attempts created, want %d", got, wantAttempts)
			}
		})
	}
}

func TestAuthorizeAccepts(t *testing.T) {
	e := newEnv(t, nil)
	set := func(k, v string) func(url.Values) { return func(q url.Values) { q.Set(k, v) } }
	cases := []struct {
		name   string
		client string
		mod    func(url.Values)
	}{
		{name: "prompt none", mod: set("prompt", "none")},
		{name: "acr_values ignored", mod: set("acr_values", "urn:example:loa:3 whatever")},
		{name: "max_age ignored", mod: set("max_age", "0")},
		{name: "unknown prompt ignored", mod: set("prompt", "create")},
		{name: "login_hint operatortoken ignored", mod: set("login_hint", "operatortoken:abc.def")},
		{name: "login_hint e-mail ignored", mod: set("login_hint", "someone@example.com")},
		{name: "login_hint bare + number", mod: set("login_hint", deviceNumber)},
		{name: "login_hint bare malformed ignored", mod: set("login_hint", "+31 6")},
		{name: "openid without purpose", mod: set("scope", "openid")},
		{name: "purpose only", mod: set("scope", purpose)},
		{name: "no state", mod: func(q url.Values) { q.Del("state") }},
		{name: "response_mode query", mod: set("response_mode", "query")},
		{name: "confidential client without PKCE", mod: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }},
		{name: "public client with PKCE", client: clientPublic},
		{name: "limited client within its scopes", client: clientLimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := tc.client
			if client == "" {
				client = clientSecret
			}
			q, _ := authQuery(client)
			if tc.mod != nil {
				tc.mod(q)
			}
			v := e.redirected(t, e.authorize(t, q, nil))
			if v.Get("code") == "" || v.Has("error") {
				t.Fatalf("no code: %v", v)
			}
			if v.Get("state") != q.Get("state") {
				t.Errorf("state = %q, want %q", v.Get("state"), q.Get("state"))
			}
		})
	}
}

func TestAuthorizePOSTForm(t *testing.T) {
	e := newEnv(t, nil)
	q, _ := authQuery(clientSecret)
	resp, err := device().Post(e.issuer+"/authorize", "application/x-www-form-urlencoded", strings.NewReader(q.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v := e.redirected(t, resp); v.Get("code") == "" {
		t.Fatalf("no code: %v", v)
	}

	resp, err = device().Post(e.issuer+"/authorize", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("JSON body: status %d, want 400 without redirect", resp.StatusCode)
	}
}

func TestAuthorizeKeepsRedirectQuery(t *testing.T) {
	e := newEnv(t, nil)
	q, _ := authQuery(clientSecret)
	q.Set("redirect_uri", "https://rp.example/cb?tenant=7")
	resp := e.authorize(t, q, nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Query().Get("tenant") != "7" || loc.Query().Get("code") == "" {
		t.Errorf("redirect %s lost the registered query or the code", loc.Redacted())
	}
	e.remember(loc.Query().Get("code"))
}

// attemptOf redeems a code and returns the attempt behind the token.
func (e *env) attemptOf(t *testing.T, clientID, code, verifier string) (oauth.AccessToken, coreAttempt) {
	t.Helper()
	res := e.token(t, e.codeRequest(t, clientID, code, verifier))
	if res.status != http.StatusOK {
		t.Fatalf("token: %d %s", res.status, res.body)
	}
	at, err := e.srv.LookupAccessToken(context.Background(), res.str("access_token"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.core.Get(context.Background(), at.AttemptID)
	if err != nil {
		t.Fatal(err)
	}
	return at, coreAttempt{Outcome: core.Outcome(a.Outcome), DeviceAddr: a.DeviceAddr, DeviceHash: a.DeviceHash}
}

type coreAttempt struct {
	Outcome    core.Outcome
	DeviceAddr string
	DeviceHash string
}

func TestAuthorizeLoginHint(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name     string
		hint     string
		hdr      map[string]string
		outcome  core.Outcome
		number   string // the number the network identified
		addrWant string // prefix of the device address used
	}{
		{name: "no hint", outcome: core.OutcomeIdentified, number: deviceNumber, addrWant: "127.0.0.1"},
		{name: "tel match", hint: "tel:" + deviceNumber, outcome: core.OutcomeMatch, number: deviceNumber, addrWant: "127.0.0.1"},
		{name: "tel mismatch still yields a code", hint: "tel:" + otherNumber, outcome: core.OutcomeNoMatch, number: deviceNumber, addrWant: "127.0.0.1"},
		{name: "bare number", hint: deviceNumber, outcome: core.OutcomeMatch, number: deviceNumber, addrWant: "127.0.0.1"},
		{name: "ipport from trusted proxy", hint: "ipport:" + proxiedAddr + ":40000", hdr: map[string]string{"X-Test-Trusted-Proxy": "requester"},
			outcome: core.OutcomeIdentified, number: proxiedNumber, addrWant: proxiedAddr},
		{name: "ipport without port from trusted proxy", hint: "ipport:" + proxiedAddr, hdr: map[string]string{"X-Test-Trusted-Proxy": "requester"},
			outcome: core.OutcomeIdentified, number: proxiedNumber, addrWant: proxiedAddr},
		{name: "ipport from the device itself is ignored", hint: "ipport:" + proxiedAddr + ":40000",
			outcome: core.OutcomeIdentified, number: deviceNumber, addrWant: "127.0.0.1"},
		{name: "ipport from a device relayed by a trusted proxy is ignored", hint: "ipport:" + proxiedAddr + ":40000", hdr: map[string]string{"X-Test-Trusted-Proxy": "relay"},
			outcome: core.OutcomeIdentified, number: deviceNumber, addrWant: "127.0.0.1"},
		{name: "ipport IPv6 bracketed, untrusted, ignored", hint: "ipport:[2001:db8::1]:8080",
			outcome: core.OutcomeIdentified, number: deviceNumber, addrWant: "127.0.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, verifier := authQuery(clientSecret)
			if tc.hint != "" {
				q.Set("login_hint", tc.hint)
			}
			v := e.redirected(t, e.authorize(t, q, tc.hdr))
			_, a := e.attemptOf(t, clientSecret, v.Get("code"), verifier)
			if a.Outcome != tc.outcome {
				t.Errorf("outcome %s, want %s", a.Outcome, tc.outcome)
			}
			if !strings.HasPrefix(a.DeviceAddr, tc.addrWant) {
				t.Errorf("device address %s, want %s", a.DeviceAddr, tc.addrWant)
			}
			if a.DeviceHash != e.pseudo.Pseudonym(tc.number) {
				t.Errorf("the network identified another number than expected")
			}
		})
	}
}

// TestAuthorizeNeverLeaksTheNumber checks every redirect for the number.
func TestAuthorizeNeverLeaksTheNumber(t *testing.T) {
	e := newEnv(t, nil)
	for _, hint := range []string{"tel:" + deviceNumber, "tel:" + otherNumber, deviceNumber} {
		q, _ := authQuery(clientSecret)
		q.Set("login_hint", hint)
		loc := e.authorize(t, q, nil).Header.Get("Location")
		for _, n := range []string{deviceNumber, otherNumber} {
			if strings.Contains(loc, n[1:]) || strings.Contains(loc, msisdn.Hash(n)) {
				t.Errorf("redirect carries a number or its hash")
			}
		}
		u, _ := url.Parse(loc)
		e.remember(u.Query().Get("code"))
	}
}

// TestAuthorizeHeadStartsNothing: a HEAD (a link preview) is 405 and starts
// no attempt: the same request as GET afterwards is the first and gets
// its code.
func TestAuthorizeHeadStartsNothing(t *testing.T) {
	e := newEnv(t, nil)
	q, _ := authQuery(clientSecret)
	resp, err := device().Head(e.issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("HEAD /authorize: %d, Allow %q; want 405, GET, POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if n := e.store.attempts.Load(); n != 0 {
		t.Fatalf("HEAD started %d attempts", n)
	}
	if v := e.redirected(t, e.authorize(t, q, nil)); v.Get("code") == "" {
		t.Fatalf("GET after HEAD: no code: %v", v)
	}
}
