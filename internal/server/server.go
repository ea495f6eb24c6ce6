// Package server assembles the gateway from its parts: store, identifiers,
// core, OAuth server and dialects, behind one HTTP handler with the
// cross-cutting wrapper (panic recovery, access log). It is what
// `numgate serve` runs and what end-to-end tests start on loopback.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/atomicfile"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/dialect/camara"
	"github.com/numgate/numgate/internal/dialect/kpn"
	"github.com/numgate/numgate/internal/httpx"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/header"
	"github.com/numgate/numgate/internal/network/radius"
	"github.com/numgate/numgate/internal/network/static"
	"github.com/numgate/numgate/internal/network/virtual"
	"github.com/numgate/numgate/internal/notify"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/ratelimit"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/clientcache"
	"github.com/numgate/numgate/internal/store/ephemeral"
	"github.com/numgate/numgate/internal/web"
)

// Options carries what a Server needs besides its configuration.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Identifiers adds identifiers by name beyond the built-in ones (for
	// example "radius", started by the caller), usable in the policy order.
	Identifiers map[string]network.Identifier
	// ExpirySweep is how often attempts past their deadline are expired
	// and reported to their dialect; default 5 s.
	ExpirySweep time.Duration
	// Store, when set, is used instead of the store the configuration
	// names (for a program embedding the gateway, or a test); the Server
	// takes it over and closes it in Close, or when New fails.
	Store store.Store
}

// clientCacheTTL is how long a client read from the store is served from
// memory; see package clientcache.
const clientCacheTTL = 2 * time.Second

// Server is an assembled gateway.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	now     func() time.Time
	store   store.Store
	core    *core.Service
	oauth   *oauth.Server
	handler http.Handler
	metrics *prometheus.Registry
	runners []func(context.Context)
	// notifier delivers webhooks through the store's outbox.
	notifier *notify.Notifier
	// reporters report ended attempts to their dialect, by dialect name.
	reporters map[string]reporter
	// sweep is how often expireAttempts runs.
	sweep time.Duration
	// reloaders re-read the files the gateway serves from (Reload).
	reloaders []func() error
	// radius is the RADIUS accounting feed, when configured.
	radius *radius.Server
	// dataLock is held while the gateway keeps flows in memory, so that
	// no second gateway serves the same SQLite file.
	dataLock *flock.Flock
}

// New opens the store (or takes over opts.Store) and assembles the gateway.
func New(ctx context.Context, cfg config.Config, opts Options) (_ *Server, err error) {
	st := opts.Store
	defer func() {
		if err != nil && st != nil {
			st.Close()
		}
	}()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	s := &Server{cfg: cfg, log: opts.Logger, now: opts.Now, sweep: opts.ExpirySweep}
	if s.sweep <= 0 {
		s.sweep = defaultExpirySweep
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if cfg.Store.FlowsInMemory() {
		if s.dataLock, err = lockData(cfg.Data); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				s.dataLock.Unlock()
			}
		}()
	}
	if st == nil {
		if st, err = OpenStore(ctx, cfg); err != nil {
			st = nil // nothing to close, whatever the backend returned
			return nil, err
		}
	}
	if cfg.Store.FlowsInMemory() {
		// One process serves this store: the flow's codes, tokens and
		// attempts need not cost a durable write each (package ephemeral).
		st = ephemeral.New(st, ephemeral.Options{Kinds: oauth.FlowGrantKinds()})
	}
	// Every authorization and token request reads its client: cache the
	// registry briefly (changes by another process show within the TTL).
	s.store = clientcache.New(st, clientCacheTTL, nil)
	if err := s.assemble(ctx, opts); err != nil {
		if s.radius != nil {
			s.radius.Close() // its write-ahead log is open
		}
		return nil, err
	}
	return s, nil
}

// OpenStore opens the configured store backend (also used by `numgate clients`).
func OpenStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	return openStore(ctx, cfg)
}

func (s *Server) assemble(ctx context.Context, opts Options) (err error) {
	cfg := s.cfg
	key, err := loadOrCreateSecret(filepath.Join(cfg.Data, "pseudonym.key"))
	if err != nil {
		return err
	}
	pseudo, err := msisdn.NewPseudonymizer(key)
	if err != nil {
		return err
	}
	s.metrics = prometheus.NewRegistry()
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	extra := maps.Clone(opts.Identifiers)
	if cfg.Radius.Clients != "" {
		feed, err := s.startRadius()
		if err != nil {
			return err
		}
		if extra == nil {
			extra = map[string]network.Identifier{}
		}
		extra["radius"] = feed.Table()
		s.radius = feed // its socket is bound by Serve, which fails if it cannot be
	}
	ident, err := s.identifiers(extra)
	if err != nil {
		return err
	}
	perClient, perNumber, err := cfg.Limits()
	if err != nil {
		return err
	}
	var limiter core.Limiter
	if !perClient.Unlimited() || !perNumber.Unlimited() {
		limiter = ratelimit.New(ratelimit.Config{PerClient: perClient, PerNumber: perNumber, Now: s.now})
	}
	s.core, err = core.NewService(core.Config{
		Store: s.store, Identifier: ident, Pseudonymizer: pseudo,
		Lifetime: cfg.Attempts.Lifetime.D(), IdentifyTimeout: cfg.Identification.Timeout.D(),
		Now: s.now, Logger: s.log.With("component", "core"), Limiter: limiter, Registerer: s.metrics,
	})
	if err != nil {
		return err
	}
	prefixes, err := cfg.TrustedPrefixes()
	if err != nil {
		return err
	}
	resolver := httpx.NewAddrResolver(prefixes)
	conn := func(r *http.Request) network.Connection { return resolver.Connection(r, s.now()) }
	keyFile := filepath.Join(cfg.Data, KeyFile)
	keys, err := oauth.LoadOrCreateKeys(keyFile)
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	s.oauth, err = oauth.New(oauth.Config{
		Issuer: cfg.IssuerURL(), Store: s.store, Core: s.core, Keys: keys,
		Connection: conn,
		Subject:    func(number, clientID string) string { return pseudo.Pseudonym(number, "sub", clientID) },
		Now:        s.now, Logger: s.log.With("component", "oauth"),
	})
	if err != nil {
		return err
	}
	demoRedirects := []string{client.DemoRedirectURI, cfg.IssuerURL() + web.CallbackPath}
	s.reloaders = append(s.reloaders, func() error { // after `numgate keys rotate`
		k, err := oauth.LoadKeys(keyFile)
		if err != nil {
			return fmt.Errorf("signing keys: %w", err)
		}
		s.oauth.SetKeys(k)
		return nil
	})
	if cfg.DemoClientEnabled() {
		if err := s.ensureDemoClient(ctx, demoRedirects); err != nil {
			return err
		}
	} else if err := s.retireDemoClient(ctx); err != nil {
		return err
	}

	mux := http.NewServeMux()
	// A KPN prefix (or an issuer path) that lands on another part's routes
	// makes ServeMux panic: a configuration error, not a crash.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("kpn.prefix %q or the issuer's path collides with another route: %v", cfg.KPN.Prefix, v)
		}
	}()
	s.oauth.Mount(mux)
	camara.New(camara.Config{
		Tokens: tokenSource{s.oauth}, Attempts: s.core, Now: s.now, Logger: s.log.With("component", "camara"),
	}).Mount(mux)
	if err := s.mountDialects(mux, conn); err != nil {
		return err
	}
	if cfg.UEID.TokenFile != "" {
		if err := s.mountUEID(mux, ident, extra["radius"]); err != nil {
			return err
		}
	}
	if cfg.DemoClientEnabled() {
		pg := web.Config{Issuer: cfg.IssuerURL(), ClientID: client.DemoClientID, ClientSecret: client.DemoClientSecret,
			RedirectURI: demoRedirects[1], Purpose: client.DefaultPurpose}
		if slices.Contains(cfg.IdentifierOrder(), "virtual") {
			pg.Catalogue = virtual.Catalogue()
		}
		web.Mount(mux, pg)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	if err := kpnRoutesReachKPN(mux, cmp.Or(cfg.KPN.Prefix, kpn.DefaultPrefix)); err != nil {
		return err
	}
	s.handler = httpx.Recover(s.log, mux)
	s.runners = append(s.runners, s.collectGarbage)
	return nil
}

// kpnRoutesReachKPN checks that KPN's routes under prefix are KPN's: a
// more specific pattern of another part (POST /oauth2/token of Vonage's,
// POST ISSUER_PATH/token of the OAuth server's) would silently take KPN's
// requests to the wrong dialect.
func kpnRoutesReachKPN(mux *http.ServeMux, prefix string) error {
	for _, path := range []string{"/token", "/insights/x", "/session/x", "/session", "/session/done", "/polling/x", "/polling", "/x"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			r := &http.Request{Method: method, Host: "x", URL: &url.URL{Path: prefix + path}}
			if _, pattern := mux.Handler(r); !strings.HasPrefix(pattern, prefix+"/") {
				return fmt.Errorf("kpn.prefix %q: %s %s%s is routed to %q, not to the KPN dialect", prefix, method, prefix, path, pattern)
			}
		}
	}
	return nil
}

// readyTimeout bounds the store check of /readyz.
const readyTimeout = 2 * time.Second

// serveReady answers /readyz: 200 when the store answers a query, 503
// otherwise (a load balancer should then send traffic elsewhere). /healthz
// says only that the process serves HTTP.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready: the store does not answer", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("store unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// startRadius builds the RADIUS accounting feed (its Run starts with Serve).
func (s *Server) startRadius() (*radius.Server, error) {
	rc := s.cfg.Radius
	clients, err := radius.LoadClients(rc.Clients)
	if err != nil {
		return nil, err
	}
	return radius.New(radius.Config{
		Listen: rc.Listen, Clients: clients, DataDir: s.cfg.RadiusDataDir(),
		DefaultDomain: rc.DefaultDomain, IMSAPN: rc.IMSAPN, TombstoneTTL: rc.TombstoneTTL.D(),
		Logger: s.log.With("component", "radius"), Registerer: s.metrics, Now: s.now,
	})
}

// identifiers builds the identification policy from the configured order.
func (s *Server) identifiers(extra map[string]network.Identifier) (network.Identifier, error) {
	cfg := s.cfg.Identification
	var chain network.Chain
	for _, name := range s.cfg.IdentifierOrder() {
		if id, ok := extra[name]; ok {
			chain = append(chain, id)
			continue
		}
		switch name {
		case "virtual":
			chain = append(chain, virtual.New(virtual.Options{SlowDelay: cfg.VirtualSlowDelay.D()}))
		case "static":
			if cfg.StaticBindings == "" {
				continue // nothing configured: the step is skipped
			}
			st, err := static.Open(static.Options{Path: cfg.StaticBindings, Logger: s.log.With("component", "static")})
			if err != nil {
				return nil, err
			}
			s.runners = append(s.runners, func(ctx context.Context) { _ = st.Run(ctx) })
			s.reloaders = append(s.reloaders, st.Reload)
			chain = append(chain, st)
		case "header":
			if len(s.cfg.TrustedProxies) == 0 {
				continue // enrichment is only believed from trusted proxies
			}
			h, err := header.New(header.Options{Header: cfg.Header, Logger: s.log.With("component", "header")})
			if err != nil {
				return nil, err
			}
			chain = append(chain, h)
		case "radius":
			continue // present only when the RADIUS feed is started
		}
	}
	return chain, nil
}

// KeyFile is the name of the signing key file in the data directory.
const KeyFile = "signing-keys.json"

// Reload re-reads the files the gateway serves from (the static bindings,
// the signing keys) now, without waiting for a change to be noticed:
// `numgate serve` does it on SIGHUP. A file that fails keeps its previous
// contents; the errors are returned together.
func (s *Server) Reload() error {
	var errs []error
	for _, r := range s.reloaders {
		errs = append(errs, r())
	}
	return errors.Join(errs...)
}

// Handler returns the gateway's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Core returns the attempt service.
func (s *Server) Core() *core.Service { return s.core }

// Store returns the store.
func (s *Server) Store() store.Store { return s.store }

// Serve serves on l until ctx is done, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	l, err := s.listenerFor(l) // PROXY protocol from cfg.ProxyProtocol
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Far above what a browser or a backend sends (Go's default is
		// 1 MiB a request, memory any client could make the gateway hold).
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	runs := s.runners
	if s.radius != nil {
		// Bound before serving HTTP: a gateway whose RADIUS port is taken
		// must not run on, identifying nobody, with only a log line to say.
		conn, err := listenUDP(s.cfg.Radius.Listen)
		if err != nil {
			l.Close() // Serve owns the listener it was given
			return fmt.Errorf("radius: listen: %w", err)
		}
		feed := s.radius
		runs = append(slices.Clip(runs), func(ctx context.Context) {
			if err := feed.Serve(ctx, conn); err != nil {
				s.log.Error("RADIUS accounting feed stopped", "error", err)
			}
		})
	}
	// The background runners (sweeps, webhook delivery, RADIUS) end with
	// Serve: Close, which closes the store under them, comes after.
	rctx, cancel := context.WithCancel(ctx)
	var runners sync.WaitGroup
	defer func() {
		cancel()
		runners.Wait()
	}()
	for _, run := range runs {
		runners.Go(func() { run(rctx) })
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), s.shutdownGrace())
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close() // cut what is left before Close closes the store
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// maxHeaderBytes bounds a request's header block.
const maxHeaderBytes = 64 << 10

// shutdownGrace is how long Serve waits for the requests in flight once
// its context is done: 10 s, or longer when identification.timeout lets a
// request wait longer for the network (a device's authorize would otherwise
// be cut, and the store closed under it, while its answer is on the way).
func (s *Server) shutdownGrace() time.Duration {
	return max(10*time.Second, s.cfg.Identification.Timeout.D()+5*time.Second)
}

// Close releases the store (and the RADIUS feed's log, if Serve never ran
// it); call it after Serve has returned (Serve waits for its background
// work to stop).
func (s *Server) Close() error {
	if s.radius != nil {
		_ = s.radius.Close() // a no-op once the feed has served
	}
	err := s.store.Close()
	if s.dataLock != nil {
		s.dataLock.Unlock()
	}
	return err
}

// listenUDP binds the UDP address addr (HOST:PORT).
func listenUDP(addr string) (*net.UDPConn, error) {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	return net.ListenUDP("udp", a)
}

// collectGarbage deletes old records every minute (attempts past their
// deadline are expired by expireAttempts).
func (s *Server) collectGarbage(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var forgotTo time.Time // the first pass covers every deadline
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		forgotTo = s.forgetUntaken(ctx, forgotTo, s.now())
		res, err := s.store.GarbageCollect(ctx, s.now(), s.cfg.Attempts.Retain.D())
		if err != nil && ctx.Err() == nil {
			s.log.Warn("garbage collection", "error", err)
			continue
		}
		if res.Grants+res.Attempts+res.Deliveries > 0 {
			s.log.Debug("garbage collected", "grants", res.Grants, "attempts", res.Attempts, "deliveries", res.Deliveries)
		}
	}
}

// forgetDeviceNumberAfter is how long after its deadline a decided attempt
// whose result nobody took keeps the device's number: longer than any
// dialect may still need it (a CAMARA access token, at most 300 s, may be
// issued up to a code's lifetime after the deadline). The attempt itself
// stays until garbage collection (attempts.retain), without the number.
const forgetDeviceNumberAfter = 10 * time.Minute

// forgetUntaken clears the device number of decided attempts whose result
// was never taken and whose deadline is in [from, now -
// forgetDeviceNumberAfter), and returns where the next pass starts: the
// number is kept only while the flow needs it, not until the attempt is
// collected a day later. On failure the same window is tried again.
func (s *Server) forgetUntaken(ctx context.Context, from, now time.Time) time.Time {
	to := now.Add(-forgetDeviceNumberAfter)
	if !to.After(from) {
		return from
	}
	n, err := s.store.ForgetDeviceNumbers(ctx, from, to)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("forgetting untaken device numbers", "error", err)
		}
		return from
	}
	if n > 0 {
		s.log.Debug("device numbers of untaken results forgotten", "attempts", n)
	}
	return to
}

// ensureDemoClient registers the documented demo client with the redirect
// URIs given (the documented one and the playground's). A demo client
// registered earlier by the gateway itself (an earlier version, another
// issuer: the published secret, nothing but the gateway's redirect URIs) is
// registered anew; one with a secret or settings of its own (an operator's,
// by `numgate clients add`) is left alone.
func (s *Server) ensureDemoClient(ctx context.Context, redirects []string) error {
	old, err := s.store.GetClient(ctx, client.DemoClientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case !oauth.CheckSecret(old, client.DemoClientSecret):
		s.log.Warn("a client registered as the demo client's id has a secret of its own: it is kept, "+
			"and the published demo secret (numgate verify's default, the playground) will not work with it", "client", old.ID)
		return nil
	case slices.Equal(old.RedirectURIs, redirects):
		return nil
	case !gatewayMadeDemoClient(old):
		s.log.Warn("a client registered as the demo client's id has settings of its own (redirect URIs, scopes, keys): "+
			"it is kept, and the playground may not work with it", "client", old.ID)
		return nil
	default:
		if err := s.store.DeleteClient(ctx, old.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("update the demo client: %w", err)
		}
	}
	hash, salt := oauth.HashSecret(client.DemoClientSecret)
	err = s.store.CreateClient(ctx, store.Client{
		ID: client.DemoClientID, SecretHash: hash, SecretSalt: salt,
		RedirectURIs: redirects, CreatedAt: s.now().UTC(),
	})
	if errors.Is(err, store.ErrAlreadyExists) { // another replica was first
		return nil
	}
	return err
}

// gatewayMadeDemoClient reports whether c is a demo client as the gateway
// registers it: the published secret, no key set, scope restriction or ID
// token algorithm, and only the documented and playground redirect URIs.
func gatewayMadeDemoClient(c store.Client) bool {
	if !oauth.CheckSecret(c, client.DemoClientSecret) || len(c.JWKS) > 0 || len(c.Scopes) > 0 || c.IDTokenAlg != "" {
		return false
	}
	for _, u := range c.RedirectURIs {
		if u != client.DemoRedirectURI && !strings.HasSuffix(u, web.CallbackPath) {
			return false
		}
	}
	return true
}

// retireDemoClient removes the demo client when it is switched off but
// registered with its published secret — left by an earlier start in
// development, or before the development defaults required no proxies:
// anyone could use it. A client of that id with a secret of its own stays.
func (s *Server) retireDemoClient(ctx context.Context) error {
	c, err := s.store.GetClient(ctx, client.DemoClientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !oauth.CheckSecret(c, client.DemoClientSecret) {
		return nil
	}
	if err := s.store.DeleteClient(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("remove the demo client: %w", err)
	}
	s.log.Warn("demo client removed: its secret is published and the demo client is off here", "client", c.ID)
	return nil
}

// loadOrCreateSecret reads a 32-byte key file, creating it on first use.
// Replicas sharing the data directory may start together on a fresh one:
// the key is written to a temporary file and linked into place only if
// no file is there yet, so every replica ends up with the one key the file
// holds (never its own, overwritten by another's; never a half-written
// file).
func loadOrCreateSecret(path string) ([]byte, error) {
	key, err := readSecret(path)
	if !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	key = make([]byte, 32)
	_, _ = rand.Read(key)
	if err := atomicfile.CreateNew(path, key); errors.Is(err, fs.ErrExist) {
		return readSecret(path) // another replica was first
	} else if err != nil {
		return nil, err
	}
	return key, nil
}

// readSecret reads a key file of at least 32 bytes.
func readSecret(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("%s: key too short (want 32 bytes)", path)
	}
	return key, nil
}

var _ camara.TokenComparer = tokenSource{}

// tokenSource adapts the OAuth server to the CAMARA API's TokenSource (and
// its optional TokenComparer).
type tokenSource struct{ o *oauth.Server }

func (t tokenSource) Lookup(ctx context.Context, raw string) (camara.Token, error) {
	return convertToken(t.o.LookupAccessToken(ctx, raw))
}

func (t tokenSource) Consume(ctx context.Context, raw string) (camara.Token, error) {
	return convertToken(t.o.ConsumeAccessToken(ctx, raw))
}

func (t tokenSource) ConsumeAndCompare(ctx context.Context, raw string, check func(camara.Token) error, c core.Claim) (camara.Token, bool, error) {
	var checkErr error
	at, matched, err := t.o.ConsumeAccessTokenAndCompare(ctx, raw, func(at oauth.AccessToken) error {
		checkErr = check(toCamara(at))
		return checkErr
	}, c)
	switch {
	case err == nil:
		return toCamara(at), matched, nil
	case checkErr != nil && errors.Is(err, checkErr),
		errors.Is(err, core.ErrNotFound), errors.Is(err, core.ErrWrongState), errors.Is(err, core.ErrInvalidClaim):
		return camara.Token{}, false, err
	}
	_, err = convertToken(at, err)
	return camara.Token{}, false, err
}

func convertToken(at oauth.AccessToken, err error) (camara.Token, error) {
	switch {
	case errors.Is(err, oauth.ErrTokenExpired):
		return camara.Token{}, camara.ErrTokenExpired
	case errors.Is(err, oauth.ErrInvalidToken):
		return camara.Token{}, camara.ErrTokenInvalid
	case err != nil:
		return camara.Token{}, err
	}
	return toCamara(at), nil
}

func toCamara(at oauth.AccessToken) camara.Token {
	return camara.Token{ClientID: at.ClientID, AttemptID: at.AttemptID, Scopes: at.Scopes, NetworkAuthenticated: at.NetworkAuthenticated}
}
