package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/server"
)

// TestDQEThroughGateway proves the assembled gateway serves the DQE dialect
// on the same core and store as CAMARA: the demo client's id and secret are
// a DQE licence and token (the dialect's own tests cover its contract).
func TestDQEThroughGateway(t *testing.T) {
	g := startGateway(t, nil)
	getJSON := func(u string) map[string]any {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("%s: HTTP %d: %v", u, resp.StatusCode, err)
		}
		return m
	}
	for number, want := range map[string]bool{"+99012345678": true, "+99012345677": false} {
		start := getJSON(g.URL + "/IDMOBILE/?" + url.Values{
			"number": {number}, "token": {client.DemoClientSecret}, "name": {"shop"},
			"licence": {client.DemoClientID}, "scope": {"numVerify"},
		}.Encode())
		deviceURL, _ := start["url"].(string)
		if start["status"] != "success" || deviceURL == "" {
			t.Fatalf("initiate: %v", start)
		}
		if start["operator"] != "numgate virtual operator" { // from the operator directory
			t.Errorf("operator %v, want the virtual operator's name", start["operator"])
		}
		resp, err := http.Get(deviceURL) // the device opens its URL
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		token := lastSegment(deviceURL)
		got := getJSON(g.URL + "/GET/?" + url.Values{"token": {token}, "Licence": {client.DemoClientID}, "scope": {"numVerify"}}.Encode())
		if got["status"] != "success" || got["numVerify"] != want {
			t.Errorf("%s: retrieve %v, want numVerify %v", number, got, want)
		}
	}
}

// TestDialectConfig proves the dialects' settings reach them: a DQE
// operator switched off in the configuration answers DQE's error 16, and
// the Vonage dialect is mounted, answering in its own error shape.
func TestDialectConfig(t *testing.T) {
	g := startGateway(t, func(c *config.Config) {
		c.DQE.Operators = map[string]config.DQEOperator{"numgate virtual operator": {Unreachable: true}}
	})
	resp, err := http.Get(g.URL + "/IDMOBILE/?" + url.Values{
		"number": {"+99012345678"}, "token": {client.DemoClientSecret}, "name": {"shop"},
		"licence": {client.DemoClientID}, "scope": {"numVerify"},
	}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var dqeErr map[string]any
	err = json.NewDecoder(resp.Body).Decode(&dqeErr)
	resp.Body.Close()
	if err != nil || dqeErr["status"] != "error" || dqeErr["error_id"] != "16" {
		t.Errorf("DQE with its operator switched off: %v %v, want error_id 16", dqeErr, err)
	}

	resp, err = http.Post(g.URL+"/v0.1/network-enablement", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("Vonage without a JWT: HTTP %d %s, want 401 application/problem+json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// lastSegment is the session token at the end of a DQE device URL.
func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }

// hook is one webhook call a receiver got.
type hook struct {
	auth, key string
	body      map[string]any
}

// TestKPNThroughGateway runs KPN's notification mode through the assembled
// gateway, under the production base path: operator_lookup comes from the
// operator directory, the device's visit to session_uri makes the durable
// outbox POST the result to the receiver, and an attempt whose device never
// comes is swept to expired and notified as such.
func TestKPNThroughGateway(t *testing.T) {
	hooks := make(chan hook, 4)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h hook
		h.auth, h.key = r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key")
		if err := json.NewDecoder(r.Body).Decode(&h.body); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		hooks <- h
	}))
	defer rc.Close()
	const prefix = "/communication/kpn/numberverify"
	g := startGateway(t, func(c *config.Config) { c.KPN.Prefix = prefix })

	post := func(path, bearer, contentType, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, g.URL+prefix+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: HTTP %d %v %v", path, resp.StatusCode, m, err)
		}
		return m
	}
	tok := post("/token", "", "application/x-www-form-urlencoded", url.Values{
		"client_id": {client.DemoClientID}, "client_secret": {client.DemoClientSecret},
		"scopes": {"operator_lookup,device_match_notify"},
	}.Encode())["access_token"].(string)
	insights := func(msisdn string) map[string]any {
		return post("/insights/"+msisdn, tok, "application/json",
			`{"device_match_notify":{"notification_token":"abcd1234","notification_uri":"`+rc.URL+`/hook"}}`)
	}
	waitHook := func() hook {
		t.Helper()
		select {
		case h := <-hooks:
			return h
		case <-time.After(10 * time.Second):
			t.Fatal("no webhook within 10 s")
		}
		return hook{}
	}

	got := insights("99012345678")
	wantOp := map[string]any{"regionCode": nil, "operatorName": "numgate virtual operator", "mcc": "001", "mnc": "01"}
	if op, _ := got["operator_lookup"].(map[string]any); !reflect.DeepEqual(op, wantOp) {
		t.Errorf("operator_lookup %v, want %v", got["operator_lookup"], wantOp)
	}
	sessionURI, _ := got["device_match_notify"].(map[string]any)["session_uri"].(string)
	if !strings.HasPrefix(sessionURI, g.URL+prefix+"/session/") || strings.Contains(sessionURI, "99012345678") {
		t.Fatalf("session_uri %q", sessionURI)
	}
	select {
	case h := <-hooks:
		t.Fatalf("notified before the device came: %v", h.body)
	case <-time.After(50 * time.Millisecond):
	}
	resp, err := http.Get(sessionURI) // the device, following the 302
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := waitHook()
	if h.auth != "Bearer abcd1234" || h.key == "" || h.body["msisdn"] != "99012345678" || h.body["device_match"] != true {
		t.Errorf("webhook %+v, want the match with the notification token", h)
	}

	insights("99012345676") // this device never comes
	g.Clock.Advance(g.Config.Attempts.Lifetime.D() + time.Second)
	h = waitHook()
	errs, _ := h.body["errors"].([]any)
	if h.body["msisdn"] != "99012345676" || h.body["device_match"] != nil || len(errs) != 1 ||
		!strings.Contains(fmt.Sprint(errs[0]), "EXPIRED") {
		t.Errorf("expiry webhook %+v, want device_match null and an EXPIRED error", h)
	}
}

// TestDialectURLsWithIssuerPath: with an issuer that has a path, the OAuth
// server moves under it but the dialects stay at the root of the origin,
// so the URLs they hand out must name that root: DQE's device URL was
// ISSUER/IDMOBILE/device/…, a 404, and no device could ever be identified.
func TestDialectURLsWithIssuerPath(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.Issuer = "http://" + c.Listen + "/nv" })
	resp, err := http.Get(g.URL + "/IDMOBILE/?" + url.Values{
		"number": {"+99012345678"}, "token": {client.DemoClientSecret}, "name": {"shop"},
		"licence": {client.DemoClientID}, "scope": {"numVerify"},
	}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var start map[string]any
	err = json.NewDecoder(resp.Body).Decode(&start)
	resp.Body.Close()
	deviceURL, _ := start["url"].(string)
	if err != nil || deviceURL == "" {
		t.Fatalf("initiate: %v %v", start, err)
	}
	if want := g.URL + "/IDMOBILE/device/"; !strings.HasPrefix(deviceURL, want) {
		t.Errorf("device URL %s, want it under %s", deviceURL, want)
	}
	resp, err = http.Get(deviceURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Errorf("the device's URL %s answers 404", deviceURL)
	}
}

// TestKPNPrefixCollisions: a KPN prefix (or an issuer path) that lands on
// another part's routes is a configuration error from New. It used to be
// a ServeMux panic (kpn.prefix /IDMOBILE, /GET, /oauth2) or, worse, a
// silent misroute: with the issuer http://HOST/kpn, KPN's POST /kpn/token
// reached the OAuth server's token endpoint.
func TestKPNPrefixCollisions(t *testing.T) {
	for _, c := range []struct{ prefix, issuerPath string }{
		{"/IDMOBILE", ""}, {"/GET", ""}, {"/oauth2", ""}, {"/number-verification/v1", ""},
		{"/kpn", "/kpn"},
	} {
		t.Run(c.prefix+c.issuerPath, func(t *testing.T) {
			cfg := config.Default()
			cfg.Data = t.TempDir()
			cfg.KPN.Prefix = c.prefix
			if c.issuerPath != "" {
				cfg.Issuer = "http://" + cfg.Listen + c.issuerPath
			}
			defer func() {
				if v := recover(); v != nil {
					t.Fatalf("New panicked: %v", v)
				}
			}()
			srv, err := server.New(t.Context(), cfg, server.Options{})
			if err == nil {
				srv.Close()
				t.Fatal("New accepted a KPN prefix that collides with another route")
			}
			if !strings.Contains(err.Error(), "kpn.prefix") {
				t.Errorf("error %q does not name kpn.prefix", err)
			}
		})
	}
	// Under an issuer path of its own, or beside the playground, KPN is fine.
	for _, issuerPath := range []string{"", "/nv"} {
		cfg := config.Default()
		cfg.Data = t.TempDir()
		cfg.Issuer = "http://" + cfg.Listen + issuerPath
		srv, err := server.New(t.Context(), cfg, server.Options{})
		if err != nil {
			t.Fatalf("issuer path %q: %v", issuerPath, err)
		}
		srv.Close()
	}
}
