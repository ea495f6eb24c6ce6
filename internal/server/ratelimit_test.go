package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
)

// TestRateLimitsThroughGateway proves rate_limits.per_number reaches every
// dialect, and that each refuses in its own shape once a number has used
// its attempts (CAMARA's device-facing /authorize per device network, the
// backends' routes per number): CAMARA's authorize redirects temporarily_unavailable, KPN
// answers 429 with error_code 429, DQE answers HTTP 429 with error_id 01;
// each with Retry-After where the dialect has a response of its own. The
// refusals store nothing, another number is unaffected, and the number is
// served again once its bucket refills.
func TestRateLimitsThroughGateway(t *testing.T) {
	const limited, other = "+99012345678", "+99012345676"
	g := startGateway(t, func(c *config.Config) { c.RateLimits.PerNumber = "2/h" })
	for range 2 {
		if ok, oauthErr := flowVia(t, g, nil, "", limited); !ok {
			t.Fatalf("an attempt under the limit: verified=%v %s", ok, oauthErr)
		}
	}
	if ok, oauthErr := flowVia(t, g, nil, "", limited); ok || oauthErr != "temporarily_unavailable" {
		t.Errorf("CAMARA over the limit: verified=%v error %q, want temporarily_unavailable", ok, oauthErr)
	}

	kpnToken := kpnPost(t, g, "/token", "", "application/x-www-form-urlencoded", url.Values{
		"client_id": {client.DemoClientID}, "client_secret": {client.DemoClientSecret}, "scopes": {"device_match"},
	}.Encode())
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(kpnToken.body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("KPN token: HTTP %d %s", kpnToken.status, kpnToken.body)
	}
	// CAMARA's /authorize counted this device's starts; the backends'
	// routes count the number's starts from every backend: two more.
	insights := func() reply {
		return kpnPost(t, g, "/insights/"+strings.TrimPrefix(limited, "+"), tok.AccessToken, "application/json", `{}`)
	}
	for range 2 {
		if r := insights(); r.status != http.StatusOK {
			t.Fatalf("KPN under the backends' limit: HTTP %d %s", r.status, r.body)
		}
	}
	open := openAttempts(t, g)
	kpn := insights()
	if kpn.status != http.StatusTooManyRequests || !strings.Contains(string(kpn.body), `"error_code":429`) || !retryAfterSet(kpn.header) {
		t.Errorf("KPN over the limit: HTTP %d %s Retry-After %q, want 429 with error_code 429", kpn.status, kpn.body, kpn.header.Get("Retry-After"))
	}

	resp, err := http.Get(g.URL + "/IDMOBILE/?" + url.Values{
		"number": {limited}, "token": {client.DemoClientSecret}, "name": {"shop"},
		"licence": {client.DemoClientID}, "scope": {"numVerify"},
	}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var dqe map[string]any
	err = json.NewDecoder(resp.Body).Decode(&dqe)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || dqe["status"] != "error" || dqe["error_id"] != "01" || !retryAfterSet(resp.Header) {
		t.Errorf("DQE over the limit: HTTP %d %v %v, want 429 with error_id 01", resp.StatusCode, dqe, err)
	}

	_, _, metrics := call(t, http.MethodGet, g.URL+"/metrics", "", "", nil, nil)
	for _, want := range []string{
		`numgate_attempts_refused_total{dialect="camara",limit="number"} 1`,
		`numgate_attempts_refused_total{dialect="kpn",limit="number"} 1`,
		`numgate_attempts_refused_total{dialect="dqe",limit="number"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if got := openAttempts(t, g); got != open {
		t.Errorf("%d open attempts after the refusals, want %d: a refusal stored something", got, open)
	}
	if ok, oauthErr := flowVia(t, g, nil, "", other); !ok {
		t.Errorf("another number: verified=%v %s, want its own bucket", ok, oauthErr)
	}
	g.Clock.Advance(30 * time.Minute) // 2/h refills one attempt each half hour
	if ok, oauthErr := flowVia(t, g, nil, "", limited); !ok {
		t.Errorf("after the refill: verified=%v %s", ok, oauthErr)
	}
}

// retryAfterSet reports whether h carries a Retry-After of whole seconds.
func retryAfterSet(h http.Header) bool {
	s, err := strconv.Atoi(h.Get("Retry-After"))
	return err == nil && s >= 1
}

// reply is an HTTP answer, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// kpnPost sends a POST to the KPN dialect's path.
func kpnPost(t *testing.T, g *gateway, path, bearer, contentType, body string) reply {
	t.Helper()
	st, h, b := call(t, http.MethodPost, g.URL+g.Config.KPN.Prefix+path, bearer, contentType, []byte(body), nil)
	return reply{st, h, b}
}

// openAttempts counts the gateway's undecided attempts.
func openAttempts(t *testing.T, g *gateway) int {
	t.Helper()
	due, err := g.Server.Store().DueAttempts(t.Context(), g.Clock.Now().Add(24*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(due)
}
