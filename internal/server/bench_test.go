package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/cputime"
	"github.com/numgate/numgate/internal/server"
)

// The full-flow benchmarks: each iteration is one verification, three HTTP
// round trips over loopback (device GET /authorize, backend POST /token,
// backend POST /verify), with keep-alive connections as a real backend and
// device would hold. BenchmarkBaseline makes the same three round trips to a
// bare net/http server, in the same run, so the ratio is meaningful on a
// noisy machine. Each also reports cpu-ns/op, the CPU time of the whole
// process (client, server and background work) per verification, which
// waiting for a CPU on a shared machine does not inflate. See the README
// for figures and the command.

func BenchmarkFlow(b *testing.B) {
	benchFlow(b, "dpv:FraudPreventionAndDetection number-verification:verify")
}

// BenchmarkFlowOpenID adds the openid scope: an RS256-signed ID token per
// verification.
func BenchmarkFlowOpenID(b *testing.B) {
	benchFlow(b, "openid dpv:FraudPreventionAndDetection number-verification:verify")
}

// BenchmarkFlowDurable is BenchmarkFlow with store.flows durable: the
// code, the token and the attempt in the SQLite file, three durable
// commits per verification, as with PostgreSQL (and as numgate did before
// flows were kept in memory).
func BenchmarkFlowDurable(b *testing.B) {
	benchFlowWith(b, "dpv:FraudPreventionAndDetection number-verification:verify",
		func(c *config.Config) { c.Store.Flows = config.FlowsDurable })
}

func benchFlow(b *testing.B, scope string) { benchFlowWith(b, scope, nil) }

func benchFlowWith(b *testing.B, scope string, mutate func(*config.Config)) {
	g := startGatewayWith(b, mutate, server.Options{})
	hc := noRedirects()
	pk := client.NewPKCE()
	authURL := g.URL + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {client.DemoClientID}, "redirect_uri": {client.DemoRedirectURI},
		"scope": {scope}, "state": {"s"}, "code_challenge": {pk.Challenge}, "code_challenge_method": {"S256"},
		"login_hint": {"tel:+99012345678"},
	}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		code := authorizeOnce(b, hc, authURL)
		tok := tokenOnce(b, hc, g.URL+"/token", code, pk.Verifier)
		if !verifyOnce(b, hc, g.URL+"/number-verification/v2/verify", tok) {
			b.Fatal("not verified")
		}
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkFlowParallel is BenchmarkFlow under concurrent load: 8
// verifications in flight per CPU, as a gateway serving many devices at
// once sees them (the store's single SQLite writer serialises their
// writes). Compare with BenchmarkBaselineParallel.
func BenchmarkFlowParallel(b *testing.B) {
	g := startGateway(b, nil)
	pk := client.NewPKCE()
	authURL := g.URL + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {client.DemoClientID}, "redirect_uri": {client.DemoRedirectURI},
		"scope": {"dpv:FraudPreventionAndDetection number-verification:verify"}, "state": {"s"},
		"code_challenge": {pk.Challenge}, "code_challenge_method": {"S256"}, "login_hint": {"tel:+99012345678"},
	}.Encode()
	benchParallel(b, func(hc *http.Client) {
		code := authorizeOnce(b, hc, authURL)
		tok := tokenOnce(b, hc, g.URL+"/token", code, pk.Verifier)
		if !verifyOnce(b, hc, g.URL+"/number-verification/v2/verify", tok) {
			b.Error("not verified")
		}
	})
}

// BenchmarkBaselineParallel is BenchmarkBaseline under the same concurrent
// load as BenchmarkFlowParallel.
func BenchmarkBaselineParallel(b *testing.B) {
	srv := httptest.NewServer(baselineMux())
	defer srv.Close()
	authURL := srv.URL + "/authorize?state=s&client_id=x"
	benchParallel(b, func(hc *http.Client) {
		code := authorizeOnce(b, hc, authURL)
		tok := tokenOnce(b, hc, srv.URL+"/token", code, "v")
		if !verifyOnce(b, hc, srv.URL+"/verify", tok) {
			b.Error("not verified")
		}
	})
}

// benchParallel runs one verification per iteration from 8 goroutines per
// CPU, each with its own keep-alive connections.
func benchParallel(b *testing.B, verification func(*http.Client)) {
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	cpu0 := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		hc := noRedirects()
		hc.Transport = &http.Transport{MaxIdleConnsPerHost: 4}
		for pb.Next() {
			verification(hc)
		}
	})
	reportCPU(b, cpu0)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkBaseline: the same three round trips to handlers that do only
// what HTTP and JSON require.
func BenchmarkBaseline(b *testing.B) {
	srv := httptest.NewServer(baselineMux())
	defer srv.Close()
	hc := noRedirects()
	authURL := srv.URL + "/authorize?state=s&client_id=x"
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		code := authorizeOnce(b, hc, authURL)
		tok := tokenOnce(b, hc, srv.URL+"/token", code, "v")
		if !verifyOnce(b, hc, srv.URL+"/verify", tok) {
			b.Fatal("not verified")
		}
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// baselineMux answers the flow's three requests doing only what HTTP and
// JSON require.
func baselineMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, client.DemoRedirectURI+"?code=c&state="+url.QueryEscape(r.URL.Query().Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "t", "token_type": "Bearer", "expires_in": 300})
	})
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]string
		_ = json.NewDecoder(r.Body).Decode(&v)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]bool{"devicePhoneNumberVerified": true})
	})
	return mux
}

// reportCPU reports the process's CPU time per iteration since cpu0, when
// the platform tells it.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if d := cputime.Process() - cpu0; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func authorizeOnce(b *testing.B, hc *http.Client, u string) string {
	resp, err := hc.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		b.Fatalf("authorize: %d without Location", resp.StatusCode)
	}
	code := loc.Query().Get("code")
	if code == "" {
		b.Fatalf("authorize: %s", loc)
	}
	return code
}

func tokenOnce(b *testing.B, hc *http.Client, u, code, verifier string) string {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {client.DemoRedirectURI}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client.DemoClientID, client.DemoClientSecret)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.AccessToken == "" {
		b.Fatalf("token: HTTP %d %v", resp.StatusCode, err)
	}
	return t.AccessToken
}

func verifyOnce(b *testing.B, hc *http.Client, u, tok string) bool {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(`{"phoneNumber":"+99012345678"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Verified bool `json:"devicePhoneNumberVerified"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		b.Fatalf("verify: HTTP %d %v", resp.StatusCode, err)
	}
	return v.Verified
}
