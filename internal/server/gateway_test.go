package server_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/dialect/dialecttest"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/server"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
)

// clock is a test clock that only moves when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

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

// gateway is a real numgate on a loopback port, with a SQLite store in a
// temporary directory and the virtual operator.
type gateway struct {
	URL    string
	Clock  *clock
	Server *server.Server
	Config config.Config
	// Stop stops the gateway and closes its store, as SIGTERM does; the
	// test's clean-up calls it too (it runs once).
	Stop func()
}

// startGateway starts a gateway; mutate may change the configuration.
func startGateway(t testing.TB, mutate func(*config.Config)) *gateway {
	t.Helper()
	return startGatewayWith(t, mutate, server.Options{})
}

// startGatewayWith starts a gateway with opts; the test's clock and expiry
// sweep replace opts' own, and its logger is used unless opts has one.
func startGatewayWith(t testing.TB, mutate func(*config.Config), opts server.Options) *gateway {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen = l.Addr().String()
	cfg.Data = t.TempDir()
	cfg.Identification.VirtualSlowDelay = config.Duration(3 * time.Second)
	cfg.Identification.Timeout = config.Duration(time.Second)
	if mutate != nil {
		mutate(&cfg)
	}
	clk := &clock{t: time.Now().UTC()}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	if opts.Logger == nil {
		opts.Logger = log
	}
	opts.Now, opts.ExpirySweep = clk.Now, 20*time.Millisecond
	srv, err := server.New(ctx, cfg, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	t.Cleanup(stop)
	return &gateway{URL: "http://" + cfg.Listen, Clock: clk, Server: srv, Config: cfg, Stop: stop}
}

// demo returns a client for the gateway's demo client.
func (g *gateway) demo() *client.Camara {
	return &client.Camara{BaseURL: g.URL, ClientID: client.DemoClientID, ClientSecret: client.DemoClientSecret, RedirectURI: client.DemoRedirectURI}
}

// token runs authorize + token as the demo client for a device whose
// claimed number is number, and returns the access token.
func (g *gateway) token(t testing.TB, number string, scopes ...string) string {
	t.Helper()
	c := g.demo()
	ctx := context.Background()
	d, err := c.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ar := client.NewAuthRequest("tel:"+number, scopes...)
	code, err := c.OpenAsDevice(ctx, c.AuthorizeURL(d.AuthorizationEndpoint, ar), ar.State)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Exchange(ctx, d.TokenEndpoint, code, ar.PKCE.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// twoLeggedToken gets a client_credentials token: valid, but not obtained
// by network-based authentication and identifying no phone number.
func (g *gateway) twoLeggedToken(t testing.TB, scopes ...string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(append([]string{client.DefaultPurpose}, scopes...), " ")}}
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client.DemoClientID, client.DemoClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("client_credentials: HTTP %d %s %v", resp.StatusCode, out.Error, err)
	}
	return out.AccessToken
}

// TestOptionsStore: a gateway given a store serves from it (a client
// registered there can run the flow) and, when New fails, closes it rather
// than leaking it.
func TestOptionsStore(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Client{ID: "embedded-rp", RedirectURIs: []string{client.DemoRedirectURI}, CreatedAt: time.Now()}
	c.SecretHash, c.SecretSalt = oauth.HashSecret("embedded-secret")
	if err := st.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	g := startGatewayWith(t, func(c *config.Config) { c.DemoClient = new(false) }, server.Options{Store: st})
	rp := &client.Camara{BaseURL: g.URL, ClientID: "embedded-rp", ClientSecret: "embedded-secret", RedirectURI: client.DemoRedirectURI}
	ctx := t.Context()
	d, err := rp.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ar := client.NewAuthRequest("tel:+99012345678", "number-verification:verify")
	code, err := rp.OpenAsDevice(ctx, rp.AuthorizeURL(d.AuthorizationEndpoint, ar), ar.State)
	if err != nil {
		t.Fatalf("authorize as the client of the given store: %v", err)
	}
	tok, err := rp.Exchange(ctx, d.TokenEndpoint, code, ar.PKCE.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := rp.Verify(ctx, tok.AccessToken, "+99012345678"); err != nil || !ok {
		t.Fatalf("verify: %v, %v; want verified", ok, err)
	}

	st2, err := sqlite.Open(t.Context(), sqlite.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	bad := config.Default()
	bad.Store.Driver = "nosuch"
	if _, err := server.New(t.Context(), bad, server.Options{Store: st2}); err == nil {
		t.Fatal("New with an invalid configuration: no error")
	}
	if _, err := st2.GetClient(t.Context(), "embedded-rp"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("store given to a failed New: GetClient = %v, want the error of a closed store", err)
	}
}

// TestPlaygroundOnlyWithDemoClient: the playground page carries the demo
// client's published secret, so it is served exactly where the demo client
// is registered, and its pages may load nothing from elsewhere.
func TestPlaygroundOnlyWithDemoClient(t *testing.T) {
	for _, demo := range []bool{true, false} {
		g := startGateway(t, func(c *config.Config) { c.DemoClient = new(demo) })
		resp, err := http.Get(g.URL + "/playground")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusNotFound
		if demo {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Errorf("demo client %v: GET /playground = %d, want %d", demo, resp.StatusCode, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); demo && !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("playground Content-Security-Policy %q", csp)
		}
		c, err := g.Server.Store().GetClient(t.Context(), client.DemoClientID)
		if demo && (err != nil || !slices.Contains(c.RedirectURIs, g.URL+"/playground/callback")) {
			t.Errorf("demo client %+v (%v): want the playground's redirect URI registered", c, err)
		}
	}
}

// TestDemoClientRedirectsUpdated: a demo client registered by an earlier
// version (without the playground's redirect URI) gets it at start; a
// client of that id with a secret of its own is left as it is.
func TestDemoClientRedirectsUpdated(t *testing.T) {
	for _, tc := range []struct {
		secret  string
		updated bool
	}{{client.DemoClientSecret, true}, {"an-operator's-own-secret", false}} {
		dir := t.TempDir()
		st, err := sqlite.Open(t.Context(), filepath.Join(dir, "numgate.db"))
		if err != nil {
			t.Fatal(err)
		}
		c := store.Client{ID: client.DemoClientID, RedirectURIs: []string{client.DemoRedirectURI}, CreatedAt: time.Now()}
		c.SecretHash, c.SecretSalt = oauth.HashSecret(tc.secret)
		if err := st.CreateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		st.Close()
		var logs dialecttest.LogBuffer
		g := startGatewayWith(t, func(c *config.Config) { c.Data = dir; c.DemoClient = new(true) },
			server.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if warned := strings.Contains(logs.String(), "has a secret of its own"); warned == tc.updated {
			t.Errorf("secret %q: warned about an own secret: %v, want %v", tc.secret, warned, !tc.updated)
		}
		got, err := g.Server.Store().GetClient(t.Context(), client.DemoClientID)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{client.DemoRedirectURI}
		if tc.updated {
			want = append(want, g.URL+"/playground/callback")
		}
		if !slices.Equal(got.RedirectURIs, want) || !oauth.CheckSecret(got, tc.secret) {
			t.Errorf("secret %q: demo client redirect URIs %v, want %v, secret kept", tc.secret, got.RedirectURIs, want)
		}
	}
}

// TestReadyz: /readyz is 200 while the store answers and 503 once it does
// not (here a store whose database goes away: its Ping fails); /healthz
// (the process serves HTTP) stays 200. That Ping fails on a closed store
// is the store's own test.
func TestReadyz(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	down := &unreachableStore{Store: st}
	g := startGatewayWith(t, nil, server.Options{Store: down})
	get := func(path string) int {
		t.Helper()
		resp, err := http.Get(g.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get("/readyz"); st != http.StatusOK {
		t.Fatalf("readyz with a working store: %d", st)
	}
	down.gone.Store(true)
	if st := get("/readyz"); st != http.StatusServiceUnavailable {
		t.Errorf("readyz with the store gone: %d, want 503", st)
	}
	if st := get("/healthz"); st != http.StatusOK {
		t.Errorf("healthz: %d, want 200", st)
	}
}

// unreachableStore is a store whose database can be made to go away: Ping
// then fails as a backend's does when its server or file is gone.
type unreachableStore struct {
	store.Store
	gone atomic.Bool
}

func (s *unreachableStore) Ping(ctx context.Context) error {
	if s.gone.Load() {
		return errors.New("database unreachable")
	}
	return s.Store.Ping(ctx)
}

// TestDemoClientOperatorSettingsKept: a client of the demo client's id that
// an operator registered with the published secret but settings of their
// own (their redirect URI, a scope restriction, a key set) is theirs: a
// start does not delete it and register the bare demo client in its place.
func TestDemoClientOperatorSettingsKept(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "numgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	c := store.Client{ID: client.DemoClientID, RedirectURIs: []string{"http://127.0.0.1:3000/callback"},
		Scopes: []string{"openid", "number-verification:verify"}, IDTokenAlg: "ES256", CreatedAt: time.Now().UTC()}
	c.SecretHash, c.SecretSalt = oauth.HashSecret(client.DemoClientSecret)
	if err := st.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	st.Close()
	g := startGateway(t, func(c *config.Config) { c.Data = dir; c.DemoClient = new(true) })
	got, err := g.Server.Store().GetClient(t.Context(), client.DemoClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.RedirectURIs, c.RedirectURIs) || !slices.Equal(got.Scopes, c.Scopes) || got.IDTokenAlg != c.IDTokenAlg {
		t.Errorf("the operator's client became %+v, want %+v kept", got, c)
	}
}

// TestServeStopsItsWorkBeforeClose: when Serve returns, its background
// work (expiry sweep, report sweep, webhook delivery, garbage collection)
// has stopped, so Close may close the store: a sweep still running on a
// closed SQLite store crashes the process.
func TestServeStopsItsWorkBeforeClose(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	watched := &closeWatch{Store: st}
	t.Cleanup(func() { // runs after the gateway's own clean-up (Serve returned, Close called)
		time.Sleep(100 * time.Millisecond)
		if n := watched.afterClose.Load(); n > 0 {
			t.Errorf("the store was used %d times after Close", n)
		}
	})
	startGatewayWith(t, nil, server.Options{Store: watched})
	time.Sleep(100 * time.Millisecond) // the sweeps and the outbox poll run meanwhile
}

// closeWatch counts calls of the background work's store methods made
// after Close.
type closeWatch struct {
	store.Store
	closed, afterClose atomic.Int64
}

// used reports a call after Close (which then fails instead of touching
// the closed database).
func (s *closeWatch) used() error {
	if s.closed.Load() > 0 {
		s.afterClose.Add(1)
		return errors.New("store used after Close")
	}
	return nil
}

func (s *closeWatch) Close() error {
	s.closed.Add(1)
	return s.Store.Close()
}

func (s *closeWatch) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	if err := s.used(); err != nil {
		return nil, err
	}
	return s.Store.ClaimDeliveries(ctx, now, lease, limit)
}

func (s *closeWatch) DueAttempts(ctx context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	if err := s.used(); err != nil {
		return nil, err
	}
	return s.Store.DueAttempts(ctx, now, limit)
}

func (s *closeWatch) DueReports(ctx context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	if err := s.used(); err != nil {
		return nil, err
	}
	return s.Store.DueReports(ctx, now, limit)
}

// TestReloadSwitchesSigningKeys: after `numgate keys rotate` and a reload
// (SIGHUP), ID tokens carry the new key's kid and the JWKS publishes the
// new keys and the previous ones.
func TestReloadSwitchesSigningKeys(t *testing.T) {
	g := startGateway(t, nil)
	idTokenKID := func() string {
		t.Helper()
		c := g.demo()
		ctx := t.Context()
		d, err := c.Discover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ar := client.NewAuthRequest("tel:+99012345678", "openid", "number-verification:verify")
		code, err := c.OpenAsDevice(ctx, c.AuthorizeURL(d.AuthorizationEndpoint, ar), ar.State)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := c.Exchange(ctx, d.TokenEndpoint, code, ar.PKCE.Verifier)
		if err != nil || tok.IDToken == "" {
			t.Fatalf("token: %+v, %v; want an ID token", tok, err)
		}
		jws, err := jose.ParseSigned(tok.IDToken, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		return jws.Signatures[0].Header.KeyID
	}
	jwks := func() []string {
		t.Helper()
		resp, err := http.Get(g.URL + "/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.KeyID)
		}
		return out
	}
	before := idTokenKID()
	k, err := oauth.RotateKeyFile(filepath.Join(g.Config.Data, server.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := idTokenKID(); got != before {
		t.Fatalf("signing with %s before the reload, want still %s", got, before)
	}
	if err := g.Server.Reload(); err != nil {
		t.Fatal(err)
	}
	rs, _ := k.SigningKIDs()
	if got := idTokenKID(); got != rs {
		t.Errorf("after the reload the ID token's kid is %s, want the new %s", got, rs)
	}
	if got := jwks(); len(got) != 4 || !slices.Contains(got, rs) || !slices.Contains(got, before) {
		t.Errorf("JWKS after the reload: %v; want the new and the previous pair", got)
	}
}

// TestHeaderBlockBounded: a request whose headers exceed 64 KiB is refused
// with 431 before any handler runs; an ordinary one is served.
func TestHeaderBlockBounded(t *testing.T) {
	g := startGateway(t, nil)
	for _, tc := range []struct {
		size int
		want int
	}{{1 << 10, http.StatusOK}, {200 << 10, http.StatusRequestHeaderFieldsTooLarge}} {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/healthz", nil)
		req.Header.Set("X-Padding", strings.Repeat("a", tc.size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%d bytes of headers: HTTP %d, want %d", tc.size, resp.StatusCode, tc.want)
		}
	}
}

// TestClientPrivateKeyJWT: the Go client authenticates with
// private_key_jwt, as CAMARA's security profile requires, with an RSA and
// with a P-256 key registered as the client's JWKS; a key the gateway does
// not know is invalid_client.
func TestClientPrivateKeyJWT(t *testing.T) {
	g := startGateway(t, nil)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: rsaKey.Public(), KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: ecKey.Public(), KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Server.Store().CreateClient(t.Context(), store.Client{
		ID: "jwt-rp", JWKS: jwks, RedirectURIs: []string{client.DemoRedirectURI}, CreatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		kid  string
		ok   bool
	}{
		{"RS256", rsaKey, "rsa-1", true},
		{"ES256", ecKey, "ec-1", true},
		{"unregistered key", other, "ec-1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &client.Camara{BaseURL: g.URL, ClientID: "jwt-rp", RedirectURI: client.DemoRedirectURI,
				SigningKey: tc.key, SigningKeyID: tc.kid}
			ok, err := c.VerifyNumber(t.Context(), "+99012345678", nil)
			var oe *client.OAuthError
			switch {
			case tc.ok && (err != nil || !ok):
				t.Errorf("verify with private_key_jwt: %v, %v; want verified", ok, err)
			case !tc.ok && (!errors.As(err, &oe) || oe.Code != "invalid_client"):
				t.Errorf("verify with an unregistered key: %v; want invalid_client", err)
			}
		})
	}
}
