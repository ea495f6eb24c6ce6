package kpn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/dialect/kpn"
)

// TestPollingFlow runs the polling flow per outcome of the virtual
// operator: token, insights, pending poll, the device opens session_uri
// and follows the redirect, the result is polled (twice: it stays).
func TestPollingFlow(t *testing.T) {
	unavailable := func(reason string) []any {
		return []any{map[string]any{"device_match": kpn.Unavailable, "reason": reason}}
	}
	cases := []struct {
		name, number string
		match        any // true, false or nil
		errors       []any
	}{
		{"the device's own number", ownNumber, true, []any{}},
		{"another number", otherNumber, false, []any{}},
		{"Vonage convention, verified", "99012345678", true, []any{}},
		{"Vonage convention, not verified", "99012345677", false, []any{}},
		{"with a leading +", "+31630000001", true, []any{}},
		{"not identifiable (Wi-Fi)", "99900000003", nil, unavailable(kpn.ReasonNotIdentifiable)},
		{"operator unavailable", "99900000004", nil, unavailable(kpn.ReasonOperatorUnavailable)},
		{"not eligible", "99900000006", nil, unavailable(kpn.ReasonNotEligible)},
		{"consent declined", "99900000007", nil, unavailable(kpn.ReasonConsentDeclined)},
		{"invalid number", "99900000008", nil, unavailable(kpn.ReasonInvalidNumber)},
	}
	h := newHarness(t, nil)
	tok := h.token("device_match")
	follow := &http.Client{Timeout: 10 * time.Second} // follows redirects, as a phone does
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, p := h.pollingStart(tok, c.number)
			digits := strings.TrimPrefix(c.number, "+")
			pending := map[string]any{"msisdn": digits, "device_match": nil, "remote_addr": "", "user_agent": "",
				"errors": []any{map[string]any{"device_match": kpn.Available}}}
			if got := h.result(tok, p); !sameJSON(got, pending) {
				t.Fatalf("before the device: %v", got)
			}

			r := h.open(s)
			if r.Status != http.StatusFound || r.Header.Get("Location") != h.URL+"/kpn/session/done" {
				t.Fatalf("session: HTTP %d Location %q", r.Status, r.Header.Get("Location"))
			}
			req, _ := http.NewRequest(http.MethodGet, s, nil)
			req.Header.Set("User-Agent", phoneUA)
			resp, err := follow.Do(req) // again, following the redirect: changes nothing
			if err != nil {
				t.Fatal(err)
			}
			var done map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&done)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || done["status"] != "OK" {
				t.Fatalf("after the redirect: HTTP %d %v", resp.StatusCode, done)
			}

			want := map[string]any{"msisdn": digits, "device_match": c.match, "remote_addr": "127.0.0.1", "user_agent": phoneUA, "errors": c.errors}
			for range 2 {
				if got := h.result(tok, p); !sameJSON(got, want) {
					t.Fatalf("result %v, want %v", got, want)
				}
			}
			noNumberIn(t, "the session URI", s, digits)
		})
	}
	noNumberIn(t, "the log", h.Logs.String(), ownNumber, otherNumber, "99012345678", "99900000003", "99900000007")
}

// TestHeaderForms: the seed's header forms, with the full URI and with the
// id alone, for session and polling.
func TestHeaderForms(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token("device_match")
	for _, full := range []bool{true, false} {
		s, p := h.pollingStart(tok, ownNumber)
		if !full {
			s, p = lastSegment(s), lastSegment(p)
		}
		r := h.request(http.MethodGet, "/kpn/session", "", "session_uri", s, "User-Agent", phoneUA)
		if r.Status != http.StatusOK || r.JSON(t)["status"] != "OK" {
			t.Fatalf("session (full URI %v): HTTP %d %s", full, r.Status, r.Body)
		}
		r = h.request(http.MethodGet, "/kpn/polling", "", "polling_uri", p, "Authorization", "Bearer "+tok)
		if m := r.JSON(t); r.Status != http.StatusOK || m["device_match"] != true {
			t.Fatalf("polling (full URI %v): HTTP %d %s", full, r.Status, r.Body)
		}
	}
	// The hyphenated spelling, for proxies that drop underscores.
	s, p := h.pollingStart(tok, otherNumber)
	if r := h.request(http.MethodGet, "/kpn/session", "", "Session-Uri", s); r.Status != http.StatusOK {
		t.Fatalf("Session-Uri: HTTP %d %s", r.Status, r.Body)
	}
	if r := h.request(http.MethodGet, "/kpn/polling", "", "Polling-Uri", p, "Authorization", "Bearer "+tok); r.JSON(t)["device_match"] != false {
		t.Fatalf("Polling-Uri: HTTP %d %s", r.Status, r.Body)
	}
}

// TestAttemptRecord checks what the core keeps: the dialect, the device's
// connection, the outcome, and no clear number once the device came.
func TestAttemptRecord(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token("device_match")
	s, p := h.pollingStart(tok, ownNumber)
	h.open(s)
	h.result(tok, p)
	due, err := h.Store.DueAttempts(context.Background(), h.clock.Now().Add(time.Hour), 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("open attempts %d, %v", len(due), err)
	}
	// Find the attempt through the session grant.
	a := h.attemptOf(s)
	switch {
	case a.Dialect != kpn.Dialect || a.ClientID != clientID:
		t.Errorf("attempt of dialect %q, client %q", a.Dialect, a.ClientID)
	case a.State != string(core.StateConsumed) || a.Outcome != string(core.OutcomeMatch):
		t.Errorf("attempt %s/%s, want consumed/match", a.State, a.Outcome)
	case a.ClaimedNumber != "" || a.DeviceNumber != "" || a.ClaimedHash == "":
		t.Error("a clear number is kept, or the pseudonym is missing")
	case strings.Contains(string(a.Data), ownNumber):
		t.Errorf("attempt data holds the number: %s", a.Data)
	}
}

// TestPollingExpires: an attempt whose device never comes is reported
// expired by polling itself (no sweep needed), and the late device is
// told the session expired.
func TestPollingExpires(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token("device_match")
	s, p := h.pollingStart(tok, ownNumber)
	h.clock.Add(2*time.Minute + time.Second)
	want := map[string]any{"msisdn": ownNumber, "device_match": nil, "remote_addr": "", "user_agent": "",
		"errors": []any{map[string]any{"device_match": kpn.Unavailable, "reason": kpn.ReasonExpired}}}
	if got := h.result(tok, p); !sameJSON(got, want) {
		t.Fatalf("result %v, want %v", got, want)
	}
	checkError(t, h.open(s), http.StatusNotFound)
	if got := h.result(tok, p); !sameJSON(got, want) {
		t.Fatalf("after the late device: %v", got)
	}
	// After the retention, the ids are gone.
	h.clock.Add(kpn.DefaultResultRetention)
	checkError(t, h.poll(tok, p), http.StatusNotFound)
}

// TestNotifyFlow: the receiver gets the result exactly once, with the
// notification token as Bearer, and only after the device opened the
// session URI.
func TestNotifyFlow(t *testing.T) {
	cases := []struct {
		name, number string
		match        any
	}{
		{"match", ownNumber, true},
		{"no match", otherNumber, false},
		{"not identifiable", "99900000003", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			tok := h.token("operator_lookup,device_match_notify")
			s := h.notifyStart(tok, c.number, "/hook/kpn?tenant=7", "notif-token-abcd1234")
			if got := h.deliver(); len(got) != 0 {
				t.Fatalf("notified before the device came: %d calls", len(got))
			}
			h.open(s)
			h.open(s) // the device retrying changes nothing
			h.request(http.MethodGet, "/kpn/session", "", "session_uri", s)
			got := h.deliver()
			h.sweep(5 * time.Minute) // the sweep adds nothing: the attempt is not expired
			if again := h.deliver(); len(again) != 1 {
				t.Fatalf("%d notifications, want 1", len(again))
			}
			if len(got) != 1 {
				t.Fatalf("%d notifications, want 1", len(got))
			}
			n := got[0]
			if n.path != "/hook/kpn" || n.header.Get("Authorization") != "Bearer notif-token-abcd1234" ||
				!strings.HasPrefix(n.header.Get("Content-Type"), "application/json") || !strings.HasPrefix(n.header.Get("Idempotency-Key"), "kpn-") {
				t.Errorf("notification %s with headers %v", n.path, n.header)
			}
			var body map[string]any
			if err := json.Unmarshal(n.body, &body); err != nil {
				t.Fatal(err)
			}
			if body["msisdn"] != c.number || body["device_match"] != c.match || body["remote_addr"] != "127.0.0.1" || body["user_agent"] != phoneUA {
				t.Errorf("notification body %s", n.body)
			}
			// The attempt no longer keeps the number or the notification token.
			if a := h.attemptOf(s); strings.Contains(string(a.Data), c.number) || strings.Contains(string(a.Data), "notif-token") {
				t.Errorf("attempt data kept after notifying: %s", a.Data)
			}
			noNumberIn(t, "the log", h.Logs.String(), c.number)
			if strings.Contains(h.Logs.String(), "notif-token") || strings.Contains(h.Logs.String(), "tenant=7") {
				t.Error("the log holds the notification token or URI")
			}
		})
	}
}

// TestNotifyExpiry: an attempt whose device never comes notifies its
// expiry once, through the server's sweep (Report) or through a
// late device, whichever sees it first.
func TestNotifyExpiry(t *testing.T) {
	wantBody := `{"msisdn":"` + ownNumber + `","device_match":null,"remote_addr":"","user_agent":"","errors":[{"device_match":"UNAVAILABLE","reason":"EXPIRED"}]}`

	t.Run("sweep", func(t *testing.T) {
		h := newHarness(t, nil)
		tok := h.token("device_match_notify")
		s := h.notifyStart(tok, ownNumber, "/hook", "tok-1")
		h.sweep(2*time.Minute + time.Second)
		h.sweep(time.Second)
		checkError(t, h.open(s), http.StatusNotFound) // the late device
		got := h.deliver()
		if len(got) != 1 || string(got[0].body) != wantBody {
			t.Fatalf("%d notifications: %v", len(got), got)
		}
	})

	t.Run("late device", func(t *testing.T) {
		h := newHarness(t, nil)
		tok := h.token("device_match_notify")
		s := h.notifyStart(tok, ownNumber, "/hook", "tok-2")
		h.clock.Add(3 * time.Minute)
		checkError(t, h.open(s), http.StatusNotFound)
		h.sweep(time.Second) // finds nothing left to expire
		got := h.deliver()
		if len(got) != 1 || string(got[0].body) != wantBody {
			t.Fatalf("%d notifications: %v", len(got), got)
		}
	})

	t.Run("other dialects and polling mode are left alone", func(t *testing.T) {
		h := newHarness(t, nil)
		tok := h.token("device_match")
		h.pollingStart(tok, ownNumber)
		h.sweep(3 * time.Minute)
		if got := h.deliver(); len(got) != 0 {
			t.Fatalf("%d notifications for a polling attempt", len(got))
		}
	})
}

// TestConcurrentDevice: a device opening its session several times at
// once is identified once and notifies once.
func TestConcurrentDevice(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token("device_match_notify")
	s := h.notifyStart(tok, ownNumber, "/hook", "tok-3")
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Go(func() { codes[i] = h.open(s).Status })
	}
	wg.Wait()
	for _, c := range codes {
		if c != http.StatusFound {
			t.Errorf("session answered %d", c)
		}
	}
	if got := h.deliver(); len(got) != 1 {
		t.Fatalf("%d notifications, want 1", len(got))
	}
}

// TestNotifyRetries: a receiver that fails gets the same notification
// again (the outbox's retry), with the same idempotency key.
func TestNotifyRetries(t *testing.T) {
	h := newHarness(t, nil)
	h.recv.setFail(true)
	tok := h.token("device_match_notify")
	h.open(h.notifyStart(tok, ownNumber, "/hook", "tok-4"))
	h.deliver()
	h.recv.setFail(false)
	h.clock.Add(time.Minute) // past the backoff
	got := h.deliver()
	if len(got) != 2 || string(got[0].body) != string(got[1].body) ||
		got[0].header.Get("Idempotency-Key") != got[1].header.Get("Idempotency-Key") {
		t.Fatalf("%d tries: %v", len(got), got)
	}
}
