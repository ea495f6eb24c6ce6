package radius

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
)

// TestWALTornWriteThenMore: a write that fails half-way (here: the file
// size limit, as a full disk would) leaves part of a record in the
// segment. The events after it are acknowledged once durable, and must
// come back after a restart: replay stops at the first torn record of a
// segment, so they must not land behind the torn one. Here the lost event
// would be a Stop, and the stale binding would keep naming the subscriber.
func TestWALTornWriteThenMore(t *testing.T) {
	dir := t.TempDir()
	tab := NewTable(TableConfig{DefaultDomain: AnyDomain})
	w, err := openWAL(dir, tab, testLogger(t), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer w.f.Close()
	rec := func(e Event) []byte {
		r, err := toRec(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tab.apply(&r); err != nil {
			t.Fatal(err)
		}
		return appendRec(nil, &r)
	}
	start := rec(Event{Status: StatusStart, Gateway: "g", Session: "s1", Number: alice, IPv4: netip.MustParseAddr("10.0.0.1"), At: sec(10)})
	if err := w.write(start); err != nil {
		t.Fatal(err)
	}
	if err := w.f.Sync(); err != nil {
		t.Fatal(err)
	}

	// The next write is cut short by the file size limit.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	lim := old
	lim.Cur = uint64(w.size) + 10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip(err)
	}
	other := rec(Event{Status: StatusStart, Gateway: "g", Session: "s2", Number: bob, IPv4: netip.MustParseAddr("10.0.0.2"), At: sec(11)})
	werr := w.write(other)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if werr == nil {
		t.Skip("the size limit did not fail the write")
	}
	if !errors.Is(werr, syscall.EFBIG) {
		t.Logf("write error: %v", werr)
	}

	// The disk has room again: the Stop is written, synced, acknowledged.
	stop := rec(Event{Status: StatusStop, Gateway: "g", Session: "s1", IPv4: netip.MustParseAddr("10.0.0.1"), At: sec(20)})
	if err := w.write(stop); err != nil {
		t.Fatal(err)
	}
	if err := w.f.Sync(); err != nil {
		t.Fatal(err)
	}

	// Restart.
	tab2 := NewTable(TableConfig{DefaultDomain: AnyDomain})
	w2, err := openWAL(dir, tab2, testLogger(t), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.f.Close()
	if n, err := tab2.Lookup(AnyDomain, netip.MustParseAddr("10.0.0.1"), 0, sec(30)); err == nil {
		t.Fatalf("acknowledged Stop lost in recovery: 10.0.0.1 still names %s", n)
	}
}
