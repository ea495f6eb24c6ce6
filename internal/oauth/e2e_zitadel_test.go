package oauth_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/client"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/numgate/numgate/internal/store"
)

// TestRelyingPartyZitadel runs the flow with zitadel/oidc v3's relying
// party, unmodified: discovery, PKCE (rp.WithPKCE, verifier kept in its
// cookie), JWT-profile client authentication (rp.WithJWTProfile with a
// P-256 key, so ES256 assertions), the code exchange and ID token
// verification.
//
// zitadel's own callback handler (rp.CodeExchangeHandler) signs client
// assertions valid for one hour, which CAMARA forbids (at most 300 s): the
// first exchange is refused with invalid_client, before the code is
// touched. The same code is then redeemed through zitadel's rp.CodeExchange
// with an assertion from zitadel's client.SignedJWTProfileAssertion and a
// compliant lifetime.
func TestRelyingPartyZitadel(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const clientID, nonce = "rp-zitadel", "zitadel-nonce-1"

	mux := http.NewServeMux()
	rpSrv := httptest.NewServer(mux)
	t.Cleanup(rpSrv.Close)
	callback := rpSrv.URL + "/callback"
	if err := e.store.CreateClient(ctx, store.Client{
		ID: clientID, RedirectURIs: []string{callback},
		JWKS: jwksOf(t, jose.JSONWebKey{Key: ecClientKey.Public(), KeyID: "ec-1", Algorithm: "ES256", Use: "sig"}),
	}); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ecClientKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})

	var mu sync.Mutex
	var unauthorized, code, verifier string
	var tokens *oidc.Tokens[*oidc.IDTokenClaims]
	cookies := httphelper.NewCookieHandler([]byte("0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef"), httphelper.WithUnsecure())
	relyingParty, err := rp.NewRelyingPartyOIDC(ctx, e.issuer, clientID, "", callback,
		[]string{oidc.ScopeOpenID, "number-verification:verify", purpose},
		rp.WithPKCE(cookies),
		rp.WithJWTProfile(rp.SignerFromKeyAndKeyID(keyPEM, "ec-1")),
		rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return nonce })),
		rp.WithUnauthorizedHandler(func(w http.ResponseWriter, _ *http.Request, desc, _ string) {
			mu.Lock()
			unauthorized = desc
			mu.Unlock()
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}),
	)
	if err != nil {
		t.Fatal(err)
	}

	mux.Handle("/login", rp.AuthURLHandler(func() string { return "zitadel-state" }, relyingParty,
		rp.WithURLParam("nonce", nonce), rp.WithPromptURLParam("none")))
	exchange := rp.CodeExchangeHandler(func(w http.ResponseWriter, _ *http.Request, tok *oidc.Tokens[*oidc.IDTokenClaims], _ string, _ rp.RelyingParty) {
		mu.Lock()
		tokens = tok
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}, relyingParty)
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		code = r.FormValue("code")
		verifier, _ = relyingParty.CookieHandler().CheckCookie(r, "pkce")
		mu.Unlock()
		exchange(w, r)
	})

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Jar: jar}).Get(rpSrv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	mu.Lock()
	defer mu.Unlock()
	e.remember(code)
	if code == "" || verifier == "" {
		t.Fatalf("the callback saw no code or PKCE verifier (status %d)", resp.StatusCode)
	}
	if tokens != nil || resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(unauthorized, "invalid_client") || !strings.Contains(unauthorized, "300 seconds") {
		t.Fatalf("zitadel's one-hour assertion was not refused: status %d, %q", resp.StatusCode, unauthorized)
	}

	assertion, err := client.SignedJWTProfileAssertion(clientID, []string{e.issuer}, time.Minute, relyingParty.Signer())
	if err != nil {
		t.Fatal(err)
	}
	got, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, relyingParty,
		rp.WithCodeVerifier(verifier), rp.WithClientAssertionJWT(assertion))
	if err != nil {
		t.Fatalf("code exchange with a compliant assertion: %v", err)
	}
	e.remember(got.AccessToken)
	claims := got.IDTokenClaims
	if claims.Nonce != nonce {
		t.Errorf("nonce %q", claims.Nonce)
	}
	if claims.Subject != e.pseudo.Pseudonym(deviceNumber, clientID) || strings.Contains(claims.Subject, deviceNumber[1:]) {
		t.Errorf("sub %q is not the pairwise pseudonym", claims.Subject)
	}
	if claims.GetSignatureAlgorithm() != jose.RS256 {
		t.Errorf("ID token alg %s, want RS256 (the client's default)", claims.GetSignatureAlgorithm())
	}
	if got.RefreshToken != "" {
		t.Error("a refresh token was issued")
	}

	// The assertion is single use.
	if _, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, relyingParty,
		rp.WithCodeVerifier(verifier), rp.WithClientAssertionJWT(assertion)); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("a replayed assertion: %v, want invalid_client", err)
	}
}
