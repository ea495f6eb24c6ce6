package dqe_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/dialect/dqe"
	"github.com/numgate/numgate/internal/randid"
)

// TestDeviceFlow runs the whole flow per outcome of the virtual operator:
// initiate, pending, the device opens the url and comes back to the
// redirect_uri, the backend retrieves the result once.
func TestDeviceFlow(t *testing.T) {
	cases := []struct {
		name, number string
		redirect     string // status appended to redirect_uri
		want         map[string]any
	}{
		{"verified", "+99012345678", "success", map[string]any{"status": "success", "scope": "numVerify", "numVerify": true}},
		{"not verified", "+99012345677", "success", map[string]any{"status": "success", "scope": "numVerify", "numVerify": false}},
		{"verified, national form", "06 12 34 56 71", "success", map[string]any{"status": "success", "scope": "numVerify", "numVerify": true}},
		{"operator unavailable", "+99011111199", "error", errorWant(dqe.ErrOperatorNoData)},
		{"operator too slow", "+99900000005", "error", errorWant(dqe.ErrOperatorNoData)},
		{"not identifiable (Wi-Fi)", "+99900000003", "error", errorWant(dqe.ErrNotCompleted)},
		{"not eligible", "+99900000006", "error", errorWant(dqe.ErrNotCompleted)},
		{"invalid number", "+99900000008", "error", errorWant(dqe.ErrNotCompleted)},
		{"consent declined", "+99900000007", "error", errorWant(dqe.ErrAccessDenied)},
	}
	h := newHarness(t, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev := h.initiate(c.number)
			tok := sessionToken(dev)
			if m := h.get("/GET/", retrieveParams(tok)).JSON(t); m["status"] != "pending" {
				t.Fatalf("before the device: %v", m)
			}
			r := h.open(dev)
			loc, _ := url.Parse(r.Header.Get("Location"))
			if r.Status != http.StatusFound || loc.Query().Get("status") != c.redirect || loc.Query().Get("token") != tok {
				t.Fatalf("device: HTTP %d Location %q; want status=%s and the token", r.Status, loc, c.redirect)
			}
			// The device retrying changes nothing.
			if again := h.open(dev); again.Header.Get("Location") != r.Header.Get("Location") {
				t.Fatalf("a second visit redirects elsewhere: %q", again.Header.Get("Location"))
			}
			got := h.get("/GET/", retrieveParams(tok)).JSON(t)
			if !sameMap(got, c.want) {
				t.Fatalf("result %v, want %v", got, c.want)
			}
			checkError(t, h.get("/GET/", retrieveParams(tok)), dqe.ErrInvalidToken)

			for what, s := range map[string]string{"the device url": dev, "the redirect": loc.String()} {
				noNumberIn(t, what, s, strings.ReplaceAll(c.number, " ", ""), "+33612345671")
			}
		})
	}
	noNumberIn(t, "the log", h.Logs.String(), "+99012345678", "+99012345677", "+33612345671", "+99011111199", "+99900000007")
}

// TestDeviceWithoutRedirect shows the done page when the backend gave no
// redirect_uri, and the session token taken from the url.
func TestDeviceWithoutRedirect(t *testing.T) {
	h := newHarness(t, nil)
	p := initiateParams(number)
	p.Del("redirect_uri")
	r := h.post("/IDMOBILE/", p)
	dev := r.JSON(t)["url"].(string)
	page := h.open(dev)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "Verification finished") {
		t.Fatalf("device: HTTP %d %s", page.Status, page.Body)
	}
	if m := h.get("/GET/", retrieveParams(sessionToken(dev))).JSON(t); m["numVerify"] != true {
		t.Fatalf("result %v", m)
	}
}

// TestAttemptRecord checks what the core stored: the dialect, the
// device's connection, and no clear number once decided.
func TestAttemptRecord(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	dev := h.initiate(number)
	h.open(dev)
	g, err := h.Store.GetGrant(ctx, "dqe_session", randid.Key(sessionToken(dev)), h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, err := h.Core.Get(ctx, g.AttemptID)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case a.Dialect != dqe.Dialect || a.ClientID != licence || g.ClientID != licence:
		t.Errorf("attempt of dialect %q, client %q", a.Dialect, a.ClientID)
	case a.State != string(core.StateDecided) || a.Outcome != string(core.OutcomeMatch):
		t.Errorf("attempt %s/%s, want decided/match", a.State, a.Outcome)
	case a.ClaimedNumber != "" || a.ClaimedHash == "":
		t.Error("the clear claimed number is kept, or its pseudonym is missing")
	case a.DeviceAddr != "127.0.0.1" || !strings.Contains(a.UserAgent, "Android"):
		t.Errorf("device connection recorded as %q, %q", a.DeviceAddr, a.UserAgent)
	case !strings.Contains(string(a.Data), `"operator":"numgate"`):
		t.Errorf("attempt data %s", a.Data)
	}
	if m := h.get("/GET/", retrieveParams(sessionToken(dev))).JSON(t); m["numVerify"] != true {
		t.Fatalf("result %v", m)
	}
	if a, _ = h.Core.Get(ctx, g.AttemptID); a.State != string(core.StateConsumed) || a.DeviceNumber != "" {
		t.Errorf("after retrieval: state %s, device number kept %v", a.State, a.DeviceNumber != "")
	}
}

// TestConcurrentRetrieval: of two backends polling a decided session at
// once, exactly one gets the result.
func TestConcurrentRetrieval(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.initiate(number)
	h.open(dev)
	tok := sessionToken(dev)
	var wg sync.WaitGroup
	results := make([]map[string]any, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.get("/GET/", retrieveParams(tok)).JSON(t)
		}()
	}
	wg.Wait()
	won := 0
	for _, m := range results {
		switch {
		case m["status"] == "success":
			won++
		case m["error_id"] != string(dqe.ErrInvalidToken):
			t.Errorf("loser got %v, want error 30", m)
		}
	}
	if won != 1 {
		t.Fatalf("%d pollers got the result, want exactly 1", won)
	}
}

// TestConfig checks New's validation.
func TestConfig(t *testing.T) {
	_, err := dqe.New(dqe.Config{BaseURL: "ftp://x/", Lifetime: -1})
	if err == nil {
		t.Fatal("a bad config was accepted")
	}
	for _, want := range []string{"Store", "Core", "BaseURL", "negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not report %s: %v", want, err)
		}
	}
	var _ dqe.Attempts = (*core.Service)(nil)
}

func errorWant(id dqe.ErrorID) map[string]any {
	types := map[dqe.ErrorID]string{
		dqe.ErrOperatorNoData: "failed to retrieve data from operator",
		dqe.ErrNotCompleted:   "OTP process failed",
		dqe.ErrAccessDenied:   "access denied",
	}
	return map[string]any{"status": "error", "error_id": string(id), "error_type": types[id]}
}

func sameMap(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestDeviceHeadChangesNothing: a HEAD on the device url (a link checker)
// does not identify anyone; the device's own GET afterwards decides.
func TestDeviceHeadChangesNothing(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.initiate("+99900000003") // not identifiable: any visit would decide it
	req, err := http.NewRequest(http.MethodHead, dev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := h.do(req); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD: HTTP %d, want 405", r.Status)
	}
	if m := h.get("/GET/", retrieveParams(sessionToken(dev))).JSON(t); m["status"] != "pending" {
		t.Fatalf("after a HEAD: %v, want pending", m)
	}
}
