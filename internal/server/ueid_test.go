package server_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/ueid"
)

// TestUEIDNotMountedByDefault: without ueid.token_file the lookup API does
// not exist.
func TestUEIDNotMountedByDefault(t *testing.T) {
	g := startGateway(t, nil)
	for _, op := range []string{"get-msisdn", "verify-msisdn", "retrieve"} {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/3gpp-ueid/v1/"+op, strings.NewReader(`{"afId":"x","ueIpAddr":{"ipv4Addr":"127.0.0.1"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer anything-at-all-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: HTTP %d, want 404", op, resp.StatusCode)
		}
	}
}

// TestUEIDMounted: with a credentials file the API answers from the RADIUS
// binding table, with and without a dnn, and only to a valid token.
func TestUEIDMounted(t *testing.T) {
	const token = "operator-crm-token-0123456789abcdef"
	file := filepath.Join(t.TempDir(), "ueid-tokens")
	if err := os.WriteFile(file, []byte(ueid.TokenHash(token)+" crm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := startGatewayOn(t, l, map[string]network.Identifier{"radius": cgnatTable(t)}, func(c *config.Config) {
		c.UEID.TokenFile = file
		c.Identification.Order = []string{"radius"}
	})
	post := func(op, tok, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/3gpp-ueid/v1/"+op, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	body := `{"afId":"crm","ueIpAddr":{"ipv4Addr":"198.51.100.7"},"portNumber":41234%s}`
	with := func(extra string) string { return strings.Replace(body, "%s", extra, 1) }
	if st, _ := post("get-msisdn", "", with("")); st != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d, want 401", st)
	}
	for _, extra := range []string{"", `,"dnn":"internet"`} {
		st, out := post("get-msisdn", token, with(extra))
		if st != http.StatusOK || out["gpsi"] != "msisdn-"+numberB[1:] || out["msisdn"] != numberB[1:] {
			t.Errorf("get-msisdn%s: HTTP %d %v", extra, st, out)
		}
	}
	st, out := post("verify-msisdn", token, with(`,"gpsi":"msisdn-`+numberA[1:]+`"`))
	if st != http.StatusOK || out["verified"] != false {
		t.Errorf("verify-msisdn other number: HTTP %d %v", st, out)
	}
	st, out = post("get-msisdn", token, with(`,"dnn":"ims"`))
	if st != http.StatusNotFound || out["cause"] != "CONTEXT_NOT_FOUND" {
		t.Errorf("another dnn: HTTP %d %v", st, out)
	}
	// The API's requests are counted, without numbers in any label.
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := string(raw)
	if !strings.Contains(m, `numgate_ueid_requests_total{operation="get-msisdn",result="found"} 2`) {
		t.Errorf("metrics lack the ueid counter:\n%s", grep(m, "numgate_ueid"))
	}
	if strings.Contains(m, numberA[3:]) || strings.Contains(m, numberB[3:]) {
		t.Error("a number reached the metrics")
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
