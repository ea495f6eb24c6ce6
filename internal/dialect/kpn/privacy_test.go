package kpn_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPrivacy runs both modes end to end, the errors of every endpoint and
// an expiry, capturing the log, and checks that no line holds a phone
// number, a client secret, an access token, a session or polling id, or a
// notification token or URI.
func TestPrivacy(t *testing.T) {
	h := newHarness(t, nil)
	pollTok := h.token("operator_lookup,device_match")
	notifyTok := h.token("operator_lookup,device_match_notify")
	s1, p1 := h.pollingStart(pollTok, ownNumber)
	s2, p2 := h.pollingStart(pollTok, otherNumber)
	h.open(s1)
	h.request(http.MethodGet, "/kpn/session", "", "session_uri", s2, "Authorization", "Bearer "+pollTok)
	h.result(pollTok, p1)
	h.result(pollTok, p2)
	s3 := h.notifyStart(notifyTok, "99012345678", "/private/hook?key=hook-secret-9", "notification-secret-8")
	h.open(s3)
	h.notifyStart(notifyTok, "99012345676", "/private/hook?key=hook-secret-9", "notification-secret-8")
	h.sweep(3 * time.Minute)
	h.deliver()
	// Errors that carry secrets or numbers in the request.
	h.insights(pollTok, "3163000000x", "{}")
	h.insights(strings.Repeat("Z", 43), ownNumber, "{}")
	h.postForm("/kpn/token", tokenForm(clientID, "wrong-secret-5", "device_match"))
	h.poll(notifyTok, p1)
	h.open(s1 + "x")

	logs := h.Logs.String()
	if !strings.Contains(logs, "kpn request") || !strings.Contains(logs, "kpn attempt end reported") {
		t.Fatalf("the log lacks the dialect's lines:\n%s", logs)
	}
	noNumberIn(t, "the log", logs, ownNumber, otherNumber, "99012345678", "99012345676", "3163000000")
	for _, s := range []string{clientSecret, "wrong-secret-5", pollTok, notifyTok, lastSegment(s1), lastSegment(s2), lastSegment(s3),
		lastSegment(p1), lastSegment(p2), "notification-secret-8", "hook-secret-9", "/private/hook", strings.Repeat("Z", 43)} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q", s)
		}
	}
}
