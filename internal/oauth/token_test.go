package oauth_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numgate/numgate/internal/oauth"
)

// TestTokenErrors sends one bad token request per case and checks the
// error (status, code, body against a golden file) and that the code the
// request tried to redeem is still usable by its client afterwards: every
// one of these requests is rejected before the code is consumed.
func TestTokenErrors(t *testing.T) {
	e := newEnv(t, nil)
	now := func() time.Time { return e.now() }
	withClaims := func(mods ...func(claims)) func(*testing.T, string, *tokenReq) {
		return func(t *testing.T, client string, r *tokenReq) {
			r.form.Set("client_assertion", e.assertion(t, client, mods...))
		}
	}
	set := func(k, v string) func(*testing.T, string, *tokenReq) {
		return func(_ *testing.T, _ string, r *tokenReq) { r.form.Set(k, v) }
	}
	del := func(k string) func(*testing.T, string, *tokenReq) {
		return func(_ *testing.T, _ string, r *tokenReq) { r.form.Del(k) }
	}
	ccForm := func(client string, scope string) func(*testing.T, string, *tokenReq) {
		return func(t *testing.T, _ string, r *tokenReq) {
			*r = e.codeRequest(t, client, "", "")
			for _, k := range []string{"code", "redirect_uri", "code_verifier"} {
				r.form.Del(k)
			}
			r.form.Set("grant_type", "client_credentials")
			if scope != "" {
				r.form.Set("scope", scope)
			}
		}
	}

	cases := []struct {
		name   string
		client string // whose code; default clientRSA
		mod    func(t *testing.T, client string, r *tokenReq)
		status int
		want   string
	}{
		// private_key_jwt (CAMARA ICM, Client Authentication).
		{name: "assertion expired", mod: withClaims(func(c claims) {
			c["iat"] = now().Add(-120 * time.Second).Unix()
			c["exp"] = now().Add(-60 * time.Second).Unix()
		}), status: 401, want: "invalid_client"},
		{name: "assertion exp more than 300s ahead", mod: withClaims(func(c claims) { c["exp"] = now().Add(600 * time.Second).Unix() }), status: 401, want: "invalid_client"},
		{name: "assertion exp minus iat over 300s", mod: withClaims(func(c claims) {
			c["iat"] = now().Add(-100 * time.Second).Unix()
			c["exp"] = now().Add(250 * time.Second).Unix()
		}), status: 401, want: "invalid_client"},
		{name: "assertion iat in the future", mod: withClaims(func(c claims) {
			c["iat"] = now().Add(60 * time.Second).Unix()
			c["exp"] = now().Add(120 * time.Second).Unix()
		}), status: 401, want: "invalid_client"},
		{name: "assertion nbf in the future", mod: withClaims(func(c claims) { c["nbf"] = now().Add(60 * time.Second).Unix() }), status: 401, want: "invalid_client"},
		{name: "assertion without exp", mod: withClaims(func(c claims) { delete(c, "exp") }), status: 401, want: "invalid_client"},
		{name: "assertion without jti", mod: withClaims(func(c claims) { delete(c, "jti") }), status: 401, want: "invalid_client"},
		{name: "assertion jti with a NUL", mod: withClaims(func(c claims) { c["jti"] = "a\u0000b" }), status: 401, want: "invalid_client"},
		{name: "assertion wrong aud", mod: withClaims(func(c claims) { c["aud"] = "https://other.example/token" }), status: 401, want: "invalid_client"},
		{name: "assertion aud is the authorization endpoint", mod: withClaims(func(c claims) { c["aud"] = e.issuer + "/authorize" }), status: 401, want: "invalid_client"},
		{name: "assertion unknown client", mod: withClaims(func(c claims) { c["iss"], c["sub"] = "nobody", "nobody" }), status: 401, want: "invalid_client"},
		{name: "assertion sub is not iss", mod: withClaims(func(c claims) { c["sub"] = "someone" }), status: 401, want: "invalid_client"},
		{name: "assertion bad signature", mod: func(t *testing.T, client string, r *tokenReq) {
			r.form.Set("client_assertion", sign(t, jose.RS256, otherRSAKey, "rsa-1", claims{
				"iss": client, "sub": client, "aud": e.tokenURL, "exp": now().Add(time.Minute).Unix(), "jti": "bad-sig"}))
		}, status: 401, want: "invalid_client"},
		{name: "assertion HS256", mod: func(t *testing.T, client string, r *tokenReq) {
			r.form.Set("client_assertion", sign(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "rsa-1", claims{
				"iss": client, "sub": client, "aud": e.tokenURL, "exp": now().Add(time.Minute).Unix(), "jti": "hs256"}))
		}, status: 401, want: "invalid_client"},
		{name: "assertion PS256 with a key registered for RS256", mod: func(t *testing.T, client string, r *tokenReq) {
			r.form.Set("client_assertion", sign(t, jose.PS256, rsaClientKey, "rsa-1", claims{
				"iss": client, "sub": client, "aud": e.tokenURL, "exp": now().Add(time.Minute).Unix(), "jti": "ps256"}))
		}, status: 401, want: "invalid_client"},
		{name: "assertion not a JWT", mod: set("client_assertion", "not-a-jwt"), status: 401, want: "invalid_client"},
		{name: "assertion type wrong", mod: set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), status: 401, want: "invalid_client"},
		{name: "assertion type missing", mod: del("client_assertion_type"), status: 400, want: "invalid_request"},
		{name: "assertion client_id mismatch", mod: set("client_id", clientEC), status: 401, want: "invalid_client"},
		{name: "assertion jti replayed", mod: func(t *testing.T, client string, r *tokenReq) {
			a := e.assertion(t, client)
			first := e.token(t, tokenReq{form: url.Values{
				"grant_type": {"client_credentials"}, "scope": {"number-verification:verify " + purpose},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a},
			}})
			if first.status != http.StatusOK {
				t.Fatalf("first use of the assertion: %d %s", first.status, first.body)
			}
			r.form.Set("client_assertion", a)
		}, status: 401, want: "invalid_client"},
		{name: "two methods assertion and secret", mod: set("client_secret", secretOfRP), status: 400, want: "invalid_request"},
		{name: "two methods basic and post", client: clientSecret, mod: func(_ *testing.T, _ string, r *tokenReq) {
			r.form.Set("client_id", clientSecret)
			r.form.Set("client_secret", secretOfRP)
		}, status: 400, want: "invalid_request"},

		// Client secrets.
		{name: "basic wrong secret", client: clientSecret, mod: func(_ *testing.T, _ string, r *tokenReq) { r.basic = &[2]string{clientSecret, "wrong"} }, status: 401, want: "invalid_client"},
		{name: "basic unknown client", client: clientSecret, mod: func(_ *testing.T, _ string, r *tokenReq) { r.basic = &[2]string{"nobody", secretOfRP} }, status: 401, want: "invalid_client"},
		{name: "basic not form-urlencoded", client: clientSecret, mod: func(_ *testing.T, _ string, r *tokenReq) {
			r.basic = nil
			r.rawAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(clientSecret+":"+secretOfRP))
		}, status: 401, want: "invalid_client"},
		{name: "basic malformed", client: clientSecret, mod: func(_ *testing.T, _ string, r *tokenReq) { r.basic = nil; r.rawAuth = "Basic !!!" }, status: 401, want: "invalid_client"},
		{name: "post wrong secret", client: clientLimited, mod: set("client_secret", "wrong"), status: 401, want: "invalid_client"},
		{name: "post without client_id", client: clientLimited, mod: del("client_id"), status: 401, want: "invalid_client"},
		{name: "confidential client without authentication", mod: func(_ *testing.T, _ string, r *tokenReq) {
			r.form.Del("client_assertion")
			r.form.Del("client_assertion_type")
			r.form.Set("client_id", clientRSA)
		}, status: 401, want: "invalid_client"},
		{name: "no client at all", client: clientSecret, mod: func(_ *testing.T, _ string, r *tokenReq) { r.basic = nil }, status: 401, want: "invalid_client"},
		{name: "secret for a key-only client", mod: func(_ *testing.T, _ string, r *tokenReq) {
			r.form.Del("client_assertion")
			r.form.Del("client_assertion_type")
			r.form.Set("client_id", clientRSA)
			r.form.Set("client_secret", secretOfRP)
		}, status: 401, want: "invalid_client"},

		// The request and the code.
		{name: "content type JSON", mod: func(_ *testing.T, _ string, r *tokenReq) { r.contentType = "application/json" }, status: 400, want: "invalid_request"},
		{name: "parameter twice", mod: func(_ *testing.T, _ string, r *tokenReq) { r.form.Add("redirect_uri", redirectURI) }, status: 400, want: "invalid_request"},
		{name: "grant_type missing", mod: del("grant_type"), status: 400, want: "invalid_request"},
		{name: "grant_type password", mod: set("grant_type", "password"), status: 400, want: "unsupported_grant_type"},
		{name: "grant_type refresh_token", mod: set("grant_type", "refresh_token"), status: 400, want: "unsupported_grant_type"},
		{name: "code missing", mod: del("code"), status: 400, want: "invalid_request"},
		{name: "code unknown", mod: set("code", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), status: 400, want: "invalid_grant"},
		{name: "code malformed", mod: set("code", "x"), status: 400, want: "invalid_grant"},
		{name: "redirect_uri missing", mod: del("redirect_uri"), status: 400, want: "invalid_request"},
		{name: "redirect_uri mismatch", mod: set("redirect_uri", "https://rp.example/other"), status: 400, want: "invalid_grant"},
		{name: "PKCE verifier wrong", mod: set("code_verifier", strings.Repeat("a", 43)), status: 400, want: "invalid_grant"},
		{name: "PKCE verifier missing", mod: del("code_verifier"), status: 400, want: "invalid_grant"},
		{name: "PKCE verifier malformed", mod: set("code_verifier", "short"), status: 400, want: "invalid_request"},
		{name: "PKCE public client wrong verifier", client: clientPublic, mod: set("code_verifier", strings.Repeat("b", 43)), status: 400, want: "invalid_grant"},
		{name: "code of another client", mod: func(t *testing.T, _ string, r *tokenReq) {
			r.form.Set("client_assertion", e.assertion(t, clientEC))
		}, status: 400, want: "invalid_grant"},

		// client_credentials.
		{name: "cc public client", mod: ccForm(clientPublic, "number-verification:verify "+purpose), status: 400, want: "unauthorized_client"},
		{name: "cc scope missing", mod: ccForm(clientSecret, ""), status: 400, want: "invalid_request"},
		{name: "cc scope without purpose", mod: ccForm(clientSecret, "number-verification:verify"), status: 400, want: "invalid_scope"},
		{name: "cc scope unknown", mod: ccForm(clientSecret, "admin "+purpose), status: 400, want: "invalid_scope"},
		{name: "cc scope not allowed", mod: ccForm(clientLimited, "number-verification:device-phone-number:read "+purpose), status: 400, want: "invalid_scope"},
		{name: "cc openid only", mod: ccForm(clientSecret, "openid"), status: 400, want: "invalid_scope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := tc.client
			if client == "" {
				client = clientRSA
			}
			code, verifier := e.code(t, client)
			req := e.codeRequest(t, client, code, verifier)
			tc.mod(t, client, &req)
			res := e.token(t, req)
			if res.status != tc.status || res.str("error") != tc.want {
				t.Fatalf("got %d %s, want %d %s", res.status, res.body, tc.status, tc.want)
			}
			if res.status == http.StatusUnauthorized && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge")
			}
			if _, ok := res.json["access_token"]; ok {
				t.Errorf("an error carries an access token")
			}
			golden(t, "token_errors/"+fileName(tc.name)+".txt", errorTranscript(res))

			again := e.token(t, e.codeRequest(t, client, code, verifier))
			if again.status != http.StatusOK {
				t.Errorf("the code is no longer usable after a rejected request: %d %s", again.status, again.body)
			}
		})
	}
}

func fileName(s string) string {
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(s))
}

// errorTranscript is the golden form of an error response.
func errorTranscript(r tokenResult) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\n", r.status)
	if w := r.header.Get("WWW-Authenticate"); w != "" {
		fmt.Fprintf(&b, "WWW-Authenticate: %s\n", w)
	}
	fmt.Fprintf(&b, "Content-Type: %s\n\n%s", r.header.Get("Content-Type"), r.body)
	return []byte(b.String())
}

// idClaims are the ID token claims the tests read.
type idClaims struct {
	jwt.Claims
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce"`
	AMR      []string `json:"amr"`
	AtHash   string   `json:"at_hash"`
}

// verifyIDToken checks an ID token with the server's published keys.
func (e *env) verifyIDToken(t *testing.T, raw, clientID string, alg jose.SignatureAlgorithm) idClaims {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("ID token is not a %s JWS: %v", alg, err)
	}
	if h := tok.Headers[0]; h.KeyID == "" || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("ID token header kid %q typ %v", h.KeyID, h.ExtraHeaders["typ"])
	}
	var c idClaims
	jwks := serverKeys.PublicJWKS()
	if err := tok.Claims(&jwks, &c); err != nil {
		t.Fatalf("ID token does not verify with the JWKS: %v", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: e.issuer, AnyAudience: jwt.Audience{clientID}, Time: e.now()}, 0); err != nil {
		t.Error(err)
	}
	if want := e.pseudo.Pseudonym(deviceNumber, clientID); c.Subject != want {
		t.Errorf("sub = %q, want the pairwise pseudonym %q", c.Subject, want)
	}
	if strings.Contains(raw, deviceNumber[1:]) || strings.Contains(c.Subject, deviceNumber[1:]) {
		t.Error("the ID token carries the phone number")
	}
	if c.Expiry.Time().Sub(c.IssuedAt.Time()) != 300*time.Second {
		t.Errorf("ID token lifetime %v", c.Expiry.Time().Sub(c.IssuedAt.Time()))
	}
	if len(c.AMR) != 1 || c.AMR[0] != "nbt" {
		t.Errorf("amr = %v", c.AMR)
	}
	if c.AuthTime == 0 || c.AuthTime > c.IssuedAt.Time().Unix() {
		t.Errorf("auth_time %d, iat %d", c.AuthTime, c.IssuedAt.Time().Unix())
	}
	return c
}

func TestTokenPrivateKeyJWT(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name, client string
		alg          jose.SignatureAlgorithm // of the ID token
		aud          func() any
	}{
		{name: "RS256 key, aud token URL", client: clientRSA, alg: jose.RS256, aud: func() any { return e.tokenURL }},
		{name: "RS256 key, aud issuer", client: clientRSA, alg: jose.RS256, aud: func() any { return e.issuer }},
		{name: "RS256 key, aud array with issuer", client: clientRSA, alg: jose.RS256, aud: func() any { return []string{"https://other.example", e.issuer} }},
		{name: "ES256 key, aud token URL", client: clientEC, alg: jose.ES256, aud: func() any { return e.tokenURL }},
		{name: "ES256 key, aud issuer", client: clientEC, alg: jose.ES256, aud: func() any { return e.issuer }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, verifier := e.code(t, tc.client)
			req := e.codeRequest(t, tc.client, code, verifier)
			req.form.Set("client_assertion", e.assertion(t, tc.client, func(c claims) { c["aud"] = tc.aud() }))
			res := e.token(t, req)
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if res.str("token_type") != "Bearer" || res.json["expires_in"] != float64(300) || res.str("scope") != nvScope {
				t.Errorf("response %s", res.body)
			}
			if _, ok := res.json["refresh_token"]; ok {
				t.Error("a refresh token was issued")
			}
			c := e.verifyIDToken(t, res.str("id_token"), tc.client, tc.alg)
			if c.Nonce != "nonce-1" {
				t.Errorf("nonce = %q", c.Nonce)
			}
			at, err := e.srv.LookupAccessToken(context.Background(), res.str("access_token"))
			if err != nil {
				t.Fatal(err)
			}
			if !at.NetworkAuthenticated || at.AttemptID == "" || at.ClientID != tc.client || at.Purpose != purpose {
				t.Errorf("access token %+v", at)
			}
		})
	}
}

func TestTokenClientSecretAndPublic(t *testing.T) {
	e := newEnv(t, nil)
	for _, client := range []string{clientSecret, clientLimited, clientPublic} {
		t.Run(client, func(t *testing.T) {
			code, verifier := e.code(t, client)
			res := e.token(t, e.codeRequest(t, client, code, verifier))
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			alg := jose.RS256
			if client == clientLimited {
				alg = jose.ES256
			}
			e.verifyIDToken(t, res.str("id_token"), client, alg)
		})
	}
}

func TestTokenWithoutOpenIDHasNoIDToken(t *testing.T) {
	e := newEnv(t, nil)
	q, verifier := authQuery(clientSecret)
	q.Set("scope", "number-verification:verify "+purpose)
	v := e.redirected(t, e.authorize(t, q, nil))
	res := e.token(t, e.codeRequest(t, clientSecret, v.Get("code"), verifier))
	if res.status != http.StatusOK {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if _, ok := res.json["id_token"]; ok {
		t.Error("id_token without openid")
	}
}

func TestTokenConfidentialClientWithoutPKCE(t *testing.T) {
	e := newEnv(t, nil)
	q, _ := authQuery(clientSecret)
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	code := e.redirected(t, e.authorize(t, q, nil)).Get("code")

	// A verifier for a code issued without a challenge is refused (RFC 9700
	// section 2.1.1, PKCE downgrade), and the code stays usable.
	res := e.token(t, e.codeRequest(t, clientSecret, code, strings.Repeat("v", 43)))
	if res.str("error") != "invalid_grant" {
		t.Fatalf("verifier without challenge: %d %s", res.status, res.body)
	}
	golden(t, "token_errors/pkce_downgrade.txt", errorTranscript(res))

	req := e.codeRequest(t, clientSecret, code, "")
	req.form.Del("code_verifier")
	if res := e.token(t, req); res.status != http.StatusOK {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

// TestCodeReplay: a code is redeemed once; its replay is invalid_grant and
// revokes the access token the first redemption produced.
func TestCodeReplay(t *testing.T) {
	e := newEnv(t, nil)
	code, verifier := e.code(t, clientSecret)
	first := e.token(t, e.codeRequest(t, clientSecret, code, verifier))
	if first.status != http.StatusOK {
		t.Fatalf("%d %s", first.status, first.body)
	}
	replay := e.token(t, e.codeRequest(t, clientSecret, code, verifier))
	if replay.status != http.StatusBadRequest || replay.str("error") != "invalid_grant" {
		t.Fatalf("replay: %d %s", replay.status, replay.body)
	}
	golden(t, "token_errors/code_replayed.txt", errorTranscript(replay))
	if _, err := e.srv.LookupAccessToken(context.Background(), first.str("access_token")); err != oauth.ErrInvalidToken {
		t.Errorf("the first access token survived the replay: %v", err)
	}
}

// TestCodeConcurrentRedemption: of many concurrent redemptions exactly one
// succeeds.
func TestCodeConcurrentRedemption(t *testing.T) {
	e := newEnv(t, nil)
	code, verifier := e.code(t, clientSecret)
	const n = 8
	results := make(chan int, n)
	for range n {
		go func() {
			req := e.codeRequest(t, clientSecret, code, verifier)
			results <- e.token(t, req).status
		}()
	}
	ok := 0
	for range n {
		if <-results == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent redemptions succeeded, want 1", ok, n)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, nil)
	scope := "number-verification:verify " + purpose
	cases := []struct {
		name string
		req  func(t *testing.T) tokenReq
	}{
		{name: "client_secret_basic", req: func(*testing.T) tokenReq {
			return tokenReq{form: url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, basic: &[2]string{clientSecret, secretOfRP}}
		}},
		{name: "client_secret_post", req: func(*testing.T) tokenReq {
			return tokenReq{form: url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "client_id": {clientLimited}, "client_secret": {secretOfRP}}}
		}},
		{name: "private_key_jwt", req: func(t *testing.T) tokenReq {
			return tokenReq{form: url.Values{"grant_type": {"client_credentials"}, "scope": {"openid " + scope},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {e.assertion(t, clientEC)}}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.token(t, tc.req(t))
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if _, ok := res.json["id_token"]; ok {
				t.Error("client_credentials issued an ID token")
			}
			if res.str("scope") != scope {
				t.Errorf("scope %q, want %q (openid is not granted)", res.str("scope"), scope)
			}
			at, err := e.srv.LookupAccessToken(context.Background(), res.str("access_token"))
			if err != nil {
				t.Fatal(err)
			}
			if at.NetworkAuthenticated || at.AttemptID != "" {
				t.Errorf("a 2-legged token claims network authentication: %+v", at)
			}
		})
	}
}

// TestTokenBasicWithEmptySecret: a Basic header with an empty secret (what
// golang.org/x/oauth2 sends when it probes for clients without a secret)
// only names the client; it is not a second authentication method.
func TestTokenBasicWithEmptySecret(t *testing.T) {
	e := newEnv(t, nil)
	for _, client := range []string{clientPublic, clientRSA} {
		t.Run(client, func(t *testing.T) {
			code, verifier := e.code(t, client)
			req := e.codeRequest(t, client, code, verifier)
			req.form.Del("client_id")
			req.basic = &[2]string{client, ""}
			if res := e.token(t, req); res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
		})
	}
	code, verifier := e.code(t, clientRSA)
	req := e.codeRequest(t, clientRSA, code, verifier)
	req.basic = &[2]string{clientEC, ""}
	if res := e.token(t, req); res.str("error") != "invalid_client" {
		t.Fatalf("a Basic header naming another client: %d %s", res.status, res.body)
	}
}

// TestDuplicateParameterNotEchoed: a parameter sent twice is named in the
// error_description only when its name is a plain parameter name; any other
// name would put request text, outside the characters RFC 6749 sections
// 4.1.2.1 and 5.2 allow, into the token response and the redirect.
func TestDuplicateParameterNotEchoed(t *testing.T) {
	e := newEnv(t, nil)
	odd := `"\é ` + strings.Repeat("A", 200)
	allowed := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c > 0x7E {
				return false
			}
		}
		return true
	}

	r := e.token(t, tokenReq{form: url.Values{"grant_type": {"client_credentials"}, odd: {"1", "2"}}})
	if d := r.str("error_description"); r.str("error") != "invalid_request" || !allowed(d) || strings.Contains(d, "AAAA") {
		t.Errorf("token: %d %s", r.status, r.body)
	}
	r = e.token(t, tokenReq{form: url.Values{"grant_type": {"client_credentials"}, "scope": {"a", "b"}}})
	if d := r.str("error_description"); d != "scope was given more than once" {
		t.Errorf("token, scope twice: %q", d)
	}

	q, _ := authQuery(clientSecret)
	q[odd] = []string{"1", "2"}
	v := e.redirected(t, e.authorize(t, q, nil))
	if d := v.Get("error_description"); v.Get("error") != "invalid_request" || !allowed(d) || strings.Contains(d, "AAAA") {
		t.Errorf("authorize: %v", v)
	}
}
