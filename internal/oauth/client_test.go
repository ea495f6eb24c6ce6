package oauth_test

import (
	"strings"
	"testing"

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
