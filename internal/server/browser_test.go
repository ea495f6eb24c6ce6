package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/store"
)

// browser is headless Chromium, driven over the DevTools protocol: the
// device of the flows below, with a real browser's redirect handling,
// cookies and User-Agent.
type browser struct {
	ctx context.Context
}

// startBrowser starts Debian's Chromium with the flags this workplace
// needs (no sandbox as root, no GPU, no background networking) for the
// duration of the test.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	path := needTool(t, "chromium", "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel(); cancel() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{ctx: bctx}
}

// open navigates to u, follows every redirect as a browser does, and
// returns where it ended and the page's text.
func (b *browser) open(t *testing.T, u string) (location, text string) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("chromium: open: %v", err)
	}
	location, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("chromium: location: %v", err)
	}
	text, err = chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("chromium: page text: %v", err)
	}
	return location, text
}

// TestBrowserAsDevice runs the device leg of three dialects in headless
// Chromium: the CAMARA authorize redirect chain to a relying party's
// callback page (verified, not verified, and the login_required error
// redirect), KPN's session_uri (whose result then carries Chromium's
// User-Agent), and DQE's device URL. The backend steps are the Go client's.
func TestBrowserAsDevice(t *testing.T) {
	b := startBrowser(t)
	g := startGateway(t, nil)
	ctx := t.Context()

	callbacks := make(chan url.Values, 8)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" { // the browser asks for /favicon.ico too
			http.NotFound(w, r)
			return
		}
		callbacks <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>shop</title><p>back at the shop</p>")
	}))
	defer rp.Close()
	const secret = "browser-rp-secret"
	hash, salt := oauth.HashSecret(secret)
	if err := g.Server.Store().CreateClient(ctx, store.Client{
		ID: "browser-rp", SecretHash: hash, SecretSalt: salt,
		RedirectURIs: []string{rp.URL + "/callback"}, CreatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	c := &client.Camara{BaseURL: g.URL, ClientID: "browser-rp", ClientSecret: secret, RedirectURI: rp.URL + "/callback"}
	d, err := c.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("CAMARA", func(t *testing.T) {
		for _, tc := range []struct {
			number   string
			verified bool
			oauthErr string
		}{
			{"+99012345678", true, ""},
			{"+99012345677", false, ""},
			{"+99900000003", false, "login_required"}, // not identifiable: on Wi-Fi
		} {
			ar := client.NewAuthRequest("tel:"+tc.number, "number-verification:verify")
			loc, text := b.open(t, c.AuthorizeURL(d.AuthorizationEndpoint, ar))
			var q url.Values
			select {
			case q = <-callbacks:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: the browser never reached the callback (at %s)", tc.number, loc)
			}
			if !strings.HasPrefix(loc, rp.URL+"/callback?") || !strings.Contains(text, "back at the shop") {
				t.Errorf("%s: the browser ended at %s showing %q, want the callback page", tc.number, loc, text)
			}
			if strings.Contains(loc, strings.TrimPrefix(tc.number, "+")) {
				t.Errorf("%s: the redirect URL the device sees carries the number: %s", tc.number, loc)
			}
			if q.Get("state") != ar.State {
				t.Errorf("%s: state %q, want %q", tc.number, q.Get("state"), ar.State)
			}
			if tc.oauthErr != "" {
				if q.Get("error") != tc.oauthErr || q.Get("code") != "" {
					t.Errorf("%s: callback %v, want error=%s and no code", tc.number, q, tc.oauthErr)
				}
				continue
			}
			tok, err := c.Exchange(ctx, d.TokenEndpoint, q.Get("code"), ar.PKCE.Verifier)
			if err != nil {
				t.Fatalf("%s: %v", tc.number, err)
			}
			if ok, err := c.Verify(ctx, tok.AccessToken, tc.number); err != nil || ok != tc.verified {
				t.Errorf("%s: verified=%v (%v), want %v", tc.number, ok, err, tc.verified)
			}
		}
	})

	t.Run("KPN", func(t *testing.T) {
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		r := kpnPost(t, g, "/token", "", "application/x-www-form-urlencoded", url.Values{
			"client_id": {client.DemoClientID}, "client_secret": {client.DemoClientSecret}, "scopes": {"device_match"},
		}.Encode())
		if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("token: HTTP %d %s", r.status, r.body)
		}
		r = kpnPost(t, g, "/insights/99012345678", tok.AccessToken, "application/json", `{}`)
		var started struct {
			DeviceMatch struct {
				SessionURI string `json:"session_uri"`
				PollingURI string `json:"polling_uri"`
			} `json:"device_match"`
		}
		if err := json.Unmarshal(r.body, &started); err != nil || started.DeviceMatch.SessionURI == "" {
			t.Fatalf("insights: HTTP %d %s", r.status, r.body)
		}
		loc, text := b.open(t, started.DeviceMatch.SessionURI)
		if !strings.HasSuffix(loc, "/session/done") || !strings.Contains(text, `"OK"`) {
			t.Errorf("the browser ended at %s showing %q, want the session's done page", loc, text)
		}
		st, _, body := call(t, http.MethodGet, started.DeviceMatch.PollingURI, tok.AccessToken, "", nil, nil)
		var res struct {
			DeviceMatch *bool  `json:"device_match"`
			UserAgent   string `json:"user_agent"`
		}
		if err := json.Unmarshal(body, &res); err != nil || st != http.StatusOK || res.DeviceMatch == nil || !*res.DeviceMatch {
			t.Fatalf("polling: HTTP %d %s", st, body)
		}
		if !strings.Contains(res.UserAgent, "HeadlessChrome") {
			t.Errorf("user_agent %q, want the browser's", res.UserAgent)
		}
	})

	t.Run("DQE", func(t *testing.T) {
		st, _, body := call(t, http.MethodGet, g.URL+"/IDMOBILE/?"+url.Values{
			"number": {"+99012345678"}, "token": {client.DemoClientSecret}, "name": {"shop"},
			"licence": {client.DemoClientID}, "scope": {"numVerify"},
		}.Encode(), "", "", nil, nil)
		var started struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(body, &started); err != nil || started.URL == "" {
			t.Fatalf("initiate: HTTP %d %s", st, body)
		}
		if _, text := b.open(t, started.URL); strings.Contains(text, "99012345678") {
			t.Errorf("the device's page shows the number: %q", text)
		}
		st, _, body = call(t, http.MethodGet, g.URL+"/GET/?"+url.Values{
			"token": {lastSegment(started.URL)}, "Licence": {client.DemoClientID}, "scope": {"numVerify"},
		}.Encode(), "", "", nil, nil)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil || got["status"] != "success" || got["numVerify"] != true {
			t.Errorf("retrieve after the browser's visit: HTTP %d %s, want numVerify true", st, body)
		}
	})
}

// TestBrowserPlayground runs the playground page in headless Chromium: a
// developer types a virtual test number, presses Verify, and the page —
// device and relying party at once, as the demo client — shows the verdict
// of a real flow (authorize redirect, token, verify or device-phone-number),
// each step listed, and never puts the number in a URL.
func TestBrowserPlayground(t *testing.T) {
	b := startBrowser(t)
	g := startGateway(t, nil)
	for _, tc := range []struct {
		number, question, verdict string
	}{
		{"+99012345678", "verify", "verified"},
		{"+99012345677", "verify", "not verified"},
		{"+99900000003", "verify", "login_required"}, // not identifiable: on Wi-Fi
		{"+99012345678", "share", "the device's number is +99012345678"},
	} {
		t.Run(tc.question+tc.number, func(t *testing.T) {
			err := chromedp.Do(b.ctx,
				chromedp.Navigate(g.URL+"/playground"),
				chromedp.SetValue("#number", tc.number),
				chromedp.Click(`input[name=question][value=`+tc.question+`]`),
				chromedp.Click("#run"),
				chromedp.WaitVisible("#result"),
			)
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			verdict, err := chromedp.Run(b.ctx, chromedp.Poll[string](`document.getElementById("verdict").value`,
				chromedp.WithPollingTimeout(10*time.Second)))
			if err != nil {
				t.Fatalf("no verdict: %v", err)
			}
			if verdict != tc.verdict {
				t.Errorf("verdict %q, want %q", verdict, tc.verdict)
			}
			loc, err := chromedp.Run(b.ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			if loc != g.URL+"/playground/callback" {
				t.Errorf("the page ended at %s, want the callback with its code removed", loc)
			}
			steps, err := chromedp.Run(b.ctx, chromedp.Text("#steps"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"POST /authorize", "state"} {
				if !strings.Contains(steps, want) {
					t.Errorf("steps shown %q, want them to mention %q", steps, want)
				}
			}
			if tc.verdict != "login_required" && !strings.Contains(steps, "POST /token (the backend) → HTTP 200") {
				t.Errorf("steps shown %q, want the token exchange", steps)
			}
		})
	}
}

// TestBrowserPlaygroundURLsCarryNoNumber: the typed number never appears
// in a URL the playground makes the browser (the device) open, where
// history, a proxy's access log or a Referer would keep it (README,
// Privacy); it reaches /authorize in a form body instead.
func TestBrowserPlaygroundURLsCarryNoNumber(t *testing.T) {
	b := startBrowser(t)
	g := startGateway(t, nil)
	var mu sync.Mutex
	var urls []string
	chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL+e.Request.URLFragment)
			mu.Unlock()
		}
	})
	err := chromedp.Do(b.ctx,
		chromedp.Navigate(g.URL+"/playground"),
		chromedp.SetValue("#number", "+99012345678"),
		chromedp.Click(`input[name=question][value=verify]`),
		chromedp.Click("#run"),
		chromedp.WaitVisible("#result"),
	)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	verdict, err := chromedp.Run(b.ctx, chromedp.Poll[string](`document.getElementById("verdict").value`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || verdict != "verified" {
		t.Fatalf("verdict %q (%v), want verified", verdict, err)
	}
	mu.Lock()
	defer mu.Unlock()
	sawAuthorize := false
	for _, u := range urls {
		sawAuthorize = sawAuthorize || strings.Contains(u, "/authorize")
		if strings.Contains(u, "99012345678") {
			t.Errorf("the browser opened %s, which carries the number", u)
		}
	}
	if !sawAuthorize {
		t.Errorf("no request to /authorize among %q", urls)
	}
}

// TestBrowserPlaygroundIssuer runs the playground where the issuer is not
// simply http://LISTEN: another host name for the same listener (the page
// opened at the listen address sends the browser to the issuer), and an
// issuer with a path (the OAuth endpoints, the registered redirect URI and
// so the playground live under it).
func TestBrowserPlaygroundIssuer(t *testing.T) {
	b := startBrowser(t)
	for _, tc := range []struct {
		name   string
		issuer func(listen string) string
		open   func(g *gateway) string
	}{
		{"other host", func(listen string) string { return "http://localhost:" + listen[strings.LastIndex(listen, ":")+1:] },
			func(g *gateway) string { return g.URL + "/playground" }},
		{"path", func(listen string) string { return "http://" + listen + "/gw" },
			func(g *gateway) string { return g.Config.IssuerURL() + "/playground" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, func(c *config.Config) { c.Issuer = tc.issuer(c.Listen) })
			ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
			defer cancel()
			err := chromedp.Do(ctx,
				chromedp.Navigate(tc.open(g)),
				chromedp.WaitVisible("#number"),
			)
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			// The page may first move to the issuer's origin.
			if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`location.href.startsWith(`+strconv.Quote(g.Config.IssuerURL())+`)`,
				chromedp.WithPollingTimeout(10*time.Second))); err != nil {
				loc, _ := chromedp.Run(b.ctx, chromedp.Location())
				t.Fatalf("the page stayed at %s, not under the issuer %s", loc, g.Config.IssuerURL())
			}
			err = chromedp.Do(ctx,
				chromedp.WaitVisible("#number"),
				chromedp.SetValue("#number", "+99012345678"),
				chromedp.Click("#run"),
				chromedp.WaitVisible("#result"),
			)
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			verdict, err := chromedp.Run(b.ctx, chromedp.Poll[string](`document.getElementById("verdict").value`,
				chromedp.WithPollingTimeout(10*time.Second)))
			if err != nil || verdict != "verified" {
				steps, _ := chromedp.Run(b.ctx, chromedp.Text("#steps"))
				t.Errorf("verdict %q (%v), want verified; steps %q", verdict, err, steps)
			}
		})
	}
}

// TestBrowserPlaygroundForgedCallback: a link to the callback page that
// this tab's flow did not produce (an error chosen by whoever made the
// link) is not shown as a verdict.
func TestBrowserPlaygroundForgedCallback(t *testing.T) {
	b := startBrowser(t)
	g := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/playground/callback?error=verified&state=x"),
		chromedp.WaitVisible("#result"),
	)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	verdict, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("verdict").value`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(verdict, "state mismatch") {
		t.Errorf("forged callback shown as verdict %q, want a state mismatch", verdict)
	}
}
