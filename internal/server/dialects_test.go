package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
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
