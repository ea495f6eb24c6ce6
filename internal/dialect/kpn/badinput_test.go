package kpn_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
	"github.com/numgate/numgate/internal/dialect/kpn"
	"github.com/numgate/numgate/internal/notify"
	"github.com/numgate/numgate/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// checkError checks that r is a KPN error: the status, and the body
// {"error_code": status, "message": "<reason phrase>: …"} with nothing else.
func checkError(t *testing.T, r reply, status int) {
	t.Helper()
	if r.Status != status {
		t.Errorf("HTTP %d, want %d: %s", r.Status, status, r.Body)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("error body is not JSON: %s", r.Body)
	}
	msg, _ := m["message"].(string)
	if len(m) != 2 || m["error_code"] != float64(status) || !strings.HasPrefix(msg, http.StatusText(status)+": ") {
		t.Errorf("error body %s, want error_code %d and a message", r.Body, status)
	}
}

// badCase is one refused request.
type badCase struct {
	name   string
	status int
	send   func() reply
}

// runBad runs cases, checks each error, and collects the bodies for the
// golden file name.
func runBad(t *testing.T, name string, cases []badCase) {
	t.Helper()
	var all bytes.Buffer
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.send()
			checkError(t, r, c.status)
			fmt.Fprintf(&all, "%s\n%d %s\n", c.name, r.Status, bytes.TrimSpace(r.Body))
		})
	}
	golden(t, name, all.Bytes())
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	dialecttest.Golden(t, name, got, *update)
}

// TestTokenBadInput: every refused /token request in KPN's shape; none
// stores anything, and the client's credentials still work afterwards.
func TestTokenBadInput(t *testing.T) {
	h := newHarness(t, nil)
	form := func(s string) func() reply { return func() reply { return h.postForm("/kpn/token", s) } }
	runBad(t, "token_errors.golden", []badCase{
		{"GET", http.StatusMethodNotAllowed, func() reply { return h.request(http.MethodGet, "/kpn/token", "") }},
		{"JSON body", http.StatusBadRequest, func() reply {
			return h.request(http.MethodPost, "/kpn/token", `{"client_id":"kpn-app"}`, "Content-Type", "application/json")
		}},
		{"oversized body", http.StatusBadRequest, form("client_id=" + strings.Repeat("a", 20000))},
		{"client_id missing", http.StatusBadRequest, form("client_secret=" + clientSecret + "&scopes=device_match")},
		{"client_secret missing", http.StatusBadRequest, form("client_id=" + clientID + "&scopes=device_match")},
		{"client_id twice", http.StatusBadRequest, form(tokenForm(clientID, clientSecret, "device_match") + "&client_id=" + otherID)},
		{"unknown client", http.StatusUnauthorized, form(tokenForm("nobody", clientSecret, "device_match"))},
		{"wrong secret", http.StatusUnauthorized, form(tokenForm(clientID, otherSecret, "device_match"))},
		{"client without secret", http.StatusUnauthorized, form(tokenForm(keyOnlyID, "anything-at-all", "device_match"))},
		{"form and Basic", http.StatusBadRequest, func() reply {
			return h.postForm("/kpn/token", tokenForm(clientID, clientSecret, "device_match"), "Authorization", basic(clientID, clientSecret))
		}},
		{"scopes missing", http.StatusBadRequest, form("client_id=" + clientID + "&client_secret=" + clientSecret)},
		{"scopes empty", http.StatusBadRequest, form(tokenForm(clientID, clientSecret, " , "))},
		{"unknown scope", http.StatusBadRequest, form(tokenForm(clientID, clientSecret, "operator_lookup,sim_swap"))},
		{"both device_match scopes", http.StatusBadRequest, form(tokenForm(clientID, clientSecret, "device_match,device_match_notify"))},
		{"scopes and scope", http.StatusBadRequest, form(tokenForm(clientID, clientSecret, "device_match") + "&scope=operator_lookup")},
		{"scope not registered", http.StatusForbidden, form(tokenForm(pollOnlyID, sharedSecret, "device_match_notify"))},
		{"client of another dialect", http.StatusForbidden, form(tokenForm(camaraOnlyID, sharedSecret, "operator_lookup"))},
	})
	if h.Logs.String() == "" || strings.Contains(h.Logs.String(), clientSecret) || strings.Contains(h.Logs.String(), otherSecret) {
		t.Error("the log is empty or holds a client secret")
	}
	h.token("operator_lookup,device_match")
}

// TestTokenForms: the spellings KPN's clients use.
func TestTokenForms(t *testing.T) {
	h := newHarness(t, nil)
	for name, r := range map[string]reply{
		"scope":             h.postForm("/kpn/token", "client_id="+clientID+"&client_secret="+clientSecret+"&scope=operator_lookup,device_match"),
		"space separated":   h.postForm("/kpn/token", tokenForm(clientID, clientSecret, "operator_lookup device_match")),
		"HTTP Basic":        h.postForm("/kpn/token", "scopes=device_match", "Authorization", basic(clientID, clientSecret)),
		"registered scopes": h.postForm("/kpn/token", tokenForm(pollOnlyID, sharedSecret, "device_match,operator_lookup")),
		"repeated scope":    h.postForm("/kpn/token", tokenForm(clientID, clientSecret, "device_match,device_match")),
	} {
		if m := r.JSON(t); r.Status != http.StatusOK || m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) {
			t.Errorf("%s: HTTP %d %s", name, r.Status, r.Body)
		}
	}
	h2 := newHarness(t, func(c *kpn.Config) { c.TokenLifetime = 90 * time.Second })
	if m := h2.postForm("/kpn/token", tokenForm(clientID, clientSecret, "device_match")).JSON(t); m["expires_in"] != float64(90) {
		t.Errorf("expires_in %v, want 90", m["expires_in"])
	}
}

func basic(id, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

// TestInsightsBadInput: every refused insights request in KPN's shape;
// none starts an attempt, and the token still works afterwards.
func TestInsightsBadInput(t *testing.T) {
	h := newHarness(t, nil)
	match := h.token("operator_lookup,device_match")
	notifyOnly := h.token("device_match_notify")
	notifyTok := h.tokenFor(otherID, otherSecret, "operator_lookup,device_match_notify")
	ins := func(tok, number, body string) func() reply {
		return func() reply { return h.insights(tok, number, body) }
	}
	target := func(uri, token string) string {
		b, _ := json.Marshal(map[string]any{"device_match_notify": map[string]string{"notification_uri": uri, "notification_token": token}})
		return string(b)
	}
	hookURL := h.recv.srv.URL + "/hook"
	before := h.openAttempts()
	runBad(t, "insights_errors.golden", []badCase{
		{"GET", http.StatusMethodNotAllowed, func() reply {
			return h.request(http.MethodGet, "/kpn/insights/"+ownNumber, "", "Authorization", "Bearer "+match)
		}},
		{"no token", http.StatusUnauthorized, func() reply { return h.request(http.MethodPost, "/kpn/insights/"+ownNumber, "{}") }},
		{"Basic instead of Bearer", http.StatusUnauthorized, func() reply {
			return h.request(http.MethodPost, "/kpn/insights/"+ownNumber, "{}", "Authorization", basic(clientID, clientSecret))
		}},
		{"malformed token", http.StatusUnauthorized, ins("not-a-token", ownNumber, "{}")},
		{"unknown token", http.StatusUnauthorized, ins(strings.Repeat("A", 43), ownNumber, "{}")},
		{"msisdn with letters", http.StatusBadRequest, ins(match, "3163000000x", "{}")},
		{"msisdn too short", http.StatusBadRequest, ins(match, "3163", "{}")},
		{"msisdn national", http.StatusBadRequest, ins(match, "0630000001", "{}")},
		{"msisdn too long", http.StatusBadRequest, ins(match, strings.Repeat("3", 30), "{}")},
		{"body not JSON", http.StatusBadRequest, ins(match, ownNumber, "device_match")},
		{"body an array", http.StatusBadRequest, ins(match, ownNumber, "[]")},
		{"body with trailing data", http.StatusBadRequest, ins(match, ownNumber, "{} {}")},
		{"device_match_notify not an object", http.StatusBadRequest, ins(notifyTok, ownNumber, `{"device_match_notify":"yes"}`)},
		{"notify without the scope", http.StatusForbidden, ins(match, ownNumber, target(hookURL, "t"))},
		{"notify scope, polling body", http.StatusBadRequest, ins(notifyOnly, ownNumber, "{}")},
		{"notification_uri missing", http.StatusBadRequest, ins(notifyTok, ownNumber, target("", "t"))},
		{"notification_uri relative", http.StatusBadRequest, ins(notifyTok, ownNumber, target("/hook", "t"))},
		{"notification_uri ftp", http.StatusBadRequest, ins(notifyTok, ownNumber, target("ftp://app.example/hook", "t"))},
		{"notification_uri with user", http.StatusBadRequest, ins(notifyTok, ownNumber, target("https://u:p@app.example/hook", "t"))},
		{"notification_token missing", http.StatusBadRequest, ins(notifyTok, ownNumber, target(hookURL, ""))},
		{"notification_token with a space", http.StatusBadRequest, ins(notifyTok, ownNumber, target(hookURL, "a b"))},
		{"notification_token with a newline", http.StatusBadRequest, ins(notifyTok, ownNumber, target(hookURL, "a\r\nX-Evil: 1"))},
	})
	if after := h.openAttempts(); after != before {
		t.Errorf("refused requests started %d attempts", after-before)
	}
	h.pollingStart(match, ownNumber)
	h.notifyStart(notifyTok, ownNumber, "/hook", "t")
	noNumberIn(t, "the log", h.Logs.String(), "3163000000")
}

// TestInsightsOperatorLookup: a token with operator_lookup only answers the
// operator and starts nothing; unknown operator fields are null.
func TestInsightsOperatorLookup(t *testing.T) {
	h := newHarness(t, func(c *kpn.Config) {
		c.Operator = func(n string) kpn.OperatorInfo {
			if n == "+"+ownNumber {
				return kpn.OperatorInfo{RegionCode: "NL", OperatorName: "KPN", MCC: "204", MNC: "08"}
			}
			return kpn.OperatorInfo{}
		}
	})
	tok := h.token("operator_lookup")
	for number, want := range map[string]string{
		ownNumber:   `{"operator_lookup":{"regionCode":"NL","operatorName":"KPN","mcc":"204","mnc":"08"}}`,
		otherNumber: `{"operator_lookup":{"regionCode":null,"operatorName":null,"mcc":null,"mnc":null}}`,
	} {
		r := h.insights(tok, number, "{}")
		if r.Status != http.StatusOK || string(bytes.TrimSpace(r.Body)) != want {
			t.Errorf("HTTP %d %s, want %s", r.Status, r.Body, want)
		}
	}
	// A notify body with an operator_lookup-only token is refused (403).
	checkError(t, h.insights(tok, ownNumber, h.notifyBody("/hook", "t")), http.StatusForbidden)
	if n := h.openAttempts(); n != 0 {
		t.Errorf("operator_lookup started %d attempts", n)
	}

	// The default operator: the region by the numbering plan.
	h2 := newHarness(t, func(c *kpn.Config) { c.Operator = nil })
	r := h2.insights(h2.token("operator_lookup"), ownNumber, "")
	if want := `{"operator_lookup":{"regionCode":"NL","operatorName":null,"mcc":null,"mnc":null}}`; string(bytes.TrimSpace(r.Body)) != want {
		t.Errorf("default operator: %s", r.Body)
	}
}

// TestNotifyWithoutNotifier: with notifications switched off, a
// device_match_notify request is 503 and starts nothing; polling works.
func TestNotifyWithoutNotifier(t *testing.T) {
	for name, n := range map[string]kpn.Notifier{"nil": nil, "typed nil": (*notify.Notifier)(nil)} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, func(c *kpn.Config) { c.Notifier = n })
			tok := h.token("device_match_notify")
			checkError(t, h.insights(tok, ownNumber, h.notifyBody("/hook", "t")), http.StatusServiceUnavailable)
			if n := h.openAttempts(); n != 0 {
				t.Errorf("%d attempts started", n)
			}
			h.pollingStart(h.token("device_match"), ownNumber)
		})
	}
}

// TestNotifyPrivateTarget: on a gateway that does not notify private
// addresses, a notification_uri naming one is refused when the
// verification starts (400, nothing started), not retried for hours after
// it; a public one is accepted.
func TestNotifyPrivateTarget(t *testing.T) {
	h := newHarness(t, func(c *kpn.Config) {
		n, err := notify.New(notify.Config{Store: c.Store.(store.Outbox), Now: c.Now, BlockPrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		c.Notifier = n
	})
	tok := h.token("device_match_notify")
	r := h.insights(tok, ownNumber, h.notifyBody("/hook", "t")) // the receiver is on 127.0.0.1
	checkError(t, r, http.StatusBadRequest)
	if !strings.Contains(string(r.Body), "private address") {
		t.Errorf("refusal %s does not say why", r.Body)
	}
	if n := h.openAttempts(); n != 0 {
		t.Errorf("%d attempts started", n)
	}
	body := `{"device_match_notify":{"notification_token":"t","notification_uri":"https://rp.example/hook"}}`
	if r := h.insights(tok, ownNumber, body); r.Status != http.StatusOK {
		t.Errorf("public notification_uri: HTTP %d %s", r.Status, r.Body)
	}
}

// The real outbox is a Notifier.
var _ kpn.Notifier = (*notify.Notifier)(nil)

// TestSessionBadInput: refused session requests; the session still works
// afterwards.
func TestSessionBadInput(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token("device_match")
	s, p := h.pollingStart(tok, ownNumber)
	otherTok := h.tokenFor(otherID, otherSecret, "device_match")
	lookupTok := h.token("operator_lookup")
	sess := func(headers ...string) func() reply {
		return func() reply { return h.request(http.MethodGet, "/kpn/session", "", headers...) }
	}
	runBad(t, "session_errors.golden", []badCase{
		{"POST", http.StatusMethodNotAllowed, func() reply { return h.request(http.MethodPost, s, "") }},
		{"PUT", http.StatusMethodNotAllowed, func() reply { return h.request(http.MethodPut, "/kpn/session", "") }},
		{"unknown id", http.StatusNotFound, func() reply { return h.open(h.URL + "/kpn/session/" + strings.Repeat("A", 43)) }},
		{"malformed id", http.StatusNotFound, func() reply { return h.open(h.URL + "/kpn/session/e46714d908600d8cf9f3abbf9f4056ff") }},
		{"the polling id", http.StatusNotFound, func() reply { return h.open(h.URL + "/kpn/session/" + lastSegment(p)) }},
		{"header missing", http.StatusBadRequest, sess()},
		{"header twice", http.StatusBadRequest, sess("session_uri", s, "session_uri", s)},
		{"header unknown", http.StatusNotFound, sess("session_uri", "https://server/v1/dm/session/your_session_id")},
		{"invalid token", http.StatusUnauthorized, sess("session_uri", s, "Authorization", "Bearer nope")},
		{"token without device_match", http.StatusForbidden, sess("session_uri", s, "Authorization", "Bearer "+lookupTok)},
		{"token of another client", http.StatusForbidden, sess("session_uri", s, "Authorization", "Bearer "+otherTok)},
		{"a path below the session", http.StatusNotFound, func() reply { return h.open(s + "/x") }},
	})
	if m := h.result(tok, p); m["device_match"] != nil {
		t.Fatalf("a refused request identified the device: %v", m)
	}
	if r := h.open(s); r.Status != http.StatusFound {
		t.Fatalf("the session no longer works: HTTP %d %s", r.Status, r.Body)
	}
	if m := h.result(tok, p); m["device_match"] != true {
		t.Fatalf("result %v", m)
	}
}

// TestPollingBadInput: refused polls and scope enforcement; polling still
// works afterwards.
func TestPollingBadInput(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token("operator_lookup,device_match")
	s, p := h.pollingStart(tok, ownNumber)
	h.open(s)
	lookupTok := h.token("operator_lookup")
	notifyTok := h.token("operator_lookup,device_match_notify")
	otherTok := h.tokenFor(otherID, otherSecret, "device_match")
	poll := func(headers ...string) func() reply {
		return func() reply { return h.request(http.MethodGet, "/kpn/polling", "", headers...) }
	}
	runBad(t, "polling_errors.golden", []badCase{
		{"POST", http.StatusMethodNotAllowed, func() reply { return h.request(http.MethodPost, p, "", "Authorization", "Bearer "+tok) }},
		{"no token", http.StatusUnauthorized, func() reply { return h.request(http.MethodGet, p, "") }},
		{"invalid token", http.StatusUnauthorized, func() reply { return h.poll("nope", p) }},
		{"operator_lookup token", http.StatusForbidden, func() reply { return h.poll(lookupTok, p) }},
		{"device_match_notify token", http.StatusForbidden, func() reply { return h.poll(notifyTok, p) }},
		{"token of another client", http.StatusForbidden, func() reply { return h.poll(otherTok, p) }},
		{"unknown id", http.StatusNotFound, func() reply { return h.poll(tok, h.URL+"/kpn/polling/"+strings.Repeat("B", 43)) }},
		{"the session id", http.StatusNotFound, func() reply { return h.poll(tok, h.URL+"/kpn/polling/"+lastSegment(s)) }},
		{"header missing", http.StatusBadRequest, poll("Authorization", "Bearer "+tok)},
		{"header empty", http.StatusBadRequest, poll("polling_uri", " ", "Authorization", "Bearer "+tok)},
		{"unknown path", http.StatusNotFound, func() reply { return h.request(http.MethodGet, "/kpn/nothing-here", "") }},
	})
	if m := h.result(tok, p); m["device_match"] != true {
		t.Fatalf("result %v", m)
	}
	for _, secret := range []string{tok, lookupTok, lastSegment(s), lastSegment(p), clientSecret} {
		if strings.Contains(h.Logs.String(), secret) {
			t.Error("the log holds a token, an id or a secret")
		}
	}
}

// TestTokenExpiry: an expired token is 401, and a removed client's token too.
func TestTokenExpiry(t *testing.T) {
	h := newHarness(t, func(c *kpn.Config) { c.TokenLifetime = time.Minute })
	tok := h.token("device_match")
	s, p := h.pollingStart(tok, ownNumber)
	h.open(s)
	h.clock.Add(time.Minute + time.Second)
	checkError(t, h.poll(tok, p), http.StatusUnauthorized)
	fresh := h.token("device_match")
	if m := h.result(fresh, p); m["device_match"] != true {
		t.Fatalf("result %v", m)
	}
	if err := h.Store.DeleteClient(t.Context(), clientID); err != nil {
		t.Fatal(err)
	}
	checkError(t, h.poll(fresh, p), http.StatusUnauthorized)
}

// TestPrefix: the dialect mounted under KPN's own base path.
func TestPrefix(t *testing.T) {
	h := newHarness(t, func(c *kpn.Config) { c.Prefix = "/communication/kpn/numberverify" })
	r := h.postForm("/communication/kpn/numberverify/token", tokenForm(clientID, clientSecret, "device_match"))
	tok, _ := r.JSON(t)["access_token"].(string)
	r = h.request(http.MethodPost, "/communication/kpn/numberverify/insights/"+ownNumber, "{}", "Authorization", "Bearer "+tok)
	dm, _ := r.JSON(t)["device_match"].(map[string]any)
	s, _ := dm["session_uri"].(string)
	if !strings.HasPrefix(s, h.URL+"/communication/kpn/numberverify/session/") {
		t.Fatalf("session_uri %q", s)
	}
	if r := h.open(s); r.Header.Get("Location") != h.URL+"/communication/kpn/numberverify/session/done" {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
}

// TestConfig checks New's validation: every problem at once.
func TestConfig(t *testing.T) {
	_, err := kpn.New(kpn.Config{BaseURL: "ftp://x/", Prefix: "kpn/", Lifetime: -1})
	if err == nil {
		t.Fatal("a bad config was accepted")
	}
	for _, want := range []string{"Store", "Core", "BaseURL", "Prefix", "negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not report %s: %v", want, err)
		}
	}
	for _, p := range []string{"/", "/kpn/", "//kpn", "/kpn/{id}", "/k pn"} {
		if _, err := kpn.New(kpn.Config{BaseURL: "https://numgate.example", Prefix: p}); err == nil || !strings.Contains(err.Error(), "Prefix") {
			t.Errorf("Prefix %q accepted", p)
		}
	}
}

// TestTokenOfReRegisteredClient: removing a client and registering its ID
// again (the only way to rotate a leaked secret or narrow its scopes)
// revokes the tokens issued before: they do not come back to life with the
// new registration.
func TestTokenOfReRegisteredClient(t *testing.T) {
	h := newHarness(t, nil)
	old := h.token("operator_lookup,device_match")
	_, p := h.pollingStart(old, ownNumber)
	if err := h.Store.DeleteClient(t.Context(), clientID); err != nil {
		t.Fatal(err)
	}
	h.AddClient(t, store.Client{ID: clientID, Scopes: []string{kpn.ScopeOperatorLookup}}, "a-new-secret-0004")
	checkError(t, h.insights(old, ownNumber, "{}"), http.StatusUnauthorized)
	checkError(t, h.poll(old, p), http.StatusUnauthorized)
	fresh := h.tokenFor(clientID, "a-new-secret-0004", "operator_lookup")
	if r := h.insights(fresh, ownNumber, "{}"); r.Status != http.StatusOK {
		t.Fatalf("a token of the new registration: HTTP %d %s", r.Status, r.Body)
	}
}
