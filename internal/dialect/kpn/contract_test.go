package kpn_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
)

// sameAsSeed checks a 200 JSON body byte for byte (keys, order, values,
// nulls) against a seed example, after replacing each of masks' keys in
// the body with its value (the seed's masked or random values).
func sameAsSeed(t *testing.T, r reply, name string, masks ...string) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Errorf("HTTP %d, want 200: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	got := bytes.TrimSpace(r.Body)
	for i := 0; i+1 < len(masks); i += 2 {
		if !bytes.Contains(got, []byte(masks[i])) {
			t.Errorf("the body lacks %s: %s", masks[i], got)
		}
		got = bytes.Replace(got, []byte(masks[i]), []byte(masks[i+1]), 1)
	}
	if want := dialecttest.SeedBody(t, name); !bytes.Equal(got, want) {
		t.Errorf("body differs from the seed's example %s:\ngot  %s\nwant %s", name, got, want)
	}
}

var (
	idPattern         = `[A-Za-z0-9_-]{43}`
	sessionURIPattern = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/kpn/session/` + idPattern + `$`)
	pollingURIPattern = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/kpn/polling/` + idPattern + `$`)
)

// TestContractToken sends the seed's two token requests byte for byte and
// compares the answer with the seed's example.
func TestContractToken(t *testing.T) {
	h := newHarness(t, nil)
	for _, scopes := range []string{"operator_lookup,device_match", "operator_lookup,device_match_notify"} {
		t.Run(scopes, func(t *testing.T) {
			// curl -d 'client_id=your_client_id&client_secret=your_client_secret&scopes=…'
			r := h.postForm("/kpn/token", "client_id="+clientID+"&client_secret="+clientSecret+"&scopes="+scopes)
			tok, _ := r.JSON(t)["access_token"].(string)
			if len(tok) != 43 {
				t.Fatalf("access_token %q", tok)
			}
			sameAsSeed(t, r, "token_response.json", `"`+tok+`"`, `"ewuriwerewrew"`)
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
		})
	}
}

// TestContractInsights sends the seed's two insights bodies and compares
// the answers with the seed's examples.
func TestContractInsights(t *testing.T) {
	h := newHarness(t, nil)

	t.Run("polling", func(t *testing.T) {
		tok := h.token("operator_lookup,device_match")
		r := h.insights(tok, ownNumber, string(dialecttest.SeedBody(t, "insights_request_polling.json")))
		s, p := h.pollingURIs(t, r)
		sameAsSeed(t, r, "insights_response_polling.json",
			s, "http://server/v1/dm/session/e46714d908600d8cf9f3abbf9f4056ff",
			p, "https://server/v1/dm/polling/e46714d908600d8cf9f3abbf9f4056ff")
		if lastSegment(s) == lastSegment(p) {
			t.Error("the session and polling ids are the same")
		}
		noNumberIn(t, "the URIs", s+p, ownNumber)
	})

	t.Run("notification", func(t *testing.T) {
		tok := h.token("operator_lookup,device_match_notify")
		body := strings.Replace(string(dialecttest.SeedBody(t, "insights_request_notify.json")), "https://your_webhook_url/", h.recv.srv.URL+"/", 1)
		r := h.insights(tok, ownNumber, body)
		dm, _ := r.JSON(t)["device_match_notify"].(map[string]any)
		s, _ := dm["session_uri"].(string)
		if !sessionURIPattern.MatchString(s) {
			t.Fatalf("session_uri %q", s)
		}
		sameAsSeed(t, r, "insights_response_notify.json", s, "http://server/v1/dm/session/5f563a0bbb61c93748f773b744bf19c6")
	})

	t.Run("empty body", func(t *testing.T) {
		tok := h.token("operator_lookup,device_match")
		r := h.insights(tok, ownNumber, "")
		s, p := h.pollingURIs(t, r)
		sameAsSeed(t, r, "insights_response_polling.json",
			s, "http://server/v1/dm/session/e46714d908600d8cf9f3abbf9f4056ff",
			p, "https://server/v1/dm/polling/e46714d908600d8cf9f3abbf9f4056ff")
	})
}

// pollingURIs checks and returns an insights answer's URIs.
func (h *harness) pollingURIs(t *testing.T, r reply) (string, string) {
	t.Helper()
	dm, _ := r.JSON(t)["device_match"].(map[string]any)
	s, _ := dm["session_uri"].(string)
	p, _ := dm["polling_uri"].(string)
	if !sessionURIPattern.MatchString(s) || !pollingURIPattern.MatchString(p) {
		t.Fatalf("session_uri %q, polling_uri %q", s, p)
	}
	return s, p
}

// TestContractSessionAndPolling walks the seed's session and polling
// requests in their header form: the polling example before the device
// came, the session's {"status":"OK"}.
func TestContractSessionAndPolling(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token("operator_lookup,device_match")
	s, p := h.pollingStart(tok, ownNumber)

	// -H 'polling_uri: https://server/v1/dm/polling/your_polling_id' -H 'Authorization: Bearer {access_token}'
	r := h.request(http.MethodGet, "/kpn/polling", "", "polling_uri", p, "Authorization", "Bearer "+tok)
	sameAsSeed(t, r, "polling_response.json",
		`"msisdn":"`+ownNumber+`"`, `"msisdn":"316xxxxxxxx"`,
		`"remote_addr":""`, `"remote_addr":"xx.xx.xx.xx"`,
		`"user_agent":""`, `"user_agent":"Mozilla..."`,
		`"AVAILABLE"`, `"AVAILABLE or UNAVAILABLE"`)

	// -H 'session_uri: https://server/v1/dm/session/your_session_id' -H 'Authorization: Bearer {access_token}'
	r = h.request(http.MethodGet, "/kpn/session", "", "session_uri", s, "Authorization", "Bearer "+tok, "User-Agent", phoneUA)
	sameAsSeed(t, r, "session_response.json")

	got := h.result(tok, p)
	want := map[string]any{"msisdn": ownNumber, "device_match": true, "remote_addr": "127.0.0.1", "user_agent": phoneUA, "errors": []any{}}
	if !sameJSON(got, want) {
		t.Errorf("result %v, want %v", got, want)
	}
}

// sameJSON compares two decoded JSON values.
func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
