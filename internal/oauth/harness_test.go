package oauth_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The test operator network: the loopback device is deviceNumber; a device
// at proxiedAddr (named by a trusted proxy's ipport: login_hint) is
// proxiedNumber. The X-Test-Outcome request header forces a failure.
const (
	deviceNumber  = "+31612345678"
	otherNumber   = "+31699999999"
	proxiedNumber = "+31687654321"
	proxiedAddr   = "10.1.2.3"

	redirectURI = "https://rp.example/callback"
	purpose     = "dpv:FraudPreventionAndDetection"
	nvScope     = "openid number-verification:verify " + purpose

	// secretOfRP needs form-urlencoding in HTTP Basic (RFC 6749 2.3.1).
	secretOfRP = "p@ss:w/rd+="
)

// Test clients.
const (
	clientSecret  = "rp-secret"  // client_secret_basic, RS256 ID tokens
	clientRSA     = "rp-rsa"     // private_key_jwt with an RSA key
	clientEC      = "rp-ec"      // private_key_jwt with a P-256 key, ES256 ID tokens
	clientPublic  = "rp-public"  // no credentials: PKCE only
	clientLimited = "rp-limited" // client_secret_post, limited scopes, ES256 ID tokens
)

var (
	keysOnce     sync.Once
	serverKeys   *oauth.Keys
	rsaClientKey *rsa.PrivateKey
	ecClientKey  *ecdsa.PrivateKey
	otherRSAKey  *rsa.PrivateKey
)

// testKeys generates the (slow) RSA keys once per test binary.
func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if serverKeys, err = oauth.GenerateKeys(); err != nil {
			panic(err)
		}
		if rsaClientKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if otherRSAKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecClientKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingStore counts what a request created, to prove that a bad request
// creates nothing.
type countingStore struct {
	store.Store
	attempts atomic.Int64
	codes    atomic.Int64
}

func (s *countingStore) CreateAttempt(ctx context.Context, a store.Attempt) error {
	s.attempts.Add(1)
	return s.Store.CreateAttempt(ctx, a)
}

func (s *countingStore) CreateAttemptWithGrant(ctx context.Context, a store.Attempt, g store.Grant) error {
	s.attempts.Add(1)
	if g.Kind == store.GrantCode {
		s.codes.Add(1)
	}
	return s.Store.CreateAttemptWithGrant(ctx, a, g)
}

func (s *countingStore) PutGrant(ctx context.Context, g store.Grant) error {
	if g.Kind == store.GrantCode {
		s.codes.Add(1)
	}
	return s.Store.PutGrant(ctx, g)
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// env is one authorization server over real loopback HTTP, with the real
// core.Service and a fake network identifier.
type env struct {
	srv      *oauth.Server
	ts       *httptest.Server
	issuer   string
	tokenURL string
	store    *countingStore
	core     *core.Service
	pseudo   *msisdn.Pseudonymizer
	clock    *clock // nil: real time
	logs     *syncBuffer

	mu      sync.Mutex
	secrets []string // codes and tokens seen, which must never be logged
}

// newEnv starts a server. With clk nil it runs on real time (as the
// relying-party libraries need).
func newEnv(t *testing.T, clk *clock, opts ...func(*oauth.Config)) *env {
	t.Helper()
	testKeys(t)
	e := &env{clock: clk, logs: &syncBuffer{}}
	e.store = &countingStore{Store: newStore(t)}
	var err error
	if e.pseudo, err = msisdn.NewPseudonymizer([]byte("0123456789abcdef0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.core, err = core.NewService(core.Config{
		Store: e.store, Identifier: network.IdentifierFunc(identify), Pseudonymizer: e.pseudo,
		Now: e.now, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	e.ts = httptest.NewServer(mux)
	e.issuer, e.tokenURL = e.ts.URL, e.ts.URL+"/token"
	cfg := oauth.Config{
		Issuer: e.issuer, Store: e.store, Core: e.core, Keys: serverKeys,
		Connection: e.connection,
		Subject:    func(n, c string) string { return e.pseudo.Pseudonym(n, c) },
		Logger:     logger,
	}
	if clk != nil {
		cfg.Now = clk.Now
	}
	for _, o := range opts {
		o(&cfg)
	}
	if e.srv, err = oauth.New(cfg); err != nil {
		t.Fatal(err)
	}
	e.srv.Mount(mux)

	t.Cleanup(func() {
		e.ts.Close() // waits for handlers, so every log line is written
		logs := e.logs.String()
		for _, n := range []string{deviceNumber, otherNumber, proxiedNumber} {
			if strings.Contains(logs, n[1:]) {
				t.Errorf("a phone number reached the log")
			}
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, s := range e.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a code or token reached the log")
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	e.registerClients(t)
	return e
}

func (e *env) now() time.Time {
	if e.clock != nil {
		return e.clock.Now()
	}
	return time.Now()
}

func (e *env) remember(secret string) {
	if secret == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, secret)
}

// connection is Config.Connection: the TCP peer; the X-Test-Trusted-Proxy
// header plays the role of a configured proxy network: "relay" is a
// device's request relayed by a trusted proxy, "requester" the proxy
// asking on its own account.
func (e *env) connection(r *http.Request) network.Connection {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	proxy := r.Header.Get("X-Test-Trusted-Proxy")
	return network.Connection{
		Addr: ap.Addr().Unmap(), Port: ap.Port(), At: e.now(), Header: r.Header.Clone(),
		FromTrustedProxy: proxy != "", TrustedRequester: proxy == "requester",
	}
}

// identify is the fake operator network.
func identify(_ context.Context, c network.Connection) (network.Identity, error) {
	switch c.Header.Get("X-Test-Outcome") {
	case "wifi":
		return network.Identity{}, network.ErrNotIdentifiable
	case "down":
		return network.Identity{}, network.ErrUnavailable
	case "ineligible":
		return network.Identity{}, network.ErrNotEligible
	case "optout":
		return network.Identity{}, network.ErrConsentDeclined
	case "invalid":
		return network.Identity{}, network.ErrInvalidNumber
	}
	switch {
	case c.Addr == netip.MustParseAddr(proxiedAddr):
		return network.Identity{Number: proxiedNumber, Source: "test"}, nil
	case c.Addr.IsLoopback():
		return network.Identity{Number: deviceNumber, Source: "test"}, nil
	}
	return network.Identity{}, network.ErrNotIdentifiable
}

func jwksOf(t *testing.T, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) registerClients(t *testing.T) {
	t.Helper()
	hash, salt := oauth.HashSecret(secretOfRP)
	clients := []store.Client{
		{ID: clientSecret, SecretHash: hash, SecretSalt: salt, RedirectURIs: []string{redirectURI, "https://rp.example/cb?tenant=7"}},
		{ID: clientRSA, JWKS: jwksOf(t, jose.JSONWebKey{Key: rsaClientKey.Public(), KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"}), RedirectURIs: []string{redirectURI}},
		{ID: clientEC, JWKS: jwksOf(t, jose.JSONWebKey{Key: ecClientKey.Public(), KeyID: "ec-1", Use: "sig"}), RedirectURIs: []string{redirectURI}, IDTokenAlg: "ES256"},
		{ID: clientPublic, RedirectURIs: []string{redirectURI}},
		{ID: clientLimited, SecretHash: hash, SecretSalt: salt, RedirectURIs: []string{redirectURI}, IDTokenAlg: "ES256",
			Scopes: []string{"openid", oauth.ScopeNumberVerify, purpose}},
	}
	for _, c := range clients {
		if err := oauth.ValidateClient(c); err != nil {
			t.Fatalf("client %s: %v", c.ID, err)
		}
		if err := e.store.CreateClient(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
}

// device is the phone's browser: it does not follow redirects, so that the
// test sees where numgate sends it.
func device() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// authQuery is a valid authorization request for a client, with PKCE.
func authQuery(clientID string) (q url.Values, verifier string) {
	verifier = randid.Secret() + "-._~"
	q = url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {nvScope},
		"state":                 {"state-1"},
		"nonce":                 {"nonce-1"},
		"code_challenge":        {challengeOf(verifier)},
		"code_challenge_method": {"S256"},
	}
	return q, verifier
}

// authorize sends the device to /authorize with a query and headers.
func (e *env) authorize(t *testing.T, q url.Values, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.issuer+"/authorize?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := device().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// redirected returns the parameters of a redirect back to redirectURI.
func (e *env) redirected(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		body := new(bytes.Buffer)
		_, _ = body.ReadFrom(resp.Body)
		t.Fatalf("status %d, want 302; body %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %s, want %s", got, redirectURI)
	}
	v := loc.Query()
	if v.Get("iss") != e.issuer {
		t.Errorf("iss = %q, want %q (RFC 9207)", v.Get("iss"), e.issuer)
	}
	e.remember(v.Get("code"))
	return v
}

// code runs a successful authorization for a client and returns the code
// and the PKCE verifier.
func (e *env) code(t *testing.T, clientID string) (code, verifier string) {
	t.Helper()
	q, verifier := authQuery(clientID)
	v := e.redirected(t, e.authorize(t, q, nil))
	if v.Get("code") == "" {
		t.Fatalf("no code: %v", v)
	}
	return v.Get("code"), verifier
}

// tokenReq is a token endpoint request.
type tokenReq struct {
	form        url.Values
	basic       *[2]string // client_id, secret, sent form-urlencoded as RFC 6749 2.3.1 says
	rawAuth     string     // an Authorization header as is
	contentType string     // default application/x-www-form-urlencoded
}

type tokenResult struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r tokenResult) str(k string) string { s, _ := r.json[k].(string); return s }

func (e *env) token(t *testing.T, req tokenReq) tokenResult {
	t.Helper()
	hr, err := http.NewRequest(http.MethodPost, e.tokenURL, strings.NewReader(req.form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	ct := req.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	hr.Header.Set("Content-Type", ct)
	if req.basic != nil {
		hr.SetBasicAuth(url.QueryEscape(req.basic[0]), url.QueryEscape(req.basic[1]))
	}
	if req.rawAuth != "" {
		hr.Header.Set("Authorization", req.rawAuth)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	res := tokenResult{status: resp.StatusCode, header: resp.Header, body: body.Bytes()}
	if err := json.Unmarshal(res.body, &res.json); err != nil {
		t.Fatalf("token response is not JSON: %v: %s", err, res.body)
	}
	e.remember(res.str("access_token"))
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if p := resp.Header.Get("Pragma"); p != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", p)
	}
	return res
}

// codeRequest is a valid token request redeeming code for a client, with
// the client's own authentication method.
func (e *env) codeRequest(t *testing.T, clientID, code, verifier string) tokenReq {
	t.Helper()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}
	req := tokenReq{form: form}
	switch clientID {
	case clientSecret:
		req.basic = &[2]string{clientSecret, secretOfRP}
	case clientLimited:
		form.Set("client_id", clientLimited)
		form.Set("client_secret", secretOfRP)
	case clientRSA, clientEC:
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", e.assertion(t, clientID))
	case clientPublic:
		form.Set("client_id", clientPublic)
	default:
		t.Fatalf("no credentials for %s", clientID)
	}
	return req
}

// claims are client assertion claims; mods change them before signing.
type claims map[string]any

// assertion signs a valid client assertion for clientRSA (RS256) or
// clientEC (ES256), changed by mods.
func (e *env) assertion(t *testing.T, clientID string, mods ...func(claims)) string {
	t.Helper()
	now := e.now()
	c := claims{
		"iss": clientID, "sub": clientID, "aud": e.tokenURL,
		"iat": now.Unix(), "exp": now.Add(60 * time.Second).Unix(), "jti": randid.ID(),
	}
	for _, m := range mods {
		m(c)
	}
	switch clientID {
	case clientEC:
		return sign(t, jose.ES256, ecClientKey, "ec-1", c)
	default:
		return sign(t, jose.RS256, rsaClientKey, "rsa-1", c)
	}
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c claims) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(map[string]any(c)).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/oauth -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if intended):\n got: %s\nwant: %s", path, got, want)
	}
}

// challengeOf is the S256 code_challenge of a verifier.
func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
