package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/oauth"
)

// fixedServer is a server with a fixed issuer, for golden documents.
func fixedServer(t *testing.T, issuer string) *oauth.Server {
	t.Helper()
	testKeys(t)
	st := newStore(t)
	pseudo, err := msisdn.NewPseudonymizer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(core.Config{Store: st, Identifier: network.IdentifierFunc(identify), Pseudonymizer: pseudo})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := oauth.New(oauth.Config{
		Issuer: issuer, Store: st, Core: svc, Keys: serverKeys,
		Subject: func(n, c string) string { return pseudo.Pseudonym(n, c) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestDiscoveryDocument(t *testing.T) {
	srv := fixedServer(t, "http://127.0.0.1:9091")
	mux := http.NewServeMux()
	srv.Mount(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/openid-configuration", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	golden(t, "discovery.json", rec.Body.Bytes())
}

func TestDiscoveryUnderIssuerPath(t *testing.T) {
	srv := fixedServer(t, "https://op.example/camara")
	mux := http.NewServeMux()
	srv.Mount(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/camara/.well-known/openid-configuration", nil))
	var d oauth.Discovery
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if d.TokenEndpoint != "https://op.example/camara/token" || d.AuthorizationEndpoint != "https://op.example/camara/authorize" {
		t.Errorf("endpoints %q %q", d.AuthorizationEndpoint, d.TokenEndpoint)
	}
}

func TestJWKS(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := http.Get(e.issuer + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	algs := map[string]bool{}
	for _, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key %v has private member %q", k["kid"], private)
			}
		}
		if k["use"] != "sig" || k["kid"] == "" {
			t.Errorf("key %v: use %v", k["kid"], k["use"])
		}
		algs[k["alg"].(string)] = true
	}
	if len(raw.Keys) != 2 || !algs["RS256"] || !algs["ES256"] {
		t.Errorf("JWKS has %d keys, algs %v; want RS256 and ES256", len(raw.Keys), algs)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := oauth.New(oauth.Config{Issuer: "http://x/", AccessTokenLifetime: 301e9, Scopes: []string{"dpv:X", "bad scope"}})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{"Issuer", "Store", "Core", "Keys", "Subject", "AccessTokenLifetime", `"dpv:X"`, `"bad scope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}
