package kpn_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/kpn"
	"github.com/numgate/numgate/internal/network"
)

// flakyNotifier fails its first fails enqueues, as an outbox whose store
// is unreachable would, and passes the others on.
type flakyNotifier struct {
	kpn.Notifier
	mu    sync.Mutex
	fails int
}

func (f *flakyNotifier) EnqueueKey(ctx context.Context, key, kind, url string, headers map[string]string, body []byte) error {
	f.mu.Lock()
	fail := f.fails > 0
	if fail {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		return errors.New("outbox unavailable")
	}
	return f.Notifier.EnqueueKey(ctx, key, kind, url, headers, body)
}

// newFlakyHarness is a harness whose notifier fails its first fails
// enqueues.
func newFlakyHarness(t *testing.T, fails int) *harness {
	return newHarness(t, func(c *kpn.Config) {
		c.Notifier = &flakyNotifier{Notifier: c.Notifier, fails: fails}
	})
}

// wantOneMatch delivers the outbox and checks that the receiver got, in
// all, exactly one notification: the match, for ownNumber, with the
// notification token.
func wantOneMatch(t *testing.T, h *harness, token string) {
	t.Helper()
	got := h.deliver()
	if len(got) != 1 {
		t.Fatalf("%d notifications, want 1", len(got))
	}
	var body map[string]any
	if err := json.Unmarshal(got[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body["msisdn"] != ownNumber || body["device_match"] != true || got[0].header.Get("Authorization") != "Bearer "+token {
		t.Fatalf("notification %s with Authorization %q", got[0].body, got[0].header.Get("Authorization"))
	}
}

// TestNotifyNeverLost: a result notification that the device's request
// could not enqueue — the outbox failed, or the process died after the
// decision — is enqueued by the server's sweep, once, with the result; and
// the attempt keeps the number only until then.
func TestNotifyNeverLost(t *testing.T) {
	t.Run("enqueue fails", func(t *testing.T) {
		h := newFlakyHarness(t, 2) // the device's request, then the first sweep
		tok := h.token("device_match_notify")
		s := h.notifyStart(tok, ownNumber, "/hook", "tok-lost-1")
		// The device is done all the same: the attempt is decided.
		if r := h.open(s); r.Status != http.StatusFound {
			t.Fatalf("device's request when the enqueue fails: HTTP %d %s, want its redirect to the done page", r.Status, r.Body)
		}
		if got := h.deliver(); len(got) != 0 {
			t.Fatalf("%d notifications before the sweep", len(got))
		}
		a := h.attemptOf(s)
		if a.State != "consumed" || a.ReportAt.IsZero() || !strings.Contains(string(a.Data), "tok-lost-1") {
			t.Fatalf("after the failed enqueue: state %s, ReportAt %v, data kept %v", a.State, a.ReportAt,
				strings.Contains(string(a.Data), "tok-lost-1"))
		}
		if err := h.trySweep(time.Second); err == nil {
			t.Fatal("the sweep's failed enqueue reported no error")
		}
		if got := h.deliver(); len(got) != 0 {
			t.Fatalf("%d notifications after a failed sweep", len(got))
		}
		h.sweep(time.Second) // the attempt stayed due: retried
		wantOneMatch(t, h, "tok-lost-1")
		a = h.attemptOf(s)
		if !a.ReportAt.IsZero() || strings.Contains(string(a.Data), ownNumber) || strings.Contains(string(a.Data), "tok-lost-1") {
			t.Fatalf("after the report: ReportAt %v, data %s", a.ReportAt, a.Data)
		}
		h.sweep(time.Second)
		h.open(s)
		h.sweep(5 * time.Minute)
		wantOneMatch(t, h, "tok-lost-1") // nothing more
	})

	t.Run("crash after the decision", func(t *testing.T) {
		h := newHarness(t, nil)
		tok := h.token("device_match_notify")
		s := h.notifyStart(tok, ownNumber, "/hook", "tok-lost-2")
		// The device's request decided the attempt, then the process died:
		// not taken, nothing enqueued.
		id := h.attemptOf(s).ID
		conn := network.Connection{Addr: netip.MustParseAddr("127.0.0.1")}
		if a, err := h.Core.DeviceArrived(context.Background(), id, conn, phoneUA); err != nil || a.State != "decided" {
			t.Fatalf("DeviceArrived: %s, %v", a.State, err)
		}
		if got := h.deliver(); len(got) != 0 {
			t.Fatalf("%d notifications before the sweep", len(got))
		}
		h.sweep(time.Second)
		wantOneMatch(t, h, "tok-lost-2")
		if a := h.attemptOf(s); a.State != "consumed" || a.DeviceNumber != "" || !a.ReportAt.IsZero() {
			t.Fatalf("after the sweep: %+v", a)
		}
		h.open(s) // the device retrying changes nothing
		h.sweep(5 * time.Minute)
		wantOneMatch(t, h, "tok-lost-2")
	})

	t.Run("expiry enqueue fails", func(t *testing.T) {
		h := newFlakyHarness(t, 1)
		tok := h.token("device_match_notify")
		s := h.notifyStart(tok, ownNumber, "/hook", "tok-lost-3")
		if err := h.trySweep(3 * time.Minute); err == nil {
			t.Fatal("the sweep's failed enqueue reported no error")
		}
		h.sweep(time.Second)
		h.sweep(time.Second)
		got := h.deliver()
		if len(got) != 1 || !strings.Contains(string(got[0].body), `"reason":"EXPIRED"`) {
			t.Fatalf("%d notifications: %v", len(got), got)
		}
		if a := h.attemptOf(s); a.State != "expired" || !a.ReportAt.IsZero() {
			t.Fatalf("after the sweep: %+v", a)
		}
	})
}
