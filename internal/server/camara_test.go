package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/msisdn"
)

// call sends one CAMARA request and returns status, headers and body.
func call(t testing.TB, method, url, token, contentType string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

type errorInfo struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// TestVerifyBadInput sends each malformed request with a valid token, checks
// the documented error, and then proves nothing changed: the same token
// still verifies.
func TestVerifyBadInput(t *testing.T) {
	g := startGateway(t, nil)
	spec := loadSpec(t, "number-verification-v2.1.0.yaml")
	url := g.URL + "/number-verification/v2/verify"
	cases := []struct {
		name        string
		contentType string
		body        string
		hdr         map[string]string
		status      int
		code        string
	}{
		{"malformed JSON", "application/json", `{"phoneNumber": `, nil, 400, "INVALID_ARGUMENT"},
		{"not an object", "application/json", `["+99012345678"]`, nil, 400, "INVALID_ARGUMENT"},
		{"no body", "application/json", ``, nil, 400, "INVALID_ARGUMENT"},
		{"empty object", "application/json", `{}`, nil, 400, "INVALID_ARGUMENT"},
		{"both fields", "application/json", `{"phoneNumber":"+99012345678","hashedPhoneNumber":"` + msisdn.Hash("+99012345678") + `"}`, nil, 400, "INVALID_ARGUMENT"},
		{"unknown field only", "application/json", `{"msisdn":"+99012345678"}`, nil, 400, "INVALID_ARGUMENT"},
		{"extra field", "application/json", `{"phoneNumber":"+99012345678","x":1}`, nil, 400, "INVALID_ARGUMENT"},
		{"number without plus", "application/json", `{"phoneNumber":"99012345678"}`, nil, 400, "INVALID_ARGUMENT"},
		{"number too long", "application/json", `{"phoneNumber":"+1234567890123456"}`, nil, 400, "INVALID_ARGUMENT"},
		{"number not a string", "application/json", `{"phoneNumber":99012345678}`, nil, 400, "INVALID_ARGUMENT"},
		{"hash too short", "application/json", `{"hashedPhoneNumber":"abc"}`, nil, 400, "INVALID_ARGUMENT"},
		{"hash not hex", "application/json", `{"hashedPhoneNumber":"` + strings.Repeat("z", 64) + `"}`, nil, 400, "INVALID_ARGUMENT"},
		{"wrong content type", "text/plain", `{"phoneNumber":"+99012345678"}`, nil, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"bad x-correlator", "application/json", `{"phoneNumber":"+99012345678"}`, map[string]string{"x-correlator": "bad correlator with spaces"}, 400, "INVALID_ARGUMENT"},
	}
	tok := g.token(t, "+99012345678", "number-verification:verify")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			status, _, raw := call(t, http.MethodPost, url, tok, c.contentType, body, c.hdr)
			var e errorInfo
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("body %s: %v", raw, err)
			}
			if status != c.status || e.Status != c.status || e.Code != c.code || e.Message == "" {
				t.Fatalf("got %d %+v, want %d %s", status, e, c.status, c.code)
			}
			if strings.Contains(string(raw), "99012345678") {
				t.Errorf("error body echoes the phone number: %s", raw)
			}
			if c.status != 415 {
				req, _ := http.NewRequest(http.MethodPost, url, nil)
				if err := validateResponse(spec, http.MethodPost, "/verify", req, status, http.Header{"Content-Type": {"application/json"}}, raw); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// Nothing changed: the token is still good, once.
	status, _, raw := call(t, http.MethodPost, url, tok, "application/json", []byte(`{"phoneNumber":"+99012345678"}`), nil)
	if status != 200 || !bytes.Contains(raw, []byte(`"devicePhoneNumberVerified":true`)) {
		t.Fatalf("after bad requests the token should still verify: %d %s", status, raw)
	}
}

// TestTokenIsSingleUse: an NV access token answers once.
func TestTokenIsSingleUse(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token(t, "+99012345678", "number-verification:verify", "number-verification:device-phone-number:read")
	url := g.URL + "/number-verification/v2/verify"
	body := []byte(`{"phoneNumber":"+99012345678"}`)
	if status, _, raw := call(t, http.MethodPost, url, tok, "application/json", body, nil); status != 200 {
		t.Fatalf("first use: %d %s", status, raw)
	}
	for _, try := range []struct{ method, path string }{{http.MethodPost, "/verify"}, {http.MethodGet, "/device-phone-number"}} {
		var b []byte
		if try.method == http.MethodPost {
			b = body
		}
		status, _, raw := call(t, try.method, g.URL+"/number-verification/v2"+try.path, tok, "application/json", b, nil)
		var e errorInfo
		_ = json.Unmarshal(raw, &e)
		if status != 401 || e.Code != "UNAUTHENTICATED" {
			t.Errorf("replay on %s: %d %s", try.path, status, raw)
		}
	}
}

// TestVirtualOutcomesThroughCAMARA drives the virtual operator's
// conventions through the whole flow.
func TestVirtualOutcomesThroughCAMARA(t *testing.T) {
	g := startGateway(t, nil)
	ctx := context.Background()
	cases := []struct {
		number   string
		verified bool
	}{
		{"+99012345678", true},  // Vonage/tru.ID: even → verified
		{"+99012345677", false}, // odd → not verified
		{"+34600000001", true},  // Telefónica mock: ending 1 → true
		{"+34600000002", false}, // ending 2 → false
	}
	for _, c := range cases {
		t.Run(c.number, func(t *testing.T) {
			ok, err := g.demo().VerifyNumber(ctx, c.number, nil)
			if err != nil || ok != c.verified {
				t.Fatalf("VerifyNumber = %v, %v; want %v", ok, err, c.verified)
			}
		})
	}
	t.Run("+99011111199 error", func(t *testing.T) {
		_, err := g.demo().VerifyNumber(ctx, "+99011111199", nil)
		if err == nil || !strings.Contains(err.Error(), "temporarily_unavailable") {
			t.Fatalf("want temporarily_unavailable, got %v", err)
		}
	})
}

// TestV1VerifyHasAssessedAt checks the v1 dialect of seed 001 and its
// definition.
func TestV1VerifyHasAssessedAt(t *testing.T) {
	g := startGateway(t, nil)
	spec := loadSpec(t, "number-verification-v1.0.0.yaml")
	tok := g.token(t, "+99012345678", "number-verification:verify")
	url := g.URL + "/number-verification/v1/verify"
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	status, hdr, raw := call(t, http.MethodPost, url, tok, "application/json", []byte(`{"phoneNumber":"+99012345678"}`), map[string]string{"x-correlation-id": "b4333c46-49c0-4f62-80d7-f0ef930f1c46"})
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	if err := validateResponse(spec, http.MethodPost, "/verify", req, status, hdr, raw); err != nil {
		t.Error(err)
	}
	var out struct {
		Verified   *bool  `json:"devicePhoneNumberVerified"`
		AssessedAt string `json:"assessedAt"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Verified == nil || !*out.Verified {
		t.Fatalf("body %s", raw)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(out.AssessedAt) {
		t.Errorf("assessedAt %q is not an RFC 3339 UTC time", out.AssessedAt)
	}
	if hdr.Get("x-correlation-id") != "b4333c46-49c0-4f62-80d7-f0ef930f1c46" {
		t.Errorf("x-correlation-id not echoed: %q", hdr.Get("x-correlation-id"))
	}
}
