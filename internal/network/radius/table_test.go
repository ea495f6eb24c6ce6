package radius

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/network"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// sec returns t0 plus n seconds.
func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// step is either an event to apply or a lookup to check.
type step struct {
	ev *Event
	// lookup
	domain string
	addr   string
	port   uint16
	at     int
	want   string // "" means not identifiable
	// sweep at this second instead, when set
	sweep int
}

func ev(st Status, gw, dom, session, number, v4, v6 string, at int) *Event {
	e := &Event{Status: st, Gateway: gw, Domain: dom, Session: session, Number: number, At: sec(at)}
	if v4 != "" {
		e.IPv4 = netip.MustParseAddr(v4)
	}
	if v6 != "" {
		e.IPv6 = netip.MustParsePrefix(v6)
	}
	return e
}

func withStart(e *Event, start int) *Event { e.SessionStart = sec(start); return e }

func nat(e *Event, pub string, lo, hi uint16) *Event {
	e.NAT = NATBlock{Addr: netip.MustParseAddr(pub), PortLo: lo, PortHi: hi}
	return e
}

func look(domain, addr string, port uint16, at int, want string) step {
	return step{domain: domain, addr: addr, port: port, at: at, want: want}
}

const (
	alice = "+31612345678"
	bob   = "+31687654321"
	carol = "+4915112345678"
)

func TestTableSemantics(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"start then lookup", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			look("internet", "10.0.0.1", 0, 10, alice),
			look("internet", "10.0.0.1", 0, 9, ""), // before the session started
			look("internet", "10.0.0.2", 0, 10, ""),
			look("corp", "10.0.0.1", 0, 10, ""),
			look(AnyDomain, "10.0.0.1", 0, 11, alice),
			look("internet", "::ffff:10.0.0.1", 0, 11, alice),
		}},
		{"interim recovers a lost start, dated by session time", []step{
			{ev: withStart(ev(StatusInterimUpdate, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 100), 40)},
			look("internet", "10.0.0.1", 0, 50, alice),
			look("internet", "10.0.0.1", 0, 39, ""),
		}},
		{"stop ends the binding at its time", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStop, "pgw1", "internet", "s1", "", "10.0.0.1", "", 20)},
			look("internet", "10.0.0.1", 0, 15, alice), // request made while it was live
			look("internet", "10.0.0.1", 0, 20, ""),
			look("internet", "10.0.0.1", 0, 25, ""),
		}},
		{"stop with another or no APN ends the session's binding", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStart, "pgw1", "corp", "s2", bob, "10.0.0.2", "", 10)},
			{ev: ev(StatusStop, "pgw1", "", "s1", "", "10.0.0.1", "", 20)},      // the Stop carries no Called-Station-Id
			{ev: ev(StatusStop, "pgw1", "other", "s9", "", "10.0.0.2", "", 20)}, // another session: ignored
			look("internet", "10.0.0.1", 0, 25, ""),
			look(AnyDomain, "10.0.0.1", 0, 25, ""),
			look("corp", "10.0.0.2", 0, 25, bob),
		}},
		{"stop from another gateway or session is ignored", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStop, "pgw2", "internet", "s1", "", "10.0.0.1", "", 20)},
			{ev: ev(StatusStop, "pgw1", "internet", "s9", "", "10.0.0.1", "", 20)},
			look("internet", "10.0.0.1", 0, 25, alice),
		}},
		{"tombstone: late retransmit does not resurrect", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStop, "pgw1", "internet", "s1", "", "10.0.0.1", "", 20)},
			{ev: ev(StatusInterimUpdate, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 21)},
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 22)},
			look("internet", "10.0.0.1", 0, 30, ""),
		}},
		{"tombstone survives reuse of the address", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStop, "pgw1", "internet", "s1", "", "10.0.0.1", "", 20)},
			{ev: ev(StatusStart, "pgw1", "internet", "s2", bob, "10.0.0.1", "", 30)},
			{ev: withStart(ev(StatusInterimUpdate, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 40), 10)},
			look("internet", "10.0.0.1", 0, 45, bob),
		}},
		{"reuse by another subscriber: old one never matches", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			// Alice's Stop was lost; Bob gets the address.
			{ev: ev(StatusStart, "pgw1", "internet", "s2", bob, "10.0.0.1", "", 50)},
			look("internet", "10.0.0.1", 0, 60, bob),
			look("internet", "10.0.0.1", 0, 40, ""), // Bob did not own it yet; we do not guess Alice
			// A late Interim of Alice's older session changes nothing.
			{ev: withStart(ev(StatusInterimUpdate, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 70), 10)},
			look("internet", "10.0.0.1", 0, 75, bob),
		}},
		{"accounting-on clears the gateway only", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStart, "pgw2", "internet", "s2", bob, "10.0.0.2", "", 10)},
			{ev: &Event{Status: StatusAccountingOn, Gateway: "pgw1", At: sec(30)}},
			look("internet", "10.0.0.1", 0, 31, ""),
			look("internet", "10.0.0.1", 0, 20, alice),
			look("internet", "10.0.0.2", 0, 31, bob),
			// A pre-reboot session's late Interim does not come back...
			{ev: withStart(ev(StatusInterimUpdate, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 35), 10)},
			look("internet", "10.0.0.1", 0, 36, ""),
			// ...but a new session after the reboot does.
			{ev: ev(StatusStart, "pgw1", "internet", "s3", carol, "10.0.0.1", "", 40)},
			look("internet", "10.0.0.1", 0, 41, carol),
			// A late copy of that reboot's Accounting-On (or an older one)
			// clears nothing more and lets no pre-reboot session back.
			{ev: &Event{Status: StatusAccountingOn, Gateway: "pgw1", At: sec(30)}},
			{ev: &Event{Status: StatusAccountingOn, Gateway: "pgw1", At: sec(20)}},
			look("internet", "10.0.0.1", 0, 45, carol),
			{ev: withStart(ev(StatusInterimUpdate, "pgw1", "internet", "s4", alice, "10.0.0.9", "", 46), 25)},
			look("internet", "10.0.0.9", 0, 47, ""),
		}},
		{"a late first Accounting-On ends only the sessions from before it", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			// The gateway reboots at 30; its Accounting-On is lost, and the
			// sessions it starts meanwhile are reported before the resent
			// copy (Event-Timestamp 30) arrives.
			{ev: ev(StatusStart, "pgw1", "internet", "s2", bob, "10.0.0.2", "", 40)},
			{ev: nat(ev(StatusStart, "pgw1", "internet", "n3", carol, "", "", 40), "198.51.100.1", 1024, 2047)},
			{ev: &Event{Status: StatusAccountingOn, Gateway: "pgw1", At: sec(30)}},
			look("internet", "10.0.0.1", 0, 45, ""),
			look("internet", "10.0.0.2", 0, 45, bob),
			look("internet", "198.51.100.1", 1500, 45, carol),
			// and their Interims keep them.
			{ev: withStart(ev(StatusInterimUpdate, "pgw1", "internet", "s2", bob, "10.0.0.2", "", 60), 40)},
			look("internet", "10.0.0.2", 0, 61, bob),
		}},
		{"accounting-off clears too", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "2001:db8:1:2::/64", 10)},
			{ev: &Event{Status: StatusAccountingOff, Gateway: "pgw1", At: sec(30)}},
			look("internet", "10.0.0.1", 0, 31, ""),
			look("internet", "2001:db8:1:2::1", 0, 31, ""),
		}},
		{"IMS APN is ignored", []step{
			{ev: ev(StatusStart, "pgw1", "ims", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStart, "pgw1", "IMS.mnc001.mcc204.gprs", "s1", alice, "10.0.0.3", "", 10)},
			look(AnyDomain, "10.0.0.1", 0, 11, ""),
			look(AnyDomain, "10.0.0.3", 0, 11, ""),
		}},
		{"IPv6: any address in the /64 matches", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "", "2001:db8:1:2::/64", 10)},
			look("internet", "2001:db8:1:2::1", 0, 11, alice),
			look("internet", "2001:db8:1:2:abcd:ef01:2345:6789", 0, 11, alice),
			look("internet", "2001:db8:1:3::1", 0, 11, ""),
			{ev: ev(StatusStop, "pgw1", "internet", "s1", "", "", "2001:db8:1:2::/64", 20)},
			look("internet", "2001:db8:1:2::1", 0, 21, ""),
		}},
		{"dual stack session", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "100.64.0.7", "2001:db8:9::/64", 10)},
			look("internet", "100.64.0.7", 0, 11, alice),
			look("internet", "2001:db8:9::42", 0, 11, alice),
		}},
		{"overlapping private pools in two domains", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStart, "pgw1", "corp.example", "s2", bob, "10.0.0.1", "", 10)},
			look("internet", "10.0.0.1", 0, 11, alice),
			look("corp.example", "10.0.0.1", 0, 11, bob),
			look(AnyDomain, "10.0.0.1", 0, 11, ""), // ambiguous: never a guess
			{ev: ev(StatusStop, "pgw1", "corp.example", "s2", "", "10.0.0.1", "", 12)},
			look(AnyDomain, "10.0.0.1", 0, 13, alice),
		}},
		{"CGNAT port blocks", []step{
			{ev: nat(ev(StatusStart, "cgnat1", "internet", "n1", alice, "", "", 10), "198.51.100.1", 1024, 2047)},
			{ev: nat(ev(StatusStart, "cgnat1", "internet", "n2", bob, "", "", 10), "198.51.100.1", 2048, 3071)},
			look("internet", "198.51.100.1", 1024, 11, alice),
			look("internet", "198.51.100.1", 2047, 11, alice),
			look("internet", "198.51.100.1", 2048, 11, bob),
			look("internet", "198.51.100.1", 4000, 11, ""),
			look("internet", "198.51.100.1", 0, 11, ""), // no port: shared address, not identifiable
			look(AnyDomain, "198.51.100.1", 3000, 11, bob),
			// The block moves to Carol: Alice never matches again.
			{ev: nat(ev(StatusStart, "cgnat1", "internet", "n3", carol, "", "", 20), "198.51.100.1", 1024, 2047)},
			look("internet", "198.51.100.1", 1500, 21, carol),
			{ev: nat(ev(StatusStop, "cgnat1", "internet", "n2", "", "", "", 30), "198.51.100.1", 2048, 3071)},
			look("internet", "198.51.100.1", 2100, 31, ""),
			look("internet", "198.51.100.1", 2100, 29, bob),
		}},
		{"a Stop naming only the inside address ends the session's port blocks", []step{
			{ev: nat(ev(StatusStart, "bng1", "internet", "A", alice, "100.64.0.1", "", 1000), "198.51.100.7", 1024, 1535)},
			look("internet", "198.51.100.7", 1100, 1500, alice),
			{ev: ev(StatusStop, "bng1", "internet", "A", "", "100.64.0.1", "", 2000)},
			look("internet", "198.51.100.7", 1100, 1999, alice),
			look("internet", "198.51.100.7", 1100, 2000, ""),
			look("internet", "198.51.100.7", 1100, 2500, ""),
			look("internet", "100.64.0.1", 0, 2500, ""),
			// B, a session older than A's, gets the block later on.
			{ev: withStart(nat(ev(StatusInterimUpdate, "bng1", "internet", "B", bob, "100.64.0.2", "", 2600), "198.51.100.7", 1024, 1535), 500)},
			look("internet", "198.51.100.7", 1100, 2700, bob),
			look("internet", "198.51.100.7", 1100, 2599, ""), // never A again
			look("internet", "100.64.0.2", 0, 2700, bob),
		}},
		{"a Stop naming no address ends the session's port blocks", []step{
			{ev: nat(ev(StatusStart, "cgnat1", "internet", "n1", alice, "", "", 10), "198.51.100.9", 1024, 2047)},
			look("internet", "198.51.100.9", 1100, 11, alice),
			{ev: ev(StatusStop, "cgnat1", "internet", "n1", "", "", "", 20)},
			look("internet", "198.51.100.9", 1100, 21, ""),
			// and its tombstone keeps a late Interim out
			{ev: withStart(nat(ev(StatusInterimUpdate, "cgnat1", "internet", "n1", alice, "", "", 15), "198.51.100.9", 1024, 2047), 10)},
			look("internet", "198.51.100.9", 1100, 25, ""),
		}},
		{"sweep forgets stopped bindings after the TTL", []step{
			{ev: ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10)},
			{ev: ev(StatusStop, "pgw1", "internet", "s1", "", "10.0.0.1", "", 20)},
			{sweep: 20 + 301},
			look("internet", "10.0.0.1", 0, 15, ""), // history gone: not identifiable
			// The tombstone is gone too: the session id may be reused.
			{ev: ev(StatusStart, "pgw1", "internet", "s1", bob, "10.0.0.1", "", 400)},
			look("internet", "10.0.0.1", 0, 401, bob),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Events reach the table no later than their time.
			tab := NewTable(TableConfig{IMSAPN: "ims", DefaultDomain: AnyDomain, TombstoneTTL: 5 * time.Minute, Now: func() time.Time { return t0 }})
			for i, s := range tt.steps {
				switch {
				case s.ev != nil:
					if _, err := tab.Apply(*s.ev); err != nil {
						t.Fatalf("step %d: Apply: %v", i, err)
					}
				case s.sweep != 0:
					tab.Sweep(sec(s.sweep))
				default:
					got, err := tab.Lookup(s.domain, netip.MustParseAddr(s.addr), s.port, sec(s.at))
					if s.want == "" {
						if !errors.Is(err, network.ErrNotIdentifiable) {
							t.Errorf("step %d: Lookup(%s, %s:%d @%d) = %q, %v; want not identifiable", i, s.domain, s.addr, s.port, s.at, got, err)
						}
						continue
					}
					if err != nil || got != s.want {
						t.Errorf("step %d: Lookup(%s, %s:%d @%d) = %q, %v; want %q", i, s.domain, s.addr, s.port, s.at, got, err, s.want)
					}
				}
			}
		})
	}
}

func TestApplyRejects(t *testing.T) {
	tab := NewTable(TableConfig{})
	for name, e := range map[string]*Event{
		"no address":   ev(StatusStart, "pgw1", "internet", "s1", alice, "", "", 10),
		"no session":   ev(StatusStart, "pgw1", "internet", "", alice, "10.0.0.1", "", 10),
		"bad number":   ev(StatusStart, "pgw1", "internet", "s1", "31612345678", "10.0.0.1", "", 10),
		"short prefix": ev(StatusStart, "pgw1", "internet", "s1", alice, "", "2001:db8::/48", 10),
	} {
		if ok, err := tab.Apply(*e); err == nil || ok {
			t.Errorf("%s: Apply = %v, %v; want an error", name, ok, err)
		}
	}
	if v4, v6, n := tab.Counts(); v4+v6+n != 0 {
		t.Errorf("rejected events left bindings: %d %d %d", v4, v6, n)
	}
}

func TestIdentify(t *testing.T) {
	tab := NewTable(TableConfig{DefaultDomain: "internet", Now: func() time.Time { return sec(100) }})
	if _, err := tab.Apply(*ev(StatusStart, "pgw1", "Internet", "s1", alice, "10.0.0.1", "", 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Apply(*ev(StatusStart, "pgw1", "corp", "s2", bob, "10.0.0.2", "", 10)); err != nil {
		t.Fatal(err)
	}
	got, err := tab.Identify(context.Background(), network.Connection{Addr: netip.MustParseAddr("10.0.0.1"), At: sec(20)})
	if err != nil || got != (network.Identity{Number: alice, Source: "radius"}) {
		t.Fatalf("Identify = %+v, %v", got, err)
	}
	// Zero time means now.
	if _, err := tab.Identify(context.Background(), network.Connection{Addr: netip.MustParseAddr("10.0.0.1")}); err != nil {
		t.Fatalf("Identify at now: %v", err)
	}
	// Only the default domain is searched.
	_, err = tab.Identify(context.Background(), network.Connection{Addr: netip.MustParseAddr("10.0.0.2"), At: sec(20)})
	if !errors.Is(err, network.ErrNotIdentifiable) {
		t.Fatalf("Identify in another domain: %v", err)
	}
	// In a Chain the table falls through to the next identifier.
	ch := network.Chain{tab, network.IdentifierFunc(func(context.Context, network.Connection) (network.Identity, error) {
		return network.Identity{Number: carol, Source: "next"}, nil
	})}
	if got, _ := ch.Identify(context.Background(), network.Connection{Addr: netip.MustParseAddr("192.0.2.1"), At: sec(20)}); got.Source != "next" {
		t.Fatalf("chain = %+v", got)
	}
}

func TestCounts(t *testing.T) {
	tab := NewTable(TableConfig{})
	tab.Apply(*ev(StatusStart, "pgw1", "", "s1", alice, "10.0.0.1", "2001:db8::/64", 10))
	tab.Apply(*ev(StatusStart, "pgw1", "", "s2", bob, "10.0.0.2", "", 10))
	if v4, v6, _ := tab.Counts(); v4 != 2 || v6 != 1 {
		t.Fatalf("counts = %d, %d", v4, v6)
	}
	tab.Apply(*ev(StatusStop, "pgw1", "", "s1", "", "10.0.0.1", "2001:db8::/64", 20))
	if v4, v6, _ := tab.Counts(); v4 != 1 || v6 != 0 {
		t.Fatalf("counts after stop = %d, %d", v4, v6)
	}
	tab.Apply(Event{Status: StatusAccountingOn, Gateway: "pgw1", At: sec(30)})
	if v4, v6, _ := tab.Counts(); v4 != 0 || v6 != 0 {
		t.Fatalf("counts after on = %d, %d", v4, v6)
	}
	tab.Sweep(sec(30 + 301))
	if n := tab.Stored(); n != 0 {
		t.Fatalf("stored after sweep = %d", n)
	}
}

// TestTableChurn drives many inserts, stops and sweeps through the hash
// table and checks it against a plain map.
func TestTableChurn(t *testing.T) {
	tab := NewTable(TableConfig{})
	want := map[uint32]bool{}
	clock := 10
	for round := range 6 {
		for i := range 20000 {
			a := uint32(0x0a000000 + (i*7919+round*31)%50000)
			addr := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
			sess := addr.String() + "-" + string(rune('a'+round))
			if i%3 == 0 && want[a] {
				continue
			}
			tab.Apply(Event{Status: StatusStart, Gateway: "g", Session: sess, Number: alice, IPv4: addr, At: sec(clock)})
			want[a] = true
			if i%5 == 0 {
				tab.Apply(Event{Status: StatusStop, Gateway: "g", Session: sess, IPv4: addr, At: sec(clock + 1)})
				want[a] = false
			}
		}
		clock += 1000
		tab.Sweep(sec(clock))
	}
	for a, live := range want {
		addr := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
		_, err := tab.Lookup("", addr, 0, sec(clock))
		if live != (err == nil) {
			t.Fatalf("%v: live=%v, lookup err=%v", addr, live, err)
		}
	}
}

func TestV6Key(t *testing.T) {
	for _, s := range []string{"2001:db8:1:2:3:4:5:6", "::1", "ffff:ffff:ffff:ffff::", "fe80::1%eth0"} {
		a := netip.MustParseAddr(s)
		b := a.As16()
		if got, want := v6key(a), binary.BigEndian.Uint64(b[:8]); got != want {
			t.Errorf("v6key(%s) = %#x, want %#x", s, got, want)
		}
	}
}

// TestTombstoneLateStop: a Stop whose Event-Timestamp lies further back than
// the tombstone TTL (a gateway that held its accounting back) still leaves a
// tombstone for the TTL from its arrival, so a late retransmitted Interim of
// the session cannot resurrect the binding.
func TestTombstoneLateStop(t *testing.T) {
	now := sec(1000)
	tab := NewTable(TableConfig{DefaultDomain: AnyDomain, TombstoneTTL: 5 * time.Minute, Now: func() time.Time { return now }})
	mustApply := func(e *Event) bool {
		t.Helper()
		ok, err := tab.Apply(*e)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	mustApply(ev(StatusStart, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 10))
	mustApply(ev(StatusStop, "pgw1", "internet", "s1", "", "10.0.0.1", "", 100)) // arrives at 1000
	now = sec(1080)
	tab.Sweep(now)
	if mustApply(withStart(ev(StatusInterimUpdate, "pgw1", "internet", "s1", alice, "10.0.0.1", "", 90), 10)) {
		t.Error("a late Interim of a stopped session was applied")
	}
	if n, err := tab.Lookup(AnyDomain, netip.MustParseAddr("10.0.0.1"), 0, sec(1090)); err == nil {
		t.Fatalf("stopped session resurrected: the address names %s", n)
	}
	// The tombstone goes the TTL after the Stop arrived.
	now = sec(1000 + 301)
	tab.Sweep(now)
	if !mustApply(ev(StatusStart, "pgw1", "internet", "s1", bob, "10.0.0.1", "", 1301)) {
		t.Error("tombstone kept past its TTL")
	}
}
