package vonage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numgate/numgate/internal/dialect/vonage"
	"github.com/numgate/numgate/internal/dialect/vonage/vonagetest"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/store"
)

// TestJWTFromVonageNodeLibraries accepts JWTs made by Vonage's own
// @vonage/jwt and @vonage/auth (testdata/vonage-jwt), each exactly once.
func TestJWTFromVonageNodeLibraries(t *testing.T) {
	var fx struct {
		ApplicationID string            `json:"application_id"`
		Tokens        map[string]string `json:"tokens"`
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "vonage-jwt", "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(filepath.Join("testdata", "vonage-jwt", "application.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemBytes)
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub}}})

	g := vonagetest.Start(t, vonagetest.Options{})
	if err := g.Store.CreateClient(context.Background(), store.Client{ID: fx.ApplicationID, JWKS: jwks, RedirectURIs: []string{callback}}); err != nil {
		t.Fatal(err)
	}
	e := &env{Gateway: g, t: t}
	for name, tok := range fx.Tokens {
		t.Run(name, func(t *testing.T) {
			var c struct {
				IssuedAt int64 `json:"iat"`
			}
			parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			_ = parsed.UnsafeClaimsWithoutVerification(&c)
			g.Clock.Set(time.Unix(c.IssuedAt, 0).Add(2 * time.Second))
			body := enablementBody(verified, "node-"+name)
			if r := e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", body); r.Status != http.StatusOK {
				t.Fatalf("HTTP %d %s", r.Status, r.Body)
			}
			checkProblem(t, e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", body), http.StatusUnauthorized, "unauthorized")
		})
	}
}

// TestJWTShapesOfOtherLibraries accepts the claim shapes of Vonage's other
// libraries: the Go SDK (golang-jwt, with nbf, sub and an acl), PHP
// (fractional numeric dates), no typ header, a kid header.
func TestJWTShapesOfOtherLibraries(t *testing.T) {
	e := newEnv(t)
	now := e.Clock.Now()
	frac := func(t time.Time) rawJSON { return rawJSON(fmt.Sprintf("%d.123456", t.Unix())) }
	cases := map[string]func(c map[string]any, h map[jose.HeaderKey]any){
		"go sdk": func(c map[string]any, h map[jose.HeaderKey]any) {
			c["nbf"] = now.Add(-time.Minute).Unix()
			c["sub"] = "alice"
			c["acl"] = map[string]any{"paths": map[string]any{"/*/users/**": map[string]string{}}}
		},
		"php": func(c map[string]any, h map[jose.HeaderKey]any) {
			c["iat"], c["nbf"], c["exp"] = frac(now), frac(now), frac(now.Add(15*time.Minute))
		},
		"no typ":           func(c map[string]any, h map[jose.HeaderKey]any) { delete(h, jose.HeaderType) },
		"kid":              func(c map[string]any, h map[jose.HeaderKey]any) { h["kid"] = "any" },
		"24 h":             func(c map[string]any, h map[jose.HeaderKey]any) { c["exp"] = now.Add(24 * time.Hour).Unix() },
		"clock 20 s ahead": func(c map[string]any, h map[jose.HeaderKey]any) { c["iat"] = now.Add(20 * time.Second).Unix() },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			tok := e.app.JWT(t, now, edit)
			if payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1]); name == "php" && !strings.Contains(string(payload), ".123456") {
				t.Fatalf("the PHP-shaped JWT has no fractional dates: %s", payload)
			}
			if r := e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", enablementBody(verified, "s")); r.Status != http.StatusOK {
				t.Fatalf("HTTP %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestJWTRefused refuses every JWT that does not authenticate the
// application, with a 401 problem, and shows that the refusal changes
// nothing: no attempt starts.
func TestJWTRefused(t *testing.T) {
	e := newEnv(t)
	g := e.Gateway
	now := e.Clock.Now()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	hash, salt := oauth.HashSecret("s3cret")
	if err := g.Store.CreateClient(context.Background(), store.Client{ID: "secret-only", SecretHash: hash, SecretSalt: salt, RedirectURIs: []string{callback}}); err != nil {
		t.Fatal(err)
	}
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"application_id": appID, "iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "jti": vonagetest.UUID()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	jwtHeader := map[jose.HeaderKey]any{jose.HeaderType: "JWT"}
	hs256 := func() string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
		tok, _ := jwt.Signed(s).Claims(claims(nil)).Serialize()
		return tok
	}
	unsigned := func() string {
		enc := base64.RawURLEncoding.EncodeToString
		body, _ := json.Marshal(claims(nil))
		return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(body) + "."
	}
	edit := func(f func(c map[string]any, h map[jose.HeaderKey]any)) string { return e.app.JWT(t, now, f) }
	cases := []struct {
		name, authz string
	}{
		{"no Authorization", ""},
		{"Basic", "Basic " + base64.StdEncoding.EncodeToString([]byte(appID+":secret"))},
		{"Bearer without token", "Bearer "},
		{"not a JWT", "Bearer not.a.jwt"},
		{"alg none", "Bearer " + unsigned()},
		{"HS256", "Bearer " + hs256()},
		{"typ at+jwt", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { h[jose.HeaderType] = "at+jwt" })},
		{"signed by another key", "Bearer " + vonagetest.SignRS256(t, other, claims(nil), jwtHeader)},
		{"unknown application", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { c["application_id"] = "no-such-app" })},
		{"no application_id", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { delete(c, "application_id") })},
		{"application without keys", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { c["application_id"] = "secret-only" })},
		{"no jti", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { delete(c, "jti") })},
		{"no iat", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { delete(c, "iat") })},
		{"no exp", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { delete(c, "exp") })},
		{"expired", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) {
			c["iat"], c["exp"] = now.Add(-20*time.Minute).Unix(), now.Add(-time.Minute).Unix()
		})},
		{"iat in the future", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { c["iat"] = now.Add(5 * time.Minute).Unix() })},
		{"exp beyond 24 h", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { c["exp"] = now.Add(25 * time.Hour).Unix() })},
		{"exp before iat", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { c["exp"] = now.Add(-10 * time.Second).Unix() })},
		{"nbf in the future", "Bearer " + edit(func(c map[string]any, h map[jose.HeaderKey]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() })},
	}
	var bodies bytes.Buffer
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, g.URL+vonage.PathNetworkEnablement, strings.NewReader(enablementBody(verified, "s")))
			req.Header.Set("Content-Type", "application/json")
			if c.authz != "" {
				req.Header.Set("Authorization", c.authz)
			}
			r := g.Do(t, req)
			checkProblem(t, r, http.StatusUnauthorized, "unauthorized")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Error("a 401 without a Bearer challenge")
			}
			fmt.Fprintf(&bodies, "%s: %s\n", c.name, masked(r.Body))
		})
	}
	if n := e.openAttempts(); n != 0 {
		t.Errorf("refused calls started %d attempts", n)
	}
	if !t.Failed() {
		golden(t, "jwt_refused.golden", bodies.Bytes())
	}

	t.Run("replayed jti", func(t *testing.T) {
		tok := e.jwt()
		if r := e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", enablementBody(verified, "s")); r.Status != http.StatusOK {
			t.Fatalf("first use: HTTP %d %s", r.Status, r.Body)
		}
		checkProblem(t, e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", enablementBody(verified, "s")), http.StatusUnauthorized, "unauthorized")
		// The same jti is spent at the token endpoint too.
		checkProblem(t, e.do(http.MethodPost, vonage.PathToken, tok, "application/x-www-form-urlencoded", codeForm(e.code(verified)).Encode()), http.StatusUnauthorized, "unauthorized")
	})

	// A JWT is accepted until JWTLeeway past its exp, so its jti must be
	// remembered that long: a replay just after exp is still refused.
	t.Run("replayed jti after exp, within the leeway", func(t *testing.T) {
		start := e.Clock.Now()
		tok := e.app.JWT(t, start, func(c map[string]any, _ map[jose.HeaderKey]any) {
			c["exp"] = start.Add(time.Minute).Unix()
		})
		if r := e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", enablementBody(verified, "s")); r.Status != http.StatusOK {
			t.Fatalf("first use: HTTP %d %s", r.Status, r.Body)
		}
		e.Clock.Add(time.Minute + vonage.JWTLeeway/2) // past exp, within the leeway
		r := e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", enablementBody(verified, "s"))
		checkProblem(t, r, http.StatusUnauthorized, "unauthorized")
		if !strings.Contains(string(r.Body), "already used") {
			t.Errorf("replay within the leeway refused for another reason: %s", r.Body)
		}
	})
}

// rawJSON is a JSON value written as is (a PHP-style fractional date).
type rawJSON string

// MarshalJSON implements json.Marshaler.
func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestJWTRefusedWithShortRSAKey: an application whose registered key is an
// RSA key under 2048 bits (stored before `numgate clients add` refused
// such keys) does not authenticate, as the OAuth server's private_key_jwt
// refuses it (RFC 7518 section 3.3).
func TestJWTRefusedWithShortRSAKey(t *testing.T) {
	e := newEnv(t)
	now := e.Clock.Now()
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &weak.PublicKey, Use: "sig"}}})
	const weakID = "00000000-0000-4000-8000-000000001024"
	if err := e.Gateway.Store.CreateClient(context.Background(), store.Client{ID: weakID, JWKS: jwks, RedirectURIs: []string{callback}}); err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: weak}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(map[string]any{"application_id": weakID, "iat": now.Unix(),
		"exp": now.Add(15 * time.Minute).Unix(), "jti": vonagetest.UUID()}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do(http.MethodPost, vonage.PathNetworkEnablement, tok, "application/json", enablementBody(verified, "s")); r.Status != http.StatusUnauthorized {
		t.Fatalf("a JWT signed with a 1024-bit key: HTTP %d %s, want 401", r.Status, r.Body)
	}
}
