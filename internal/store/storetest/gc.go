package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

var gcTests = []test{
	{"RemovesExpired", testGCRemovesExpired},
	{"Empty", testGCEmpty},
	{"ManyGrants", testGCManyGrants},
	{"Deliveries", testGCDeliveries},
	{"ForgetDeviceNumbers", testForgetDeviceNumbers},
}

// testForgetDeviceNumbers: only decided attempts (result never taken) with
// a deadline in [from, to) lose their device number; outcome and hash stay,
// and nothing else changes.
func testForgetDeviceNumbers(t *testing.T, s store.Store) {
	ctx := t.Context()
	from, to := base, base.Add(time.Hour)
	mk := func(id, state, number string, deadline time.Time) store.Attempt {
		a := newAttempt(id)
		a.State, a.Outcome, a.DeviceNumber, a.DeviceHash, a.Deadline = state, "match", number, "h1:77aa", deadline
		must(t, "CreateAttempt", s.CreateAttempt(ctx, a))
		return a
	}
	forgotten := mk("att-untaken", "decided", "+15550100124", base.Add(time.Minute))
	kept := []store.Attempt{
		mk("att-at-to", "decided", "+15550100125", to), // the window is half-open
		mk("att-before", "decided", "+15550100126", base.Add(-time.Second)),
		mk("att-consumed", "consumed", "+15550100127", base.Add(time.Minute)),
		mk("att-open", "device_seen", "+15550100128", base.Add(time.Minute)),
	}
	n, err := s.ForgetDeviceNumbers(ctx, from, to)
	must(t, "ForgetDeviceNumbers", err)
	if n != 1 {
		t.Errorf("ForgetDeviceNumbers = %d, want 1", n)
	}
	got, err := s.GetAttempt(ctx, forgotten.ID)
	must(t, "GetAttempt", err)
	want := forgotten
	want.DeviceNumber = ""
	wantEqual(t, "the untaken attempt", got, want)
	for _, k := range kept {
		got, err := s.GetAttempt(ctx, k.ID)
		must(t, "GetAttempt", err)
		wantEqual(t, "attempt "+k.ID, got, k)
	}
	if n, err := s.ForgetDeviceNumbers(ctx, from, to); err != nil || n != 0 {
		t.Errorf("second ForgetDeviceNumbers = %d, %v; want 0", n, err)
	}
}

func testGCRemovesExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	const retain = time.Hour
	now := base

	grants := []struct {
		key     string
		expires time.Duration // from now
		removed bool
	}{
		{"expired-long-ago", -48 * time.Hour, true},
		{"expired", -time.Millisecond, true},
		{"expires-now", 0, true},
		{"alive", time.Millisecond, false},
		{"alive-long", time.Hour, false},
	}
	for _, g := range grants {
		gr := newGrant(store.GrantCode, g.key)
		gr.CreatedAt = now.Add(g.expires - time.Minute)
		gr.ExpiresAt = now.Add(g.expires)
		must(t, "PutGrant", s.PutGrant(ctx, gr))
	}
	attempts := []struct {
		id       string
		state    string
		deadline time.Duration // from now
		removed  bool
		report   bool // ReportAt set: the end is still to be reported
	}{
		{"consumed-old", "consumed", -retain - time.Minute, true, false},
		{"open-old", "created", -retain - time.Millisecond, true, false},
		{"expired-old", "expired", -30 * 24 * time.Hour, true, false},
		{"decided-recent", "decided", -retain + time.Minute, false, false},
		{"open-recent", "device_seen", -time.Minute, false, false},
		{"open-future", "created", time.Minute, false, false},
		{"unreported-old", "consumed", -30 * 24 * time.Hour, false, true},
	}
	for _, a := range attempts {
		at := newAttempt(a.id)
		at.State = a.state
		at.Deadline = now.Add(a.deadline)
		if a.report {
			at.ReportAt = at.Deadline
		}
		must(t, "CreateAttempt", s.CreateAttempt(ctx, at))
	}

	got, err := s.GarbageCollect(ctx, now, retain)
	must(t, "GarbageCollect", err)
	if want := (store.GCResult{Grants: 3, Attempts: 3}); got != want {
		t.Errorf("GarbageCollect: got %+v, want %+v", got, want)
	}

	// Look up at a time when every grant was valid: only a deleted one is missing.
	early := now.Add(-72 * time.Hour)
	for _, g := range grants {
		_, err := s.GetGrant(ctx, store.GrantCode, g.key, early)
		switch {
		case g.removed:
			wantErr(t, "GetGrant of collected grant "+g.key, err, store.ErrNotFound)
		default:
			must(t, "GetGrant of kept grant "+g.key, err)
		}
	}
	for _, a := range attempts {
		_, err := s.GetAttempt(ctx, a.id)
		switch {
		case a.removed:
			wantErr(t, "GetAttempt of collected attempt "+a.id, err, store.ErrNotFound)
		default:
			must(t, "GetAttempt of kept attempt "+a.id, err)
		}
	}

	got, err = s.GarbageCollect(ctx, now, retain)
	must(t, "second GarbageCollect", err)
	if got != (store.GCResult{}) {
		t.Errorf("second GarbageCollect: got %+v, want nothing removed", got)
	}
}

func testGCEmpty(t *testing.T, s store.Store) {
	got, err := s.GarbageCollect(t.Context(), base, time.Hour)
	must(t, "GarbageCollect", err)
	if got != (store.GCResult{}) {
		t.Errorf("GarbageCollect on an empty store: got %+v", got)
	}
}

// testGCManyGrants collects more expired grants than a backend might delete
// in one batch, of several kinds, interleaved with live ones.
func testGCManyGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := base
	const n = 1234
	kinds := []store.GrantKind{store.GrantAccessToken, store.GrantCode, "code_used"}
	for i := range n {
		g := newGrant(kinds[i%len(kinds)], fmt.Sprintf("k%05d", i))
		g.CreatedAt = now.Add(-time.Hour)
		g.ExpiresAt = now.Add(-time.Duration(i) * time.Second)
		if i%10 == 0 {
			g.ExpiresAt = now.Add(time.Minute) // alive
		}
		must(t, "PutGrant", s.PutGrant(ctx, g))
	}
	got, err := s.GarbageCollect(ctx, now, time.Hour)
	must(t, "GarbageCollect", err)
	alive := int64((n + 9) / 10)
	if want := (store.GCResult{Grants: n - alive}); got != want {
		t.Errorf("GarbageCollect: got %+v, want %+v", got, want)
	}
	for i := range n {
		_, err := s.GetGrant(ctx, kinds[i%len(kinds)], fmt.Sprintf("k%05d", i), now)
		if i%10 == 0 {
			must(t, "GetGrant of a live grant", err)
		} else if _, err := s.GetGrant(ctx, kinds[i%len(kinds)], fmt.Sprintf("k%05d", i), now.Add(-2*time.Hour)); err == nil {
			t.Fatalf("grant k%05d survived GarbageCollect", i)
		}
	}
}

// testGCDeliveries: webhook deliveries that ended (delivered or failed)
// more than retain ago are removed; recent ones stay, and a pending one
// stays however old it is, still claimable: the outbox loses nothing.
func testGCDeliveries(t *testing.T, s store.Store) {
	ctx := t.Context()
	const retain = time.Hour
	now := base
	deliveries := []struct {
		id      string
		state   string
		ended   time.Duration // UpdatedAt, from now
		removed bool
	}{
		{"delivered-old", store.DeliveryDelivered, -retain - time.Minute, true},
		{"failed-old", store.DeliveryFailed, -retain - time.Millisecond, true},
		{"delivered-recent", store.DeliveryDelivered, -retain + time.Minute, false},
		{"failed-recent", store.DeliveryFailed, -time.Second, false},
		{"pending-old", store.DeliveryPending, -48 * time.Hour, false},
	}
	for _, d := range deliveries {
		dv := newDelivery(d.id)
		dv.CreatedAt, dv.UpdatedAt, dv.NextTryAt = now.Add(-72*time.Hour), now.Add(-72*time.Hour), now.Add(-72*time.Hour)
		must(t, "EnqueueDelivery", s.EnqueueDelivery(ctx, dv))
		dv.State, dv.Tries, dv.UpdatedAt, dv.NextTryAt = d.state, 1, now.Add(d.ended), now.Add(d.ended)
		must(t, "RecordTry", s.RecordTry(ctx, dv))
	}

	got, err := s.GarbageCollect(ctx, now, retain)
	must(t, "GarbageCollect", err)
	if want := (store.GCResult{Deliveries: 2}); got != want {
		t.Errorf("GarbageCollect: got %+v, want %+v", got, want)
	}
	for _, d := range deliveries {
		_, err := s.GetDelivery(ctx, d.id)
		if d.removed {
			wantErr(t, "GetDelivery of collected delivery "+d.id, err, store.ErrNotFound)
		} else {
			must(t, "GetDelivery of kept delivery "+d.id, err)
		}
	}
	claimed, err := s.ClaimDeliveries(ctx, now, time.Minute, 10)
	must(t, "ClaimDeliveries", err)
	if len(claimed) != 1 || claimed[0].ID != "pending-old" {
		t.Errorf("claimed %d deliveries after GarbageCollect, want pending-old alone", len(claimed))
	}
}
