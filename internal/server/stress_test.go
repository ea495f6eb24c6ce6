package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/dialect/vonage"
	"github.com/numgate/numgate/internal/dialect/vonage/vonagetest"
	"github.com/numgate/numgate/internal/server"
	"github.com/numgate/numgate/internal/store"
)

// The stress test drives one gateway (SQLite) or two replicas sharing one
// PostgreSQL schema with many concurrent verifications of every dialect,
// each single-use value sent twice at once (to both replicas when there
// are two), and checks every answer. It is slow under -race, so it runs
// only when NUMGATE_STRESS is set:
//
//	NUMGATE_STRESS=1 go test -race -run TestStress ./internal/server/

const (
	stressApp      = "stress-vonage-app"
	stressCallback = "https://app.example/callback"
)

// stressHTTP follows no redirects and keeps enough idle connections for
// the load.
var stressHTTP = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 512},
	Timeout:       30 * time.Second,
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return m
}

func (r resp) String() string { return fmt.Sprintf("HTTP %d %s", r.status, r.body) }

// send makes one request; hdr is name, value pairs.
func send(method, u, body string, hdr ...string) (resp, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return resp{}, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := stressHTTP.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}, err
}

// twice sends the two requests at once and returns both answers.
func twice(a, b func() (resp, error)) ([2]resp, error) {
	var out [2]resp
	var errs [2]error
	var wg sync.WaitGroup
	for i, f := range []func() (resp, error){a, b} {
		wg.Go(func() { out[i], errs[i] = f() })
	}
	wg.Wait()
	if errs[0] != nil {
		return out, errs[0]
	}
	return out, errs[1]
}

// cluster is one gateway or several replicas on one store, one clock.
type cluster struct {
	gs    []*gateway
	now   func() time.Time
	app   *rsa.PrivateKey
	hooks *hookLog
}

// pick returns replica i (mod the number of replicas).
func (c *cluster) pick(i int) *gateway { return c.gs[i%len(c.gs)] }

// hookLog records the webhooks by their bearer token.
type hookLog struct {
	mu  sync.Mutex
	got map[string][]map[string]any
	srv *httptest.Server
}

func newHookLog(t *testing.T) *hookLog {
	h := &hookLog{got: map[string][]map[string]any{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		h.mu.Lock()
		h.got[r.Header.Get("Authorization")] = append(h.got[r.Header.Get("Authorization")], m)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookLog) of(token string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got["Bearer "+token]
}

// stressSchema makes a private PostgreSQL schema and returns its DSN, or
// skips.
func stressSchema(t *testing.T) string {
	dsn := os.Getenv("NUMGATE_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		t.Skipf("PostgreSQL: %v", err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := fmt.Sprintf("stress_%x", b)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		pool.Close()
	})
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("pool_max_conns", "20")
	u.RawQuery = q.Encode()
	return u.String()
}

var stressKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// startCluster starts n replicas (n > 1 needs dsn) sharing one data
// directory and clock; mutate may change the configuration.
func startCluster(t *testing.T, n int, dsn string, now func() time.Time, mutate func(*config.Config)) *cluster {
	t.Helper()
	c := &cluster{now: now, app: stressKey(), hooks: newHookLog(t)}
	dir := t.TempDir()
	var wg sync.WaitGroup
	c.gs = make([]*gateway, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Listen = l.Addr().String()
		cfg.Data = dir
		cfg.Identification.VirtualSlowDelay = config.Duration(3 * time.Second)
		cfg.Identification.Timeout = config.Duration(time.Second)
		if dsn != "" {
			cfg.Store.Driver, cfg.Store.DSN = "postgres", dsn
		}
		if mutate != nil {
			mutate(&cfg)
		}
		ctx, cancel := context.WithCancel(context.Background())
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		// The first replica creates the keys; the others start together.
		start := func() {
			srv, err := server.New(ctx, cfg, server.Options{Logger: log, Now: c.now, ExpirySweep: 20 * time.Millisecond})
			if err != nil {
				cancel()
				t.Errorf("replica %d: %v", i, err)
				return
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, l) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
				srv.Close()
			})
			c.gs[i] = &gateway{URL: "http://" + cfg.Listen, Server: srv, Config: cfg}
		}
		if i == 0 {
			start()
		} else {
			wg.Go(start)
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &c.app.PublicKey, Use: "sig"}}})
	if err := c.gs[0].Server.Store().CreateClient(t.Context(), store.Client{
		ID: stressApp, JWKS: jwks, RedirectURIs: []string{stressCallback}, CreatedAt: c.now(),
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// appJWT is a fresh Vonage application JWT.
func (c *cluster) appJWT(t *testing.T) string {
	now := c.now()
	return vonagetest.SignRS256(t, c.app, map[string]any{
		"application_id": stressApp, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": vonagetest.UUID(),
	}, map[jose.HeaderKey]any{jose.HeaderType: "JWT"})
}

// outcome of a virtual number through each dialect.
type vnum struct {
	number string
	match  bool // verified: the number is the device's
}

var stressNumbers = []vnum{{"+99012345678", true}, {"+99012345677", false}, {"+99900000001", true}, {"+99900000002", false}}

// checker collects failures from many goroutines.
type checker struct {
	t      *testing.T
	failed atomic.Int64
}

func (ck *checker) errorf(format string, args ...any) {
	if ck.failed.Add(1) <= 30 {
		ck.t.Errorf(format, args...)
	}
}

// exactlyOne checks that of two answers to the same single-use value one
// is ok and the other is refused (not a 5xx).
func (ck *checker) exactlyOne(what string, rs [2]resp, ok func(resp) bool) (resp, bool) {
	var wins []resp
	for _, r := range rs {
		if r.status >= 500 {
			ck.errorf("%s: %v", what, r)
		}
		if ok(r) {
			wins = append(wins, r)
		}
	}
	if len(wins) != 1 {
		ck.errorf("%s: %d of 2 concurrent uses accepted: %v / %v", what, len(wins), rs[0], rs[1])
		if len(wins) == 0 {
			return resp{}, false
		}
	}
	return wins[0], true
}

func is(status int) func(resp) bool { return func(r resp) bool { return r.status == status } }

// camaraFlow: /authorize, the code exchanged twice at once, the token
// used twice at once.
func (c *cluster) camaraFlow(ck *checker, i int, n vnum) error {
	pk := client.NewPKCE()
	a, b := c.pick(i), c.pick(i+1)
	authURL := a.URL + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {client.DemoClientID}, "redirect_uri": {client.DemoRedirectURI},
		"scope": {"dpv:FraudPreventionAndDetection number-verification:verify"}, "state": {"s"},
		"code_challenge": {pk.Challenge}, "code_challenge_method": {"S256"}, "login_hint": {"tel:" + n.number},
	}.Encode()
	r, err := send("GET", authURL, "")
	if err != nil {
		return err
	}
	loc, _ := url.Parse(r.header.Get("Location"))
	code := ""
	if loc != nil {
		code = loc.Query().Get("code")
	}
	if r.status != http.StatusFound || code == "" {
		ck.errorf("camara %s: authorize %v %s", n.number, r, r.header.Get("Location"))
		return nil
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {client.DemoRedirectURI}, "code_verifier": {pk.Verifier}}.Encode()
	exch := func(g *gateway) func() (resp, error) {
		return func() (resp, error) {
			return send("POST", g.URL+"/token", form, "Content-Type", "application/x-www-form-urlencoded",
				"Authorization", "Basic "+basic(client.DemoClientID, client.DemoClientSecret))
		}
	}
	// Even flows replay the code: one exchange wins, and the replay
	// revokes its token (RFC 6749 section 4.1.2). Odd flows replay the
	// token instead.
	replayCode := i%2 == 0
	var rs [2]resp
	var err2 error
	if replayCode {
		rs, err2 = twice(exch(a), exch(b))
	} else {
		rs[0], err2 = exch(a)()
		rs[1] = resp{status: 400, body: []byte(`{"error":"invalid_grant"}`)}
	}
	if err2 != nil {
		return err2
	}
	w, ok := ck.exactlyOne("camara code "+n.number, rs, is(200))
	if !ok {
		return nil
	}
	for _, r := range rs {
		if r.status != 200 && (r.status != 400 || r.json()["error"] != "invalid_grant") {
			ck.errorf("camara replayed code: %v, want invalid_grant", r)
		}
	}
	tok, _ := w.json()["access_token"].(string)
	if replayCode {
		r, err := ver(a, tok, n)()
		if err == nil && r.status != 401 {
			ck.errorf("camara token of a replayed code: %v, want 401 (revoked)", r)
		}
		return err
	}
	rs, err = twice(ver(a, tok, n), ver(b, tok, n))
	if err != nil {
		return err
	}
	w, ok = ck.exactlyOne("camara token "+n.number, rs, is(200))
	if ok && w.json()["devicePhoneNumberVerified"] != n.match {
		ck.errorf("camara %s: %v, want verified %v", n.number, w, n.match)
	}
	for _, r := range rs {
		if r.status != 200 && r.status != 401 {
			ck.errorf("camara replayed token: %v, want 401", r)
		}
	}
	return nil
}

func ver(g *gateway, tok string, n vnum) func() (resp, error) {
	return func() (resp, error) {
		return send("POST", g.URL+"/number-verification/v2/verify", `{"phoneNumber":"`+n.number+`"}`,
			"Content-Type", "application/json", "Authorization", "Bearer "+tok)
	}
}

func basic(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}

// kpnToken gets a KPN token with the scopes.
func (c *cluster) kpnToken(scopes string) (string, error) {
	g := c.pick(0)
	r, err := send("POST", g.URL+g.Config.KPN.Prefix+"/token", url.Values{
		"client_id": {client.DemoClientID}, "client_secret": {client.DemoClientSecret}, "scopes": {scopes},
	}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if err != nil {
		return "", err
	}
	tok, _ := r.json()["access_token"].(string)
	if tok == "" {
		return "", fmt.Errorf("kpn token: %v", r)
	}
	return tok, nil
}

// kpnResult is a polling or notification body's verdict: "true", "false"
// or the errors entry.
func kpnResult(m map[string]any) string {
	if dm, ok := m["device_match"].(bool); ok {
		return fmt.Sprint(dm)
	}
	return fmt.Sprint(m["errors"])
}

const kpnPending = "[map[device_match:AVAILABLE]]"
const kpnExpired = "[map[device_match:UNAVAILABLE reason:EXPIRED]]"

// kpnPollingFlow: insights; the device opens the session twice at once
// while two polls run; then both replicas poll the same final result.
func (c *cluster) kpnPollingFlow(ck *checker, i int, n vnum, tok string) error {
	a, b := c.pick(i), c.pick(i+1)
	pre := a.Config.KPN.Prefix
	r, err := send("POST", a.URL+pre+"/insights/"+n.number[1:], `{}`, "Content-Type", "application/json", "Authorization", "Bearer "+tok)
	if err != nil {
		return err
	}
	dm, _ := r.json()["device_match"].(map[string]any)
	sess, _ := dm["session_uri"].(string)
	poll, _ := dm["polling_uri"].(string)
	if r.status != 200 || sess == "" || poll == "" {
		ck.errorf("kpn insights %s: %v", n.number, r)
		return nil
	}
	onB := func(u string) string { return strings.Replace(u, a.URL, b.URL, 1) }
	want := fmt.Sprint(n.match)
	var wg sync.WaitGroup
	for _, u := range []string{sess, onB(sess)} {
		wg.Go(func() {
			r, err := send("GET", u, "")
			if err != nil || r.status != http.StatusFound {
				ck.errorf("kpn session %s: %v %v", n.number, r, err)
			}
		})
	}
	for _, u := range []string{poll, onB(poll)} {
		wg.Go(func() {
			r, err := send("GET", u, "", "Authorization", "Bearer "+tok)
			if got := kpnResult(r.json()); err != nil || r.status != 200 || (got != kpnPending && got != want) {
				ck.errorf("kpn poll %s while the device comes: %v %v", n.number, r, err)
			}
		})
	}
	wg.Wait()
	for _, u := range []string{poll, onB(poll)} {
		r, err := send("GET", u, "", "Authorization", "Bearer "+tok)
		if err != nil {
			return err
		}
		if got := kpnResult(r.json()); r.status != 200 || got != want {
			ck.errorf("kpn poll %s after the device: %v, want %s", n.number, r, want)
		}
	}
	return nil
}

// kpnNotifyFlow: insights in notify mode; the device opens the session
// twice at once; exactly one notification comes (checked at the end).
func (c *cluster) kpnNotifyFlow(ck *checker, i int, n vnum, tok, hookToken string) error {
	a, b := c.pick(i), c.pick(i+1)
	pre := a.Config.KPN.Prefix
	r, err := send("POST", a.URL+pre+"/insights/"+n.number[1:],
		`{"device_match_notify":{"notification_token":"`+hookToken+`","notification_uri":"`+c.hooks.srv.URL+`/hook"}}`,
		"Content-Type", "application/json", "Authorization", "Bearer "+tok)
	if err != nil {
		return err
	}
	dm, _ := r.json()["device_match_notify"].(map[string]any)
	sess, _ := dm["session_uri"].(string)
	if r.status != 200 || sess == "" {
		ck.errorf("kpn notify insights %s: %v", n.number, r)
		return nil
	}
	rs, err := twice(func() (resp, error) { return send("GET", sess, "") },
		func() (resp, error) { return send("GET", strings.Replace(sess, a.URL, b.URL, 1), "") })
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.status != http.StatusFound {
			ck.errorf("kpn notify session %s: %v", n.number, r)
		}
	}
	return nil
}

// dqeFlow: initiate; the device opens its URL twice at once; the result
// is retrieved twice at once: exactly one gets it.
func (c *cluster) dqeFlow(ck *checker, i int, n vnum) error {
	a, b := c.pick(i), c.pick(i+1)
	r, err := send("GET", a.URL+"/IDMOBILE/?"+url.Values{
		"number": {n.number}, "token": {client.DemoClientSecret}, "name": {"shop"},
		"licence": {client.DemoClientID}, "scope": {"numVerify"}, "redirect_uri": {client.DemoRedirectURI},
	}.Encode(), "")
	if err != nil {
		return err
	}
	dev, _ := r.json()["url"].(string)
	if r.status != 200 || dev == "" {
		ck.errorf("dqe initiate %s: %v", n.number, r)
		return nil
	}
	rs, err := twice(func() (resp, error) { return send("GET", dev, "") },
		func() (resp, error) { return send("GET", strings.Replace(dev, a.URL, b.URL, 1), "") })
	if err != nil {
		return err
	}
	for _, r := range rs {
		loc, _ := url.Parse(r.header.Get("Location"))
		if r.status != http.StatusFound || loc == nil || loc.Query().Get("status") != "success" {
			ck.errorf("dqe device %s: %v Location %s, want status=success", n.number, r, r.header.Get("Location"))
		}
	}
	token := lastSegment(dev)
	get := func(g *gateway) func() (resp, error) {
		return func() (resp, error) {
			return send("GET", g.URL+"/GET/?"+url.Values{"token": {token}, "Licence": {client.DemoClientID}, "scope": {"numVerify"}}.Encode(), "")
		}
	}
	rs, err = twice(get(a), get(b))
	if err != nil {
		return err
	}
	w, ok := ck.exactlyOne("dqe retrieve "+n.number, rs, func(r resp) bool { return r.json()["status"] == "success" })
	if ok && w.json()["numVerify"] != n.match {
		ck.errorf("dqe %s: %v, want numVerify %v", n.number, w, n.match)
	}
	return nil
}

// vonageFlow: Network Enablement; the device opens auth_url twice at once
// (one code); the code redeemed twice at once; the token used twice at
// once.
func (c *cluster) vonageFlow(ck *checker, t *testing.T, i int, n vnum) error {
	a, b := c.pick(i), c.pick(i+1)
	body, _ := json.Marshal(map[string]any{"phone_number": n.number, "scopes": []string{vonage.ScopeVerify}, "state": "st"})
	r, err := send("POST", a.URL+vonage.PathNetworkEnablement, string(body), "Content-Type", "application/json", "Authorization", "Bearer "+c.appJWT(t))
	if err != nil {
		return err
	}
	var en struct {
		Scopes map[string]struct {
			AuthURL string `json:"auth_url"`
		} `json:"scopes"`
	}
	_ = json.Unmarshal(r.body, &en)
	auth := en.Scopes[vonage.ScopeVerify].AuthURL
	if r.status != 200 || auth == "" {
		ck.errorf("vonage enablement %s: %v", n.number, r)
		return nil
	}
	rs, err := twice(func() (resp, error) { return send("GET", auth, "") },
		func() (resp, error) { return send("GET", strings.Replace(auth, a.URL, b.URL, 1), "") })
	if err != nil {
		return err
	}
	codeOf := func(r resp) string {
		loc, _ := url.Parse(r.header.Get("Location"))
		if loc == nil {
			return ""
		}
		return loc.Query().Get("code")
	}
	w, ok := ck.exactlyOne("vonage auth_url "+n.number, rs, func(r resp) bool { return codeOf(r) != "" })
	if !ok {
		return nil
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {codeOf(w)}, "redirect_uri": {stressCallback}}.Encode()
	exch := func(g *gateway) func() (resp, error) {
		return func() (resp, error) {
			return send("POST", g.URL+vonage.PathToken, form, "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Bearer "+c.appJWT(t))
		}
	}
	replayCode := i%2 == 0
	if replayCode {
		rs, err = twice(exch(a), exch(b))
	} else {
		rs[0], err = exch(a)()
		rs[1] = resp{status: 400}
	}
	if err != nil {
		return err
	}
	w, ok = ck.exactlyOne("vonage code "+n.number, rs, is(200))
	if !ok {
		return nil
	}
	tok, _ := w.json()["access_token"].(string)
	ver := func(g *gateway) func() (resp, error) {
		return func() (resp, error) {
			return send("POST", g.URL+vonage.PathVerify, `{"phoneNumber":"`+n.number+`"}`, "Content-Type", "application/json", "Authorization", "Bearer "+tok)
		}
	}
	if replayCode {
		r, err := ver(a)()
		if err == nil && r.status != 401 {
			ck.errorf("vonage token of a replayed code: %v, want 401 (revoked)", r)
		}
		return err
	}
	rs, err = twice(ver(a), ver(b))
	if err != nil {
		return err
	}
	w, ok = ck.exactlyOne("vonage token "+n.number, rs, is(200))
	if ok && w.json()["devicePhoneNumberVerified"] != n.match {
		ck.errorf("vonage %s: %v, want verified %v", n.number, w, n.match)
	}
	return nil
}

// runStress runs workers × flows verifications, mixing the dialects.
func runStress(t *testing.T, c *cluster, workers, flows int) {
	ck := &checker{t: t}
	pollTok, err := c.kpnToken("operator_lookup,device_match")
	if err != nil {
		t.Fatal(err)
	}
	notifyTok, err := c.kpnToken("device_match_notify")
	if err != nil {
		t.Fatal(err)
	}
	type notified struct {
		token string
		want  string
	}
	var mu sync.Mutex
	var notifies []notified
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for f := range flows {
				i := w*flows + f
				n := stressNumbers[i%len(stressNumbers)]
				var err error
				switch (w + f) % 5 {
				case 0:
					err = c.camaraFlow(ck, i, n)
				case 1:
					err = c.kpnPollingFlow(ck, i, n, pollTok)
				case 2:
					hook := fmt.Sprintf("hook%06d", i)
					mu.Lock()
					notifies = append(notifies, notified{hook, fmt.Sprint(n.match)})
					mu.Unlock()
					err = c.kpnNotifyFlow(ck, i, n, notifyTok, hook)
				case 3:
					err = c.dqeFlow(ck, i, n)
				case 4:
					err = c.vonageFlow(ck, t, i, n)
				}
				if err != nil {
					ck.errorf("flow %d: transport: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for _, nt := range notifies {
		for len(c.hooks.of(nt.token)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond) // a doubled one would come now
	for _, nt := range notifies {
		got := c.hooks.of(nt.token)
		if len(got) != 1 {
			ck.errorf("notification %s: %d webhooks, want 1: %v", nt.token, len(got), got)
			continue
		}
		if r := kpnResult(got[0]); r != nt.want {
			ck.errorf("notification %s: %s, want %s", nt.token, r, nt.want)
		}
	}
}

func stressOn(t *testing.T) {
	if os.Getenv("NUMGATE_STRESS") == "" {
		t.Skip("set NUMGATE_STRESS=1")
	}
}

// runningClock is the real time plus an offset the test moves forward.
type runningClock struct{ off atomic.Int64 }

func (c *runningClock) Now() time.Time          { return time.Now().UTC().Add(time.Duration(c.off.Load())) }
func (c *runningClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// runLimits: with per_number 5/h, 20 concurrent KPN starts for one number
// on one replica admit exactly 5 (the limits are per replica).
func runLimits(t *testing.T, c *cluster) {
	tok, err := c.kpnToken("device_match")
	if err != nil {
		t.Fatal(err)
	}
	g := c.pick(0)
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r, err := send("POST", g.URL+g.Config.KPN.Prefix+"/insights/99900000001", `{}`, "Content-Type", "application/json", "Authorization", "Bearer "+tok)
			switch {
			case err != nil:
				t.Error(err)
			case r.status == 200:
				ok.Add(1)
			case r.status == 429:
				limited.Add(1)
			default:
				t.Errorf("insights under the limit: %v", r)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 || limited.Load() != 15 {
		t.Errorf("20 concurrent starts with per_number 5/h: %d admitted, %d refused; want 5 and 15", ok.Load(), limited.Load())
	}
}

// runExpiryRace: KPN attempts (polling and notify) whose device comes
// around the deadline while they are polled and swept: each device that
// came in time gets its verdict, each that did not gets EXPIRED, in the
// polls and in the one notification alike; a poll never goes back.
func runExpiryRace(t *testing.T, c *cluster, clk *runningClock, n int) {
	ck := &checker{t: t}
	pollTok, err := c.kpnToken("device_match")
	if err != nil {
		t.Fatal(err)
	}
	notifyTok, err := c.kpnToken("device_match_notify")
	if err != nil {
		t.Fatal(err)
	}
	type att struct {
		num              vnum
		sess, poll, hook string
	}
	atts := make([]att, 2*n)
	var wg sync.WaitGroup
	for i := range atts {
		wg.Go(func() {
			a := att{num: stressNumbers[i%len(stressNumbers)]}
			g := c.pick(i)
			body, tok := `{}`, pollTok
			if i%2 == 1 {
				a.hook = fmt.Sprintf("expiry%06d", i)
				body = `{"device_match_notify":{"notification_token":"` + a.hook + `","notification_uri":"` + c.hooks.srv.URL + `/hook"}}`
				tok = notifyTok
			}
			r, err := send("POST", g.URL+g.Config.KPN.Prefix+"/insights/"+a.num.number[1:], body, "Content-Type", "application/json", "Authorization", "Bearer "+tok)
			if err != nil || r.status != 200 {
				ck.errorf("insights: %v %v", r, err)
				return
			}
			m := r.json()
			if a.hook == "" {
				dm, _ := m["device_match"].(map[string]any)
				a.sess, _ = dm["session_uri"].(string)
				a.poll, _ = dm["polling_uri"].(string)
			} else {
				dm, _ := m["device_match_notify"].(map[string]any)
				a.sess, _ = dm["session_uri"].(string)
			}
			atts[i] = a
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// The deadline is 10 s away: bring it to 300 ms from now, and send
	// the devices over the next 600 ms.
	life := c.gs[0].Config.Attempts.Lifetime.D()
	clk.Advance(life - 300*time.Millisecond)
	var came, late atomic.Int64
	defer func() { t.Logf("devices in time: %d, too late: %d", came.Load(), late.Load()) }()
	for i, a := range atts {
		other := c.pick(i + 1).URL
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 600 * time.Millisecond / time.Duration(len(atts)))
			r, err := send("GET", strings.Replace(a.sess, c.pick(i).URL, other, 1), "")
			if err != nil {
				ck.errorf("session: %v", err)
				return
			}
			var want string
			switch r.status {
			case http.StatusFound:
				came.Add(1)
				want = fmt.Sprint(a.num.match)
			case http.StatusNotFound:
				late.Add(1)
				want = kpnExpired
			default:
				ck.errorf("session %d around the deadline: %v", i, r)
				return
			}
			if a.hook != "" {
				deadline := time.Now().Add(15 * time.Second)
				for len(c.hooks.of(a.hook)) == 0 && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond)
				got := c.hooks.of(a.hook)
				if len(got) != 1 || kpnResult(got[0]) != want {
					ck.errorf("attempt %d: device HTTP %d, notifications %v, want one with %s", i, r.status, got, want)
				}
				return
			}
			for _, g := range c.gs {
				p, err := send("GET", strings.Replace(a.poll, c.pick(i).URL, g.URL, 1), "", "Authorization", "Bearer "+pollTok)
				if err != nil || p.status != 200 || kpnResult(p.json()) != want {
					ck.errorf("attempt %d: device HTTP %d, then poll %v %v, want %s", i, r.status, p, err, want)
				}
			}
		})
		if a.poll != "" {
			wg.Go(func() { // a backend polling all along
				last := kpnPending
				for range 40 {
					p, err := send("GET", a.poll, "", "Authorization", "Bearer "+pollTok)
					if err != nil || p.status != 200 {
						ck.errorf("attempt %d: poll %v %v", i, p, err)
						return
					}
					got := kpnResult(p.json())
					if last != kpnPending && got != last {
						ck.errorf("attempt %d: poll went from %s to %s", i, last, got)
					}
					last = got
					time.Sleep(25 * time.Millisecond)
				}
			})
		}
	}
	wg.Wait()
}

func stressRun(t *testing.T, replicas int, dsn func(*testing.T) string) {
	for _, limits := range []string{"off", "100000/s"} {
		t.Run("limits="+limits, func(t *testing.T) {
			clk := &runningClock{}
			c := startCluster(t, replicas, dsn(t), clk.Now, func(cfg *config.Config) {
				cfg.RateLimits.PerClient, cfg.RateLimits.PerNumber = limits, limits
			})
			runStress(t, c, 50, 20)
			runExpiryRace(t, c, clk, 40)
		})
	}
	t.Run("limits=5/h", func(t *testing.T) {
		clk := &runningClock{}
		c := startCluster(t, replicas, dsn(t), clk.Now, func(cfg *config.Config) {
			cfg.RateLimits.PerClient, cfg.RateLimits.PerNumber = "off", "5/h"
		})
		runLimits(t, c)
	})
}

func TestStressSQLite(t *testing.T) {
	stressOn(t)
	stressRun(t, 1, func(*testing.T) string { return "" })
}

func TestStressPostgresReplicas(t *testing.T) {
	stressOn(t)
	stressRun(t, 2, stressSchema)
}
