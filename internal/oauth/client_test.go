package oauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/store"
)

func TestHashAndCheckSecret(t *testing.T) {
	hash, salt := oauth.HashSecret("s3cret")
	hash2, salt2 := oauth.HashSecret("s3cret")
	if string(salt) == string(salt2) || string(hash) == string(hash2) {
		t.Error("two hashes of one secret share salt or hash")
	}
	c := store.Client{ID: "c", SecretHash: hash, SecretSalt: salt}
	if !oauth.CheckSecret(c, "s3cret") {
		t.Error("the right secret does not check")
	}
	for _, wrong := range []string{"", "s3cre", "s3cret ", "S3cret"} {
		if oauth.CheckSecret(c, wrong) {
			t.Errorf("%q checks", wrong)
		}
	}
	if oauth.CheckSecret(store.Client{ID: "c"}, "") {
		t.Error("a client without a secret checks with the empty secret")
	}
}

func TestValidateClient(t *testing.T) {
	testKeys(t)
	hash, salt := oauth.HashSecret("x")
	good := store.Client{
		ID: "app-1", SecretHash: hash, SecretSalt: salt, RedirectURIs: []string{"https://app.example/cb", "com.example.app:/cb"},
		JWKS:   jwksOf(t, jose.JSONWebKey{Key: rsaClientKey.Public(), KeyID: "k"}),
		Scopes: []string{"openid", purpose}, IDTokenAlg: "ES256",
	}
	if err := oauth.ValidateClient(good); err != nil {
		t.Fatalf("good client: %v", err)
	}
	bad := store.Client{
		ID: "has space", SecretHash: hash, RedirectURIs: []string{"/relative", "https://app.example/cb#frag"},
		JWKS:   jwksOf(t, jose.JSONWebKey{Key: rsaClientKey, KeyID: "private"}),
		Scopes: []string{"dpv:lower"}, IDTokenAlg: "HS256",
	}
	err := oauth.ValidateClient(bad)
	if err == nil {
		t.Fatal("bad client accepted")
	}
	for _, want := range []string{"client ID", "/relative", "#frag", "SecretSalt", "private key", "HS256", "dpv:lower"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
}

// TestWeakRSAClientKey: RFC 7518 section 3.3 requires RSA keys of at least
// 2048 bits for RS256; a 1024-bit client key is refused at registration,
// and one stored before (without ValidateClient) authenticates nobody.
func TestWeakRSAClientKey(t *testing.T) {
	e := newEnv(t, nil)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Client{ID: "rp-weak", JWKS: jwksOf(t, jose.JSONWebKey{Key: weak.Public(), KeyID: "weak-1"}), RedirectURIs: []string{redirectURI}}
	if err := oauth.ValidateClient(c); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Errorf("ValidateClient accepted a 1024-bit RSA key: %v", err)
	}
	if err := e.store.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	now := e.now()
	assertion := sign(t, jose.RS256, weak, "weak-1", claims{
		"iss": c.ID, "sub": c.ID, "aud": e.tokenURL, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "weak-jti",
	})
	r := e.token(t, tokenReq{form: url.Values{
		"grant_type": {"client_credentials"}, "scope": {oauth.ScopeNumberVerify + " " + purpose},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
	}})
	if r.status != 401 || r.str("error") != "invalid_client" {
		t.Errorf("assertion signed with a 1024-bit key: %d %s", r.status, r.body)
	}
}

// TestValidateClientKeyAlg: a registered key whose alg is not a client
// assertion algorithm for its key type can never verify an assertion
// (verifyWithAny skips it); it is refused at registration.
func TestValidateClientKeyAlg(t *testing.T) {
	testKeys(t)
	for _, tc := range []struct {
		key  any
		alg  string
		good bool
	}{
		{rsaClientKey.Public(), "RS256", true},
		{rsaClientKey.Public(), "PS512", true},
		{ecClientKey.Public(), "ES256", true},
		{rsaClientKey.Public(), "RSA-OAEP", false},
		{rsaClientKey.Public(), "HS256", false},
		{rsaClientKey.Public(), "ES256", false},
		{ecClientKey.Public(), "ES384", false},
		{ecClientKey.Public(), "RS256", false},
	} {
		c := store.Client{ID: "app", RedirectURIs: []string{"https://app.example/cb"},
			JWKS: jwksOf(t, jose.JSONWebKey{Key: tc.key, KeyID: "k", Algorithm: tc.alg})}
		if err := oauth.ValidateClient(c); (err == nil) != tc.good {
			t.Errorf("%T with alg %s: %v", tc.key, tc.alg, err)
		}
	}
}
