package core_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/ratelimit"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// network answers from a fixed table keyed by the connection's address.
type fixedNetwork map[string]struct {
	number string
	err    error
}

func (f fixedNetwork) Identify(ctx context.Context, c network.Connection) (network.Identity, error) {
	a, ok := f[c.Addr.String()]
	if !ok {
		return network.Identity{}, network.ErrNotIdentifiable
	}
	if a.err != nil {
		return network.Identity{}, a.err
	}
	return network.Identity{Number: a.number, Source: "test"}, nil
}

func newService(t *testing.T, ident network.Identifier, tweak ...func(*core.Config, *clock)) (*core.Service, *clock, *bytes.Buffer) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "core.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, _ := msisdn.NewPseudonymizer(bytes.Repeat([]byte{7}, 32))
	clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	var logs bytes.Buffer
	cfg := core.Config{
		Store: st, Identifier: ident, Pseudonymizer: p, Now: clk.Now,
		Lifetime: time.Minute, IdentifyTimeout: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	for _, f := range tweak {
		f(&cfg, clk)
	}
	svc, err := core.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, clk, &logs
}

func conn(addr string) network.Connection {
	return network.Connection{Addr: netip.MustParseAddr(addr)}
}

var testNet = fixedNetwork{
	"10.0.0.1": {number: "+31612345678"},
	"10.0.0.2": {err: network.ErrUnavailable},
	"10.0.0.3": {err: network.ErrNotEligible},
	"10.0.0.4": {err: network.ErrConsentDeclined},
	"10.0.0.5": {err: network.ErrInvalidNumber},
	"10.0.0.6": {number: "garbage"},
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name, claimed, addr string
		want                core.Outcome
	}{
		{"match", "+31612345678", "10.0.0.1", core.OutcomeMatch},
		{"no match", "+31699999999", "10.0.0.1", core.OutcomeNoMatch},
		{"identified, no claim yet", "", "10.0.0.1", core.OutcomeIdentified},
		{"wifi", "+31612345678", "192.0.2.1", core.OutcomeNotIdentifiable},
		{"operator down", "+31612345678", "10.0.0.2", core.OutcomeOperatorUnavailable},
		{"not eligible", "+31612345678", "10.0.0.3", core.OutcomeNotEligible},
		{"consent declined", "+31612345678", "10.0.0.4", core.OutcomeConsentDeclined},
		{"invalid number", "+31612345678", "10.0.0.5", core.OutcomeInvalidNumber},
		{"network returns junk", "+31612345678", "10.0.0.6", core.OutcomeOperatorUnavailable},
	}
	svc, _, logs := newService(t, testNet)
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "test", ClaimedNumber: c.claimed})
			if err != nil {
				t.Fatal(err)
			}
			got, err := svc.DeviceArrived(ctx, a.ID, conn(c.addr), "ua")
			if err != nil {
				t.Fatal(err)
			}
			if core.Outcome(got.Outcome) != c.want || core.State(got.State) != core.StateDecided {
				t.Fatalf("outcome %s state %s, want %s decided", got.Outcome, got.State, c.want)
			}
			if got.ClaimedNumber != "" {
				t.Error("the clear claimed number is kept after the decision")
			}
			if c.claimed != "" && got.ClaimedHash == "" {
				t.Error("no pseudonym of the claimed number")
			}
			// Idempotent: the device retrying changes nothing.
			again, err := svc.DeviceArrived(ctx, a.ID, conn("10.0.0.2"), "ua")
			if err != nil || again.Outcome != got.Outcome || again.UpdatedAt != got.UpdatedAt {
				t.Fatalf("second arrival changed the attempt: %+v %v", again, err)
			}
		})
	}
	for _, n := range []string{"+31612345678", "+31699999999", "31612345678"} {
		if strings.Contains(logs.String(), n) {
			t.Fatalf("a phone number reached the log:\n%s", logs)
		}
	}
}

func TestStartRejectsMalformedNumber(t *testing.T) {
	svc, _, _ := newService(t, testNet)
	_, err := svc.Start(context.Background(), core.StartRequest{ClaimedNumber: "0612345678"})
	if !errors.Is(err, core.ErrInvalidClaim) {
		t.Fatalf("err = %v", err)
	}
}

func TestCompareOnce(t *testing.T) {
	svc, _, _ := newService(t, testNet)
	ctx := context.Background()
	cases := []struct {
		name  string
		claim core.Claim
		want  bool
	}{
		{"number", core.Claim{Number: "+31612345678"}, true},
		{"other number", core.Claim{Number: "+31612345679"}, false},
		{"hash", core.Claim{Hash: msisdn.Hash("+31612345678")}, true},
		{"hash upper case", core.Claim{Hash: strings.ToUpper(msisdn.Hash("+31612345678"))}, true},
		{"other hash", core.Claim{Hash: msisdn.Hash("+31612345679")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, _ := svc.Start(ctx, core.StartRequest{ClientID: "c"})
			if _, err := svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), ""); err != nil {
				t.Fatal(err)
			}
			got, err := svc.Compare(ctx, a.ID, c.claim)
			if err != nil || got != c.want {
				t.Fatalf("Compare = %v, %v; want %v", got, err, c.want)
			}
			if _, err := svc.Compare(ctx, a.ID, c.claim); !errors.Is(err, core.ErrWrongState) {
				t.Fatalf("second Compare: %v, want ErrWrongState", err)
			}
			stored, _ := svc.Get(ctx, a.ID)
			if stored.State != string(core.StateConsumed) || stored.DeviceNumber != "" {
				t.Fatalf("after Compare: state %s, device number kept %v", stored.State, stored.DeviceNumber != "")
			}
		})
	}
	t.Run("bad claims change nothing", func(t *testing.T) {
		a, _ := svc.Start(ctx, core.StartRequest{ClientID: "c"})
		svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), "")
		for _, bad := range []core.Claim{{}, {Number: "+31612345678", Hash: msisdn.Hash("+31612345678")}, {Number: "123"}, {Hash: "xyz"}} {
			if _, err := svc.Compare(ctx, a.ID, bad); !errors.Is(err, core.ErrInvalidClaim) {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if ok, err := svc.Compare(ctx, a.ID, core.Claim{Number: "+31612345678"}); !ok || err != nil {
			t.Fatalf("attempt changed by bad claims: %v %v", ok, err)
		}
	})
}

func TestTakeOnce(t *testing.T) {
	svc, _, _ := newService(t, testNet)
	ctx := context.Background()
	a, _ := svc.Start(ctx, core.StartRequest{ClientID: "c"})
	svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), "")
	got, err := svc.Take(ctx, a.ID)
	if err != nil || got.DeviceNumber != "+31612345678" {
		t.Fatalf("Take = %+v, %v", got, err)
	}
	if _, err := svc.Take(ctx, a.ID); !errors.Is(err, core.ErrWrongState) {
		t.Fatalf("second Take: %v", err)
	}
	if _, err := svc.Take(ctx, "no-such-attempt"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("unknown attempt: %v", err)
	}
}

func TestDeadline(t *testing.T) {
	svc, clk, _ := newService(t, testNet)
	ctx := context.Background()
	late, _ := svc.Start(ctx, core.StartRequest{ClientID: "c", ClaimedNumber: "+31612345678"})
	swept, _ := svc.Start(ctx, core.StartRequest{ClientID: "c", ClaimedNumber: "+31612345678"})
	decided, _ := svc.Start(ctx, core.StartRequest{ClientID: "c", ClaimedNumber: "+31612345678"})
	svc.DeviceArrived(ctx, decided.ID, conn("10.0.0.1"), "")
	clk.Add(time.Minute)
	if a, _ := svc.Get(ctx, late.ID); a.State != string(core.StateCreated) {
		t.Fatalf("expired at its deadline already: %s", a.State)
	}
	clk.Add(time.Millisecond)

	if _, err := svc.DeviceArrived(ctx, late.ID, conn("10.0.0.1"), ""); !errors.Is(err, core.ErrExpired) {
		t.Fatalf("late device: %v", err)
	}
	got, _ := svc.Get(ctx, late.ID)
	if got.State != string(core.StateExpired) || got.Outcome != string(core.OutcomeExpired) || got.ClaimedNumber != "" {
		t.Fatalf("late attempt: %+v", got)
	}
	expired, err := svc.ExpireDue(ctx, 10)
	if err != nil || len(expired) != 1 || expired[0].ID != swept.ID {
		t.Fatalf("ExpireDue = %d attempts, %v; want only the open one", len(expired), err)
	}
	if again, _ := svc.ExpireDue(ctx, 10); len(again) != 0 {
		t.Fatalf("expired twice: %d", len(again))
	}
	if d, _ := svc.Get(ctx, decided.ID); d.State != string(core.StateDecided) {
		t.Fatalf("a decided attempt must not expire by deadline: %s", d.State)
	}
}

func TestSlowNetworkTimesOut(t *testing.T) {
	slow := network.IdentifierFunc(func(ctx context.Context, c network.Connection) (network.Identity, error) {
		<-ctx.Done()
		return network.Identity{}, errors.Join(network.ErrUnavailable, ctx.Err())
	})
	svc, _, _ := newService(t, slow)
	ctx := context.Background()
	a, _ := svc.Start(ctx, core.StartRequest{ClientID: "c", ClaimedNumber: "+31612345678"})
	got, err := svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), "")
	if err != nil || got.Outcome != string(core.OutcomeOperatorUnavailable) {
		t.Fatalf("%+v %v", got, err)
	}
	if !core.Outcome(got.Outcome).FallbackAdvised() {
		t.Error("an unavailable operator should advise a fallback")
	}
}

// TestIdentifyInOneStep: Identify decides exactly as Start + DeviceArrived
// would, and stores the attempt already decided.
func TestIdentifyInOneStep(t *testing.T) {
	svc, _, _ := newService(t, testNet)
	ctx := context.Background()
	for claimed, want := range map[string]core.Outcome{
		"+31612345678": core.OutcomeMatch, "+31699999999": core.OutcomeNoMatch, "": core.OutcomeIdentified,
	} {
		a, err := svc.Identify(ctx, core.StartRequest{ClientID: "c", ClaimedNumber: claimed}, conn("10.0.0.1"), "ua")
		if err != nil || a.Outcome != string(want) {
			t.Fatalf("%q: %+v %v", claimed, a, err)
		}
		stored, err := svc.Get(ctx, a.ID)
		if err != nil || stored.State != string(core.StateDecided) || stored.Outcome != string(want) || stored.ClaimedNumber != "" {
			t.Fatalf("%q stored as %+v %v", claimed, stored, err)
		}
	}
	if _, err := svc.Identify(ctx, core.StartRequest{ClaimedNumber: "12345"}, conn("10.0.0.1"), ""); !errors.Is(err, core.ErrInvalidClaim) {
		t.Fatalf("malformed claim: %v", err)
	}
}

// countingNetwork counts identifications.
type countingNetwork struct {
	network.Identifier
	mu sync.Mutex
	n  int
}

func (c *countingNetwork) Identify(ctx context.Context, conn network.Connection) (network.Identity, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Identifier.Identify(ctx, conn)
}

// TestRateLimits: a start refused by the Limiter is ErrRateLimited, stores
// nothing, asks the network nothing, and spends nobody else's allowance.
func TestRateLimits(t *testing.T) {
	nw := &countingNetwork{Identifier: testNet}
	svc, clk, logs := newService(t, nw, func(c *core.Config, clk *clock) {
		perClient, _ := ratelimit.ParseLimit("3/h")
		perNumber, _ := ratelimit.ParseLimit("2/h")
		c.Limiter = ratelimit.New(ratelimit.Config{PerClient: perClient, PerNumber: perNumber, Now: clk.Now})
	})
	ctx := context.Background()
	start := func(client, number string) error {
		_, err := svc.Start(ctx, core.StartRequest{ClientID: client, Dialect: "test", ClaimedNumber: number})
		return err
	}
	steps := []struct {
		client, number string
		limited        bool
	}{
		{"a", "+31612345678", false},
		{"a", "+31612345678", false},
		{"a", "+31612345678", true}, // the number's 2/h
		{"a", "+31687654321", false},
		{"a", "+31611111111", true}, // the client's 3/h
		{"b", "+31611111111", false},
	}
	for i, s := range steps {
		err := start(s.client, s.number)
		if limited := errors.Is(err, core.ErrRateLimited); limited != s.limited || (err != nil && !limited) {
			t.Fatalf("step %d (%s): %v, want limited=%v", i+1, s.client, err, s.limited)
		}
		if s.limited && ratelimit.RetryAfter(err) <= 0 {
			t.Errorf("step %d: no retry time", i+1)
		}
	}
	clk.Add(2 * time.Minute)
	expired, err := svc.ExpireDue(ctx, 100)
	if err != nil || len(expired) != 4 {
		t.Fatalf("%d attempts stored (%v), want the 4 allowed", len(expired), err)
	}

	// The device-facing route counts per device network: client_id and
	// login_hint are public there, so a device spends only its own
	// allowance — not the client's, not the number's.
	identify := func(client, device string) error {
		c := network.Connection{} // unresolved: a Forwarded "unknown", a Unix socket
		if device != "" {
			c = conn(device)
		}
		_, err := svc.Identify(ctx, core.StartRequest{ClientID: client, Dialect: "test", ClaimedNumber: "+31612345678"}, c, "ua")
		return err
	}
	devSteps := []struct {
		client, device string
		limited        bool
	}{
		{"a", "10.0.0.1", false}, // client a and the number are spent on the backend route
		{"a", "10.0.0.1", false},
		{"a", "10.0.0.1", true}, // this device's 2/h for the number
		{"a", "10.0.0.2", false},
		{"a", "2001:db8:1:2::7", false},
		{"a", "2001:db8:1:2::8", false},
		{"a", "2001:db8:1:2::9", true},  // one /64 is one device network
		{"a", "::ffff:10.0.0.2", false}, // the IPv4 device, mapped: its second
		{"a", "10.0.0.2", true},
		{"a", "", false}, // an unresolved address: a bucket of its own,
		{"a", "", false}, // never the backends' (spent) ones
		{"a", "", true},
	}
	before := nw.n
	for i, s := range devSteps {
		err := identify(s.client, s.device)
		if limited := errors.Is(err, core.ErrRateLimited); limited != s.limited || (err != nil && !limited) {
			t.Fatalf("device step %d (%s): %v, want limited=%v", i+1, s.device, err, s.limited)
		}
	}
	if got := nw.n - before; got != 8 {
		t.Errorf("%d identifications, want the 8 allowed: a refusal asked the network", got)
	}
	if strings.Contains(logs.String(), "3161") || strings.Contains(logs.String(), "3168") {
		t.Errorf("a log line carries a number:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "attempt refused") {
		t.Errorf("refusals are not logged:\n%s", logs)
	}
}

// TestReports: an attempt started with Report is due for its report once
// it ends, whichever way, until Reported clears the mark; one without is
// never due.
func TestReports(t *testing.T) {
	svc, clk, _ := newService(t, testNet)
	ctx := context.Background()
	due := func() []string {
		t.Helper()
		as, err := svc.DueReports(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range as {
			ids = append(ids, a.ID)
		}
		return ids
	}
	decided, _ := svc.Start(ctx, core.StartRequest{ClientID: "c", Report: true})
	clk.Add(time.Second)
	expiring, _ := svc.Start(ctx, core.StartRequest{ClientID: "c", Report: true})
	silent, _ := svc.Start(ctx, core.StartRequest{ClientID: "c"})
	if !decided.ReportAt.Equal(decided.CreatedAt) || !silent.ReportAt.IsZero() {
		t.Fatalf("ReportAt %v and %v", decided.ReportAt, silent.ReportAt)
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("open attempts due: %v", got)
	}
	if _, err := svc.Reported(ctx, decided.ID, nil); !errors.Is(err, core.ErrWrongState) {
		t.Fatalf("Reported on an open attempt: %v", err)
	}
	svc.DeviceArrived(ctx, decided.ID, conn("10.0.0.1"), "")
	svc.DeviceArrived(ctx, silent.ID, conn("10.0.0.1"), "")
	if got := due(); len(got) != 1 || got[0] != decided.ID {
		t.Fatalf("due after the decision: %v", got)
	}
	clk.Add(2 * time.Minute)
	if _, err := svc.ExpireDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 2 || got[0] != decided.ID || got[1] != expiring.ID {
		t.Fatalf("due after the expiry: %v", got)
	}
	a, err := svc.Reported(ctx, decided.ID, []byte(`{"notified":true}`))
	if err != nil || !a.ReportAt.IsZero() || string(a.Data) != `{"notified":true}` || a.State != string(core.StateDecided) {
		t.Fatalf("Reported = %+v, %v", a, err)
	}
	if _, err := svc.Reported(ctx, expiring.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("due after Reported: %v", got)
	}
}

// TestMetrics: the attempt counters count what happened, by dialect,
// outcome and limit, and carry no number in any label.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	svc, _, _ := newService(t, testNet, func(c *core.Config, clk *clock) {
		perNumber, _ := ratelimit.ParseLimit("1/h")
		c.Limiter = ratelimit.New(ratelimit.Config{PerNumber: perNumber, Now: clk.Now})
		c.Registerer = reg
	})
	ctx := context.Background()
	a, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "kpn", ClaimedNumber: "+31612345678"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), "ua"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "kpn", ClaimedNumber: "+31612345678"}); !errors.Is(err, core.ErrRateLimited) {
		t.Fatalf("second start: %v, want ErrRateLimited", err)
	}
	if _, err := svc.Identify(ctx, core.StartRequest{ClientID: "c", Dialect: "camara"}, conn("10.9.9.9"), "ua"); err != nil {
		t.Fatal(err)
	}

	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, lp := range m.GetLabel() {
				key += " " + lp.GetName() + "=" + lp.GetValue()
				if strings.Contains(lp.GetValue(), "3161") {
					t.Errorf("a label carries a number: %s", key)
				}
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"numgate_attempts_started_total dialect=kpn":                             1,
		"numgate_attempts_started_total dialect=camara":                          1,
		"numgate_attempts_decided_total dialect=kpn outcome=match":               1,
		"numgate_attempts_decided_total dialect=camara outcome=not_identifiable": 1,
		"numgate_attempts_refused_total dialect=kpn limit=number":                1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counters:\n got %v\nwant %v", got, want)
	}
}

// gatedNetwork answers like testNet once its gate opens.
type gatedNetwork struct {
	asked, gate chan struct{}
}

func (g gatedNetwork) Identify(ctx context.Context, c network.Connection) (network.Identity, error) {
	g.asked <- struct{}{}
	<-g.gate
	return testNet.Identify(ctx, c)
}

// TestExpiryWaitsForTheNetwork: a device that arrives just before the
// deadline is decided by the network's answer, even when the expiry sweep
// runs while the network is being asked; only an attempt whose device
// never came expires.
func TestExpiryWaitsForTheNetwork(t *testing.T) {
	nw := gatedNetwork{asked: make(chan struct{}), gate: make(chan struct{})}
	svc, clk, _ := newService(t, nw, func(c *core.Config, _ *clock) {
		c.IdentifyTimeout = 10 * time.Second // a loaded machine must not time the network out
	})
	ctx := context.Background()
	late, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "test", ClaimedNumber: "+31612345678"})
	if err != nil {
		t.Fatal(err)
	}
	never, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "test"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute - time.Millisecond) // just before the deadline
	decided := make(chan store.Attempt, 1)
	go func() {
		a, err := svc.DeviceArrived(ctx, late.ID, conn("10.0.0.1"), "ua")
		if err != nil {
			t.Errorf("DeviceArrived: %v", err)
		}
		decided <- a
	}()
	<-nw.asked
	clk.Add(time.Millisecond + 100*time.Millisecond) // past the deadline, the network still asked
	expired, err := svc.ExpireDue(ctx, 10)
	if err != nil || len(expired) != 1 || expired[0].ID != never.ID {
		t.Fatalf("ExpireDue while the network is asked: %d expired (%v), want only the attempt whose device never came", len(expired), err)
	}
	close(nw.gate)
	if a := <-decided; a.State != string(core.StateDecided) || a.Outcome != string(core.OutcomeMatch) {
		t.Errorf("the late device's attempt: %s %s, want decided match", a.State, a.Outcome)
	}
}

// TestGetWaitsForTheNetwork: a reader past the deadline (a KPN poll, a DQE
// /GET/) does not expire an attempt whose device came in time while the
// network is still being asked; the network's answer decides it.
func TestGetWaitsForTheNetwork(t *testing.T) {
	nw := gatedNetwork{asked: make(chan struct{}), gate: make(chan struct{})}
	svc, clk, _ := newService(t, nw, func(c *core.Config, _ *clock) {
		c.IdentifyTimeout = 10 * time.Second // a loaded machine must not time the network out
	})
	ctx := context.Background()
	late, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "test", ClaimedNumber: "+31612345678"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute - time.Millisecond) // just before the deadline
	type result struct {
		a   store.Attempt
		err error
	}
	decided := make(chan result, 1)
	go func() {
		a, err := svc.DeviceArrived(ctx, late.ID, conn("10.0.0.1"), "ua")
		decided <- result{a, err}
	}()
	<-nw.asked
	clk.Add(time.Millisecond + 100*time.Millisecond) // past the deadline, the network still asked
	got, err := svc.Get(ctx, late.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != string(core.StateDeviceSeen) {
		t.Errorf("Get while the network is asked: state %s, want device_seen", got.State)
	}
	close(nw.gate)
	r := <-decided
	if r.err != nil || r.a.State != string(core.StateDecided) || r.a.Outcome != string(core.OutcomeMatch) {
		t.Errorf("the late device's attempt: %s %s (%v), want decided match", r.a.State, r.a.Outcome, r.err)
	}
	// Once the network's time is up, a reader expires it as before.
	never, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "test"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	if x, err := svc.Get(ctx, never.ID); err != nil || x.State != string(core.StateExpired) {
		t.Errorf("Get past the deadline of an attempt whose device never came: %s (%v), want expired", x.State, err)
	}
}

// TestDeviceArrivedTwiceAtOnce: a device that opens its URL a second time
// while its first request is still being identified (a double tap, a
// browser retrying, a second replica) gets the decided attempt, as the
// first request does, not the undecided one: a dialect turns the answer
// into what it tells the device (DQE's status=success or error).
func TestDeviceArrivedTwiceAtOnce(t *testing.T) {
	nw := gatedNetwork{asked: make(chan struct{}), gate: make(chan struct{})}
	svc, _, _ := newService(t, nw, func(c *core.Config, _ *clock) {
		c.IdentifyTimeout = 10 * time.Second // a loaded machine must not time the network out
	})
	ctx := context.Background()
	a, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "test", ClaimedNumber: "+31612345678"})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		a   store.Attempt
		err error
	}
	first, second := make(chan result, 1), make(chan result, 1)
	go func() {
		x, err := svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), "ua")
		first <- result{x, err}
	}()
	<-nw.asked // the first request is being identified
	go func() {
		x, err := svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), "ua")
		second <- result{x, err}
	}()
	select {
	case r := <-second:
		t.Fatalf("the second arrival answered before the network did: %s %q (%v), want it to wait for the decision", r.a.State, r.a.Outcome, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	close(nw.gate)
	for name, ch := range map[string]chan result{"first": first, "second": second} {
		r := <-ch
		if r.err != nil || r.a.State != string(core.StateDecided) || r.a.Outcome != string(core.OutcomeMatch) {
			t.Errorf("%s arrival: %s %q (%v), want decided match", name, r.a.State, r.a.Outcome, r.err)
		}
	}
}

// ctxNetwork answers like testNet once its gate opens, or gives up (as
// every real identifier does) when its context ends first.
type ctxNetwork struct {
	asked, gate chan struct{}
}

func (g ctxNetwork) Identify(ctx context.Context, c network.Connection) (network.Identity, error) {
	g.asked <- struct{}{}
	select {
	case <-g.gate:
		return testNet.Identify(ctx, c)
	case <-ctx.Done():
		return network.Identity{}, errors.Join(network.ErrUnavailable, ctx.Err())
	}
}

// TestDeviceGoneWhileIdentified: a device whose request goes away while the
// network is being asked (a browser that gives up, a double tap that
// cancels the first request) does not leave the attempt undecided, nor
// decided by the disconnect: the network's answer decides it, and the
// device's retry and the backend see that answer.
func TestDeviceGoneWhileIdentified(t *testing.T) {
	nw := ctxNetwork{asked: make(chan struct{}), gate: make(chan struct{})}
	svc, _, _ := newService(t, nw, func(c *core.Config, _ *clock) {
		c.IdentifyTimeout = 10 * time.Second // a loaded machine must not time the network out
	})
	a, err := svc.Start(context.Background(), core.StartRequest{ClientID: "c", Dialect: "test", ClaimedNumber: "+31612345678"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), "ua")
		done <- err
	}()
	<-nw.asked
	cancel() // the device's connection closes
	time.Sleep(20 * time.Millisecond)
	close(nw.gate) // the network answers
	<-done
	got, err := svc.Get(context.Background(), a.ID)
	if err != nil || got.State != string(core.StateDecided) || got.Outcome != string(core.OutcomeMatch) {
		t.Fatalf("after the device went away: %s %q (%v), want decided match", got.State, got.Outcome, err)
	}
}

// TestDeviceArrivedExpiredMeanwhile: when the network's answer comes too
// late to count (the sweep expired the attempt once the identification's
// time was up), the device gets ErrExpired, as a late device does, not an
// internal error.
func TestDeviceArrivedExpiredMeanwhile(t *testing.T) {
	var svc *core.Service
	var clk *clock
	late := network.IdentifierFunc(func(ctx context.Context, c network.Connection) (network.Identity, error) {
		clk.Add(2 * time.Minute) // past the deadline and the identification's time
		if x, err := svc.ExpireDue(context.Background(), 10); err != nil || len(x) != 1 {
			t.Errorf("ExpireDue while identified: %d (%v)", len(x), err)
		}
		return testNet.Identify(ctx, c)
	})
	svc, clk, _ = newService(t, late)
	ctx := context.Background()
	a, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "test", ClaimedNumber: "+31612345678"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeviceArrived(ctx, a.ID, conn("10.0.0.1"), "ua"); !errors.Is(err, core.ErrExpired) {
		t.Fatalf("DeviceArrived on an attempt expired meanwhile: %v, want ErrExpired", err)
	}
	if got, _ := svc.Get(ctx, a.ID); got.State != string(core.StateExpired) {
		t.Fatalf("state %s, want expired", got.State)
	}
}
