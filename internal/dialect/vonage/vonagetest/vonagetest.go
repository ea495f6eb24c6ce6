// Package vonagetest starts a numgate gateway with the Vonage dialect on
// loopback for tests: the real core, SQLite, the virtual operator and the
// OAuth server, behind TLS. It registers Vonage applications and makes
// application JWTs the way Vonage's own libraries make them. The tests of
// the dialect and of the tutorial's backend and CLI (examples/vonage) use it.
package vonagetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
	"github.com/numgate/numgate/internal/dialect/vonage"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/ratelimit"
	"github.com/numgate/numgate/internal/store"
)

// Clock is a settable clock that runs with real time: Now is the real time
// plus an offset that Add moves forward.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Set sets the clock to t (it then runs on from there).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(t)
}

// Options tune a Gateway.
type Options struct {
	// Lifetime is an attempt's lifetime (default 2 minutes).
	Lifetime time.Duration
	// MaxJWTLifetime bounds application JWTs (default: the dialect's).
	MaxJWTLifetime time.Duration
	// PerNumber is the core's rate limit per claimed number (default: none).
	PerNumber ratelimit.Limit
}

// Gateway is a running numgate with the Vonage dialect. Its
// dialecttest.Gateway holds the URL (https://127.0.0.1:<port>), the client
// (HTTP, which trusts the gateway and does not follow redirects), the mux
// (tests may add their own routes), the store, the core and the logs.
type Gateway struct {
	*dialecttest.Gateway
	// CertPEM is the gateway's TLS certificate: clients trust it as a CA.
	CertPEM []byte
	// OAuth is the OAuth server, mounted at its issuer paths.
	OAuth *oauth.Server
	// API is the Vonage dialect, mounted at its paths.
	API *vonage.API
	// Clock is the gateway's clock.
	Clock *Clock
}

// Start starts a gateway on loopback for the duration of the test.
func Start(t testing.TB, opts Options) *Gateway {
	t.Helper()
	clk := &Clock{}
	g := dialecttest.Start(t, dialecttest.Options{
		Now: clk.Now, TLS: true, PseudonymByte: 5, Lifetime: opts.Lifetime, IdentifyTimeout: 300 * time.Millisecond,
		PerNumber: opts.PerNumber,
	})
	oa, err := oauth.New(oauth.Config{
		Issuer: g.URL, Store: g.Store, Core: g.Core, Keys: serverKeys(t), Now: clk.Now,
		Subject: func(number, clientID string) string { return g.Pseudonymizer.Pseudonym(number, "sub", clientID) },
		Logger:  g.Log.With("component", "oauth"),
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := vonage.New(vonage.Config{
		Store: g.Store, Core: g.Core, OAuth: oa, BaseURL: g.URL, Now: clk.Now,
		Logger: g.Log.With("component", "vonage"), MaxJWTLifetime: opts.MaxJWTLifetime,
	})
	if err != nil {
		t.Fatal(err)
	}
	oa.Mount(g.Mux)
	api.Mount(g.Mux)
	return &Gateway{
		Gateway: g,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.Server.Certificate().Raw}),
		OAuth:   oa, API: api, Clock: clk,
	}
}

// Application is a registered Vonage application.
type Application struct {
	// ID is the application_id.
	ID string
	// Key is the application's private key.
	Key *rsa.PrivateKey
	// KeyPEM is the private key in PKCS#8 PEM, as Vonage's dashboard hands
	// it out.
	KeyPEM []byte
	// RedirectURI is its Number Verification redirect.
	RedirectURI string
}

// Register registers an application with a fresh key (from a small pool,
// RSA key generation being slow) and its redirect URI.
func (g *Gateway) Register(t testing.TB, id, redirectURI string, scopes ...string) Application {
	t.Helper()
	key := rsaKey(t)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	g.AddClient(t, store.Client{
		ID: id, JWKS: jwks, RedirectURIs: []string{redirectURI}, Scopes: scopes, CreatedAt: g.Clock.Now().UTC(),
	}, "")
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Application{ID: id, Key: key, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), RedirectURI: redirectURI}
}

// JWT returns an application JWT as Vonage's libraries make it (Node
// @vonage/jwt, the Go SDK, Python vonage-jwt): header {"alg":"RS256",
// "typ":"JWT"}, claims application_id, iat, exp = iat + 15 min and a UUID
// jti. edit, when not nil, may change the claims and the headers first.
func (app Application) JWT(t testing.TB, now time.Time, edit func(claims map[string]any, headers map[jose.HeaderKey]any)) string {
	t.Helper()
	claims := map[string]any{
		"application_id": app.ID,
		"iat":            now.Unix(),
		"exp":            now.Add(15 * time.Minute).Unix(),
		"jti":            UUID(),
	}
	headers := map[jose.HeaderKey]any{jose.HeaderType: "JWT"}
	if edit != nil {
		edit(claims, headers)
	}
	return SignRS256(t, app.Key, claims, headers)
}

// SignRS256 signs claims with key under the given extra headers.
func SignRS256(t testing.TB, key *rsa.PrivateKey, claims map[string]any, headers map[jose.HeaderKey]any) string {
	t.Helper()
	so := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{}}
	for k, v := range headers {
		so.ExtraHeaders[k] = v
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, so)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// UUID returns a random (version 4) UUID, the jti of Vonage's libraries.
func UUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

var (
	keysMu   sync.Mutex
	keyPool  []*rsa.PrivateKey
	keyNext  int
	oauthKey *oauth.Keys
)

// rsaKey hands out keys from a pool of four, generated on first use.
func rsaKey(t testing.TB) *rsa.PrivateKey {
	keysMu.Lock()
	defer keysMu.Unlock()
	if keyPool == nil {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			keyPool = append(keyPool, k)
		}
	}
	k := keyPool[keyNext%len(keyPool)]
	keyNext++
	return k
}

// serverKeys are the OAuth server's signing keys, generated once.
func serverKeys(t testing.TB) *oauth.Keys {
	keysMu.Lock()
	defer keysMu.Unlock()
	if oauthKey == nil {
		k, err := oauth.GenerateKeys()
		if err != nil {
			t.Fatal(err)
		}
		oauthKey = k
	}
	return oauthKey
}
