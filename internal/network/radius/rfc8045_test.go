package radius

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/numgate/numgate/internal/network"
)

// The builders below lay out RFC 8045 attributes byte by byte, as RFC 6929
// section 2.1 (Extended-Type-1) and RFC 8045 section 3 draw them.

// tlv is one TLV: TLV-Type, TLV-Length (header included), value.
func tlv(typ byte, v ...byte) []byte { return append([]byte{typ, byte(2 + len(v))}, v...) }

// intTLV is an integer TLV: 4 octets, big-endian, right-justified.
func intTLV(typ byte, x uint32) []byte {
	return tlv(typ, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
}

func ipTLV(typ byte, a string) []byte {
	b := netip.MustParseAddr(a).AsSlice()
	return tlv(typ, b...)
}

// ext is the value of an Extended-Type-1 (241) attribute: the
// Extended-Type octet, then the TLVs.
func ext(extType byte, tlvs ...[]byte) radius.Attribute {
	v := []byte{extType}
	for _, t := range tlvs {
		v = append(v, t...)
	}
	return v
}

// block is a well-formed IP-Port-Range attribute.
func block(alloc uint32, pub string, lo, hi uint32) radius.Attribute {
	return ext(extIPPortRange, intTLV(tlvIPPortAlloc, alloc), intTLV(tlvIPPortType, protoTCP),
		ipTLV(tlvIPPortExtIPv4, pub), intTLV(tlvIPPortRangeLo, lo), intTLV(tlvIPPortRangeHi, hi))
}

func packetWith(attrs ...radius.Attribute) *radius.Packet {
	p := radius.New(radius.CodeAccountingRequest, []byte(testSecret))
	for _, a := range attrs {
		p.Add(attrExtended1, a)
	}
	return p
}

func TestPortRanges(t *testing.T) {
	pub := netip.MustParseAddr("198.51.100.7")
	good := []struct {
		name  string
		attrs []radius.Attribute
		want  []portRange
	}{
		{"one block", []radius.Attribute{block(1, "198.51.100.7", 1024, 2047)},
			[]portRange{{alloc: 1, proto: 6, hasProto: true, ext: pub, lo: 1024, hi: 2047, hasRange: true}}},
		{"every TLV, any order", []radius.Attribute{ext(extIPPortRange,
			intTLV(tlvIPPortRangeHi, 65535), tlv(tlvIPPortLocalID, 'v', '7'), ipTLV(tlvIPPortIntIPv4, "100.64.0.1"),
			ipTLV(tlvIPPortIntIPv6, "2001:db8::1"), intTLV(tlvIPPortAlloc, 2), intTLV(tlvIPPortLimit, 1<<20),
			intTLV(tlvIPPortIntPort, 80), intTLV(tlvIPPortExtPort, 8080), ipTLV(tlvIPPortExtIPv4, "198.51.100.7"),
			intTLV(tlvIPPortRangeLo, 0))},
			[]portRange{{alloc: 2, ext: pub, lo: 0, hi: 65535, hasRange: true}}},
		{"no port range, no protocol", []radius.Attribute{ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), ipTLV(tlvIPPortExtIPv4, "198.51.100.7"))},
			[]portRange{{alloc: 1, ext: pub}}},
		{"two blocks", []radius.Attribute{block(1, "198.51.100.7", 1024, 2047), block(2, "198.51.100.7", 4096, 4096)},
			[]portRange{{alloc: 1, proto: 6, hasProto: true, ext: pub, lo: 1024, hi: 2047, hasRange: true},
				{alloc: 2, proto: 6, hasProto: true, ext: pub, lo: 4096, hi: 4096, hasRange: true}}},
		{"limit info and forwarding map are checked, not returned", []radius.Attribute{
			ext(extIPPortLimitInfo, intTLV(tlvIPPortLimit, 2048), intTLV(tlvIPPortType, 17)),
			ext(extIPPortForwardingMap, intTLV(tlvIPPortIntPort, 22), intTLV(tlvIPPortExtPort, 2222), ipTLV(tlvIPPortIntIPv4, "100.64.0.1"))}, nil},
		{"unknown TLV skipped", []radius.Attribute{ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), tlv(200, 1, 2, 3))},
			[]portRange{{alloc: 1}}},
		{"other extended attributes ignored", []radius.Attribute{{1, 0xff}, {}, ext(26, []byte{0})}, nil},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			got, err := portRanges(packetWith(tt.attrs...))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d ranges, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("range %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}

	alloc := intTLV(tlvIPPortAlloc, 1)
	bad := map[string]radius.Attribute{
		"no TLVs":                  ext(extIPPortRange),
		"TLV header cut":           append(ext(extIPPortRange, alloc), 9),
		"TLV length 2":             ext(extIPPortRange, alloc, []byte{tlvIPPortLocalID, 2}),
		"TLV length 1":             ext(extIPPortRange, []byte{tlvIPPortAlloc, 1, 0, 0, 0, 1}),
		"TLV overruns":             ext(extIPPortRange, []byte{tlvIPPortAlloc, 7, 0, 0, 0, 1}),
		"short integer":            ext(extIPPortRange, tlv(tlvIPPortAlloc, 0, 1)),
		"long integer":             ext(extIPPortRange, tlv(tlvIPPortAlloc, 0, 0, 0, 0, 1)),
		"IPv4 of 5 octets":         ext(extIPPortRange, alloc, tlv(tlvIPPortExtIPv4, 198, 51, 100, 7, 0)),
		"IPv4 of 16 octets":        ext(extIPPortRange, alloc, ipTLV(tlvIPPortIntIPv4, "2001:db8::1")),
		"IPv6 of 4 octets":         ext(extIPPortRange, alloc, ipTLV(tlvIPPortIntIPv6, "10.0.0.1")),
		"port above 65535":         ext(extIPPortRange, alloc, intTLV(tlvIPPortRangeLo, 1), intTLV(tlvIPPortRangeHi, 65536)),
		"forwarding port too big":  ext(extIPPortForwardingMap, intTLV(tlvIPPortExtPort, 1<<16)),
		"protocol above 255":       ext(extIPPortRange, alloc, intTLV(tlvIPPortType, 256)),
		"alloc reserved 0":         ext(extIPPortRange, intTLV(tlvIPPortAlloc, 0)),
		"alloc 3":                  ext(extIPPortRange, intTLV(tlvIPPortAlloc, 3)),
		"duplicate TLV":            ext(extIPPortRange, alloc, ipTLV(tlvIPPortExtIPv4, "192.0.2.1"), ipTLV(tlvIPPortExtIPv4, "192.0.2.2")),
		"range start without end":  ext(extIPPortRange, alloc, intTLV(tlvIPPortRangeLo, 1024)),
		"range end without start":  ext(extIPPortRange, alloc, intTLV(tlvIPPortRangeHi, 1024)),
		"range start above end":    ext(extIPPortRange, alloc, intTLV(tlvIPPortRangeLo, 2048), intTLV(tlvIPPortRangeHi, 1024)),
		"malformed limit info":     ext(extIPPortLimitInfo, tlv(tlvIPPortLimit, 1)),
		"empty forwarding map":     ext(extIPPortForwardingMap),
		"trailing octet after TLV": append(ext(extIPPortRange, alloc), 0),
	}
	for name, a := range bad {
		t.Run(name, func(t *testing.T) {
			// The bad attribute after a good one: the packet is refused as
			// a whole.
			got, err := portRanges(packetWith(block(1, "198.51.100.7", 1024, 2047), a))
			if !errors.Is(err, errBadNATAttr) || got != nil {
				t.Fatalf("portRanges = %+v, %v; want errBadNATAttr", got, err)
			}
		})
	}
}

// cgnat is an Accounting-Request from a CGNAT: the session attributes of
// acct plus RFC 8045 attributes.
func cgnat(a acct, attrs ...radius.Attribute) []byte {
	p := a.packet(fuzzSecret)
	for _, at := range attrs {
		p.Add(attrExtended1, at)
	}
	b, err := p.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeCGNAT(t *testing.T) {
	s, err := New(Config{
		Clients: []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: fuzzSecret, Name: "lab"}},
		Now:     func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	pub := v4key32(netip.MustParseAddr("198.51.100.7"))
	start := acct{status: rfc2866.AcctStatusType_Value_Start, session: "n1", calling: "31612345678", apn: "internet"}
	interim := start
	interim.status = rfc2866.AcctStatusType_Value_InterimUpdate
	stop := acct{status: rfc2866.AcctStatusType_Value_Stop, session: "n1", apn: "internet"}
	type nat struct {
		lo, hi uint16
		flags  uint8
	}
	recsOf := func(it *item) []nat {
		var out []nat
		for _, r := range append([]rec{it.r}, it.more...) {
			if r.flags&hasNAT != 0 && r.natAddr != pub {
				t.Fatalf("public address %x", r.natAddr)
			}
			out = append(out, nat{r.natLo, r.natHi, r.flags})
		}
		return out
	}
	tests := []struct {
		name   string
		pkt    []byte
		want   []nat  // the records, r first
		reason string // else the rejection
	}{
		{"start with one block", cgnat(start, block(1, "198.51.100.7", 1024, 2047)),
			[]nat{{1024, 2047, hasNAT}}, ""},
		{"framed address and block share the record", func() []byte {
			a := start
			a.v4 = "100.64.0.9"
			return cgnat(a, block(1, "198.51.100.7", 1024, 2047))
		}(), []nat{{1024, 2047, hasV4 | hasNAT}}, ""},
		{"interim: releases first, then allocations", cgnat(interim,
			block(1, "198.51.100.7", 8192, 9215), block(2, "198.51.100.7", 1024, 2047), block(1, "198.51.100.7", 9216, 10239)),
			[]nat{{1024, 2047, hasNAT | natRelease}, {8192, 9215, hasNAT}, {9216, 10239, hasNAT}}, ""},
		{"stop: every block ends, Alloc may be absent", cgnat(stop,
			block(2, "198.51.100.7", 1024, 2047),
			ext(extIPPortRange, ipTLV(tlvIPPortExtIPv4, "198.51.100.7"), intTLV(tlvIPPortRangeLo, 4096), intTLV(tlvIPPortRangeHi, 5119))),
			[]nat{{1024, 2047, hasNAT}, {4096, 5119, hasNAT}}, ""},
		{"unkeyable blocks skipped", cgnat(start,
			ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), intTLV(tlvIPPortType, 17), ipTLV(tlvIPPortExtIPv4, "198.51.100.7"), intTLV(tlvIPPortRangeLo, 1), intTLV(tlvIPPortRangeHi, 2)),
			ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), intTLV(tlvIPPortRangeLo, 1), intTLV(tlvIPPortRangeHi, 2)),
			ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), ipTLV(tlvIPPortExtIPv4, "198.51.100.7")),
			ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), ipTLV(tlvIPPortExtIPv4, "0.0.0.0"), intTLV(tlvIPPortRangeLo, 1), intTLV(tlvIPPortRangeHi, 2)),
			block(1, "198.51.100.7", 3000, 3999)),
			[]nat{{3000, 3999, hasNAT}}, ""},
		{"stop naming no address: still a Stop of the session", cgnat(stop), []nat{{0, 0, 0}}, ""},
		{"only unkeyable blocks", cgnat(start,
			ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), intTLV(tlvIPPortType, 1), ipTLV(tlvIPPortExtIPv4, "198.51.100.7"), intTLV(tlvIPPortRangeLo, 1), intTLV(tlvIPPortRangeHi, 2))),
			nil, reasonNoAddress},
		{"allocation without IP-Port-Alloc", cgnat(start,
			ext(extIPPortRange, ipTLV(tlvIPPortExtIPv4, "198.51.100.7"), intTLV(tlvIPPortRangeLo, 1), intTLV(tlvIPPortRangeHi, 2))),
			nil, reasonBadNATAttr},
		{"malformed TLV drops the whole packet", func() []byte {
			a := start
			a.v4 = "100.64.0.9"
			return cgnat(a, block(1, "198.51.100.7", 1024, 2047), ext(extIPPortRange, []byte{tlvIPPortAlloc, 9, 0, 0, 0, 1}))
		}(), nil, reasonBadNATAttr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := radius.Parse(tt.pkt, []byte(fuzzSecret))
			if err != nil {
				t.Fatal(err)
			}
			r, more, reason := s.decode(p, &s.cfg.Clients[0], src)
			if reason != tt.reason {
				t.Fatalf("reason %q, want %q", reason, tt.reason)
			}
			if reason != "" {
				return
			}
			got := recsOf(&item{r: r, more: more})
			if len(got) != len(tt.want) {
				t.Fatalf("records %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("record %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			for _, m := range more { // the further records carry the session
				if m.session != r.session || m.status != r.status || m.gw != r.gw || m.dom != r.dom || m.number != r.number {
					t.Errorf("further record %+v does not carry the session of %+v", m, r)
				}
			}
		})
	}
}

// TestRadclientCGNATSeeds decodes the packets radclient sent (captured in
// testdata, secret testing123): the golden check of FreeRADIUS's encoding.
func TestRadclientCGNATSeeds(t *testing.T) {
	s, err := New(Config{
		Clients: []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: fuzzSecret, Name: "lab"}},
		Now:     func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]rec{
		"start":   {{status: StatusStart, flags: hasV4 | hasNAT, natLo: 1024, natHi: 2047}},
		"interim": {{status: StatusInterimUpdate, flags: hasV4}, {status: StatusInterimUpdate, flags: hasNAT | natRelease, natLo: 1024, natHi: 2047}, {status: StatusInterimUpdate, flags: hasNAT, natLo: 8192, natHi: 9215}},
		"stop":    {{status: StatusStop, flags: hasV4 | hasNAT, natLo: 8192, natHi: 9215}},
	} {
		b, err := os.ReadFile("testdata/radclient-cgnat-" + name + ".bin")
		if err != nil {
			t.Fatal(err)
		}
		it, v := s.handle(b, netip.MustParseAddrPort("127.0.0.1:1"))
		if v != verdictApply {
			t.Fatalf("%s: verdict %d", name, v)
		}
		got := append([]rec{it.r}, it.more...)
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(want))
		}
		for i, r := range got {
			w := want[i]
			if r.status != w.status || r.flags != w.flags || r.natLo != w.natLo || r.natHi != w.natHi || r.gw != "lab|cgnat-1" || r.dom != "internet" || r.session != SessionHash("CGN-0001") {
				t.Errorf("%s: record %d = %+v, want %+v", name, i, r, w)
			}
			if r.flags&hasNAT != 0 && r.natAddr != v4key32(netip.MustParseAddr("198.51.100.7")) {
				t.Errorf("%s: public address %x", name, r.natAddr)
			}
			if r.flags&hasV4 != 0 && r.v4 != v4key32(netip.MustParseAddr("100.64.12.34")) {
				t.Errorf("%s: inside address %x", name, r.v4)
			}
		}
		s.dedup.finish(it.key)
	}
}

// TestTableNATRelease covers a block released while its session goes on.
func TestTableNATRelease(t *testing.T) {
	tab := NewTable(TableConfig{DefaultDomain: AnyDomain})
	pub := netip.MustParseAddr("198.51.100.7")
	r := func(st Status, at int, lo, hi uint16, flags uint8) *rec {
		n, _ := packNumber(alice)
		return &rec{status: st, gw: "cgnat", dom: "internet", session: SessionHash("n1"), number: n,
			natAddr: v4key32(pub), natLo: lo, natHi: hi, flags: hasNAT | flags, at: unixSec(sec(at)), start: unixSec(sec(10))}
	}
	apply := func(x *rec, want bool) {
		t.Helper()
		if ok, err := tab.apply(x); err != nil || ok != want {
			t.Fatalf("apply %+v = %v, %v; want %v", x, ok, err, want)
		}
	}
	check := func(port uint16, at int, want string) {
		t.Helper()
		got, err := tab.Lookup(AnyDomain, pub, port, sec(at))
		if want == "" && !errors.Is(err, network.ErrNotIdentifiable) || want != "" && got != want {
			t.Errorf("port %d @%d = %q, %v; want %q", port, at, got, err, want)
		}
	}
	apply(r(StatusStart, 10, 1024, 2047, 0), true)
	apply(r(StatusInterimUpdate, 40, 8192, 9215, 0), true)
	apply(r(StatusInterimUpdate, 50, 1024, 2047, natRelease), true)
	check(1500, 45, alice) // before the release
	check(1500, 50, "")
	check(9000, 60, alice) // the session and its other block go on
	if _, _, n := tab.Counts(); n != 1 {
		t.Errorf("%d blocks live, want 1", n)
	}
	// No tombstone: the session still reports, and a late report of the
	// released block's allocation does not bring it back...
	apply(r(StatusInterimUpdate, 30, 1024, 2047, 0), false)
	check(1500, 55, "")
	// ...but an allocation after the release does, from then on.
	apply(r(StatusInterimUpdate, 70, 1024, 2047, 0), true)
	check(1500, 60, "")
	check(1500, 70, alice)
	// Releasing what is not held changes nothing.
	apply(r(StatusInterimUpdate, 80, 30000, 30999, natRelease), false)
	// A release names a whole block: a range that only overlaps it leaves
	// it alone.
	apply(r(StatusInterimUpdate, 80, 8192, 8200, natRelease), false)
	check(9000, 81, alice)
	// The Stop ends every block of the session on the address.
	apply(r(StatusStop, 90, 1024, 2047, 0), true)
	check(1500, 91, "")
	check(9000, 91, "")
	if _, _, n := tab.Counts(); n != 0 {
		t.Errorf("%d blocks live after Stop, want 0", n)
	}
	apply(r(StatusInterimUpdate, 95, 1024, 2047, 0), false) // tombstone
}

// TestServerCGNAT runs CGNAT reports through the accounting server: a
// malformed RFC 8045 attribute is acknowledged, counted and applies
// nothing; a packet with several blocks binds them all, and they survive a
// restart (one log record per block).
func TestServerCGNAT(t *testing.T) {
	dir := t.TempDir()
	clock := newClock(t0)
	ts := startServer(t, Config{DataDir: dir, Now: clock.Now})
	send := func(a acct, attrs ...radius.Attribute) {
		t.Helper()
		p := a.packet(testSecret)
		for _, at := range attrs {
			p.Add(attrExtended1, at)
		}
		mustAck(t, ts.addr, p)
	}
	start := acct{status: rfc2866.AcctStatusType_Value_Start, session: "n1", calling: "31612345678", apn: "internet", v4: "100.64.0.9"}
	send(start, block(1, "198.51.100.7", 1024, 2047), ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), intTLV(tlvIPPortRangeLo, 5)))
	if got := ts.metric(t, "numgate_radius_rejected_packets_total", "reason", "bad_nat_attribute"); got != 1 {
		t.Errorf("bad_nat_attribute = %v", got)
	}
	if v4, _, n := ts.Table().Counts(); v4+n != 0 {
		t.Fatalf("a malformed packet bound %d addresses and %d blocks", v4, n)
	}

	send(start, block(1, "198.51.100.7", 1024, 2047), block(1, "198.51.100.7", 8192, 9215), block(1, "203.0.113.1", 1024, 2047))
	check := func(tab *Table) {
		t.Helper()
		for _, c := range []struct {
			addr string
			port uint16
			want string
		}{{"198.51.100.7", 1500, alice}, {"198.51.100.7", 9000, alice}, {"203.0.113.1", 2000, alice}, {"198.51.100.7", 5000, ""}, {"100.64.0.9", 0, alice}} {
			got, err := tab.Lookup(AnyDomain, netip.MustParseAddr(c.addr), c.port, t0)
			if c.want == "" && !errors.Is(err, network.ErrNotIdentifiable) || c.want != "" && got != c.want {
				t.Errorf("%s:%d = %q, %v; want %q", c.addr, c.port, got, err, c.want)
			}
		}
		if _, _, n := tab.Counts(); n != 3 {
			t.Errorf("%d blocks live, want 3", n)
		}
	}
	check(ts.Table())
	if got := ts.metric(t, "numgate_radius_packets_total", "type", "start"); got != 1 {
		t.Errorf("start packets = %v, want 1 (a rejected packet is not counted there)", got)
	}
	ts.stop()

	s, err := New(Config{DataDir: dir, Now: clock.Now, Clients: []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: "x"}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s.Table())

	// The log rebuilt the session's block index: a Stop naming only the
	// inside address ends the blocks on both public addresses.
	if _, err := s.Table().Apply(*ev(StatusStop, "lab|pgw-1", "internet", "n1", "", "100.64.0.9", "", 3600)); err != nil {
		t.Fatal(err)
	}
	checkNATIndex(t, s.Table())
	if _, _, n := s.Table().Counts(); n != 0 {
		t.Errorf("%d blocks live after a Stop without NAT attributes, want 0", n)
	}
	for _, pub := range []string{"198.51.100.7", "203.0.113.1"} {
		if n, err := s.Table().Lookup(AnyDomain, netip.MustParseAddr(pub), 1500, sec(3601)); !errors.Is(err, network.ErrNotIdentifiable) {
			t.Errorf("%s:1500 after the Stop = %q, %v", pub, n, err)
		}
	}
}

// TestTableNATReuse covers ports released by one session and allocated to
// another, older one (long-lived sessions under port-block allocation): the
// new owner has them from its report on, never before, and a late report
// from before the release changes nothing.
func TestTableNATReuse(t *testing.T) {
	tab := NewTable(TableConfig{DefaultDomain: AnyDomain})
	pub := netip.MustParseAddr("198.51.100.7")
	r := func(session, number string, st Status, start, at int, flags uint8) *rec {
		n, _ := packNumber(number)
		return &rec{status: st, gw: "cgnat", dom: "internet", session: SessionHash(session), number: n,
			natAddr: v4key32(pub), natLo: 1024, natHi: 2047, flags: hasNAT | flags, at: unixSec(sec(at)), start: unixSec(sec(start))}
	}
	steps := []struct {
		name string
		rec  *rec
		want bool
	}{
		{"alice allocated", r("a", alice, StatusStart, 10, 10, 0), true},
		{"bob's late report from before alice's block", r("b", bob, StatusInterimUpdate, 5, 8, 0), false},
		{"bob's report while alice holds the block", r("b", bob, StatusInterimUpdate, 5, 30, 0), false},
		{"alice released", r("a", alice, StatusInterimUpdate, 10, 50, natRelease), true},
		{"bob allocated in the second of the release", r("b", bob, StatusInterimUpdate, 5, 50, 0), true},
	}
	for _, s := range steps {
		if ok, err := tab.apply(s.rec); err != nil || ok != s.want {
			t.Fatalf("%s: apply = %v, %v; want %v", s.name, ok, err, s.want)
		}
	}
	for _, c := range []struct {
		at   int
		want string
	}{{20, ""}, {49, ""}, {50, bob}, {90, bob}} { // alice's history went with her block
		got, err := tab.Lookup(AnyDomain, pub, 1500, sec(c.at))
		if c.want == "" && !errors.Is(err, network.ErrNotIdentifiable) || c.want != "" && got != c.want {
			t.Errorf("port 1500 @%d = %q, %v; want %q", c.at, got, err, c.want)
		}
	}
	if _, _, n := tab.Counts(); n != 1 {
		t.Errorf("%d blocks live, want 1", n)
	}
}

// checkNATIndex verifies that tab.natSess lists exactly the public
// addresses of every session's live port blocks.
func checkNATIndex(t *testing.T, tab *Table) {
	t.Helper()
	want := map[tombKey][]uint32{}
	for i := range tab.nat {
		for a, blocks := range tab.nat[i].m {
			for _, b := range blocks {
				k := tombKey{gw: b.e.gw, session: b.e.session}
				if b.e.stop == 0 && !slices.Contains(want[k], a) {
					want[k] = append(want[k], a)
				}
			}
		}
	}
	if len(want) != len(tab.natSess.first) {
		t.Fatalf("natSess has %d sessions, live blocks %d", len(tab.natSess.first), len(want))
	}
	for k := range tab.natSess.more {
		if _, ok := tab.natSess.first[k]; !ok || len(tab.natSess.more[k]) == 0 {
			t.Fatalf("natSess.more[%v] = %x without a first address", k, tab.natSess.more[k])
		}
	}
	for k, as := range want {
		first, more, _ := tab.natSess.addrs(k)
		got := append([]uint32{first}, more...)
		slices.Sort(got)
		slices.Sort(as)
		if !slices.Equal(got, as) {
			t.Fatalf("natSess[%v] = %x, live blocks on %x", k, got, as)
		}
	}
}

// TestTableNATStopAll covers a Stop that names none, or only some, of its
// session's port blocks: it ends them all, on every public address and in
// every routing domain, and leaves other sessions' blocks alone.
func TestTableNATStopAll(t *testing.T) {
	tab := NewTable(TableConfig{DefaultDomain: AnyDomain})
	p1, p2 := "198.51.100.7", "203.0.113.1"
	apply := func(e *Event, want bool) {
		t.Helper()
		if ok, err := tab.Apply(*e); err != nil || ok != want {
			t.Fatalf("Apply(%+v) = %v, %v; want %v", e, ok, err, want)
		}
		checkNATIndex(t, tab)
	}
	check := func(pub string, port uint16, at int, want string) {
		t.Helper()
		got, err := tab.Lookup(AnyDomain, netip.MustParseAddr(pub), port, sec(at))
		if want == "" && !errors.Is(err, network.ErrNotIdentifiable) || want != "" && got != want {
			t.Errorf("%s:%d @%d = %q, %v; want %q", pub, port, at, got, err, want)
		}
	}
	// Alice: two blocks on p1 (one released), one on p2, one on p2 from
	// another APN; bob: one block on p1.
	apply(nat(ev(StatusStart, "bng", "internet", "a", alice, "100.64.0.1", "", 10), p1, 1024, 2047), true)
	apply(nat(ev(StatusInterimUpdate, "bng", "internet", "a", alice, "", "", 20), p1, 4096, 5119), true)
	apply(nat(ev(StatusInterimUpdate, "bng", "internet", "a", alice, "", "", 20), p2, 1024, 2047), true)
	apply(nat(ev(StatusInterimUpdate, "bng", "corp", "a", alice, "", "", 20), p2, 8192, 9215), true)
	apply(nat(ev(StatusStart, "bng", "internet", "b", bob, "100.64.0.2", "", 10), p1, 2048, 3071), true)
	if _, err := tab.apply(&rec{status: StatusInterimUpdate, gw: "bng", dom: "internet", session: SessionHash("a"), natAddr: v4key32(netip.MustParseAddr(p1)),
		natLo: 4096, natHi: 5119, flags: hasNAT | natRelease, at: unixSec(sec(30)), start: unixSec(sec(10))}); err != nil {
		t.Fatal(err)
	}
	checkNATIndex(t, tab)
	if _, _, n := tab.Counts(); n != 4 {
		t.Fatalf("%d blocks live, want 4", n)
	}

	apply(ev(StatusStop, "bng", "internet", "a", "", "100.64.0.1", "", 40), true)
	if _, _, n := tab.Counts(); n != 1 {
		t.Errorf("%d blocks live after alice's Stop, want bob's 1", n)
	}
	for _, c := range []struct {
		pub  string
		port uint16
	}{{p1, 1500}, {p2, 1500}, {p2, 9000}} {
		check(c.pub, c.port, 39, alice)
		check(c.pub, c.port, 40, "")
	}
	check(p1, 4500, 35, "") // released before
	check(p1, 2500, 41, bob)

	// A Stop naming one of two addresses ends both.
	apply(nat(ev(StatusInterimUpdate, "bng", "internet", "b", bob, "", "", 50), p2, 1024, 2047), true)
	apply(nat(ev(StatusStop, "bng", "internet", "b", "", "", "", 60), p2, 1024, 2047), true)
	check(p1, 2500, 60, "")
	check(p2, 1500, 60, "")
	if _, _, n := tab.Counts(); n != 0 {
		t.Errorf("%d blocks live after bob's Stop, want 0", n)
	}
	if len(tab.natSess.first)+len(tab.natSess.more) != 0 {
		t.Errorf("natSess keeps %d stopped sessions", len(tab.natSess.first)+len(tab.natSess.more))
	}
	// The tombstones turn late reports away, as ever.
	apply(nat(ev(StatusInterimUpdate, "bng", "internet", "a", alice, "", "", 45), p2, 1024, 2047), false)
}

// TestTableNATStoppedLiveBlock covers a table (restored from before Stops
// ended all their session's blocks) holding a live block of a stopped
// session: ports reported after the Stop go to the reporting session,
// however old, as if the block had ended.
func TestTableNATStoppedLiveBlock(t *testing.T) {
	tab := NewTable(TableConfig{DefaultDomain: AnyDomain, TombstoneTTL: 5 * time.Minute})
	pub := netip.MustParseAddr("198.51.100.7")
	if _, err := tab.Apply(*nat(ev(StatusStart, "bng", "internet", "a", alice, "", "", 1000), pub.String(), 1024, 1535)); err != nil {
		t.Fatal(err)
	}
	// What an old Stop naming no block left behind: a tombstone only.
	gw, _ := tab.gws.lookup("bng")
	k := tombKey{gw: gw, session: SessionHash("a")}
	tab.shards[mix(k.session^uint64(k.gw))>>56].tombs[k] = unixSec(sec(2000 + 300))
	b := func(at int) Event {
		return *withStart(nat(ev(StatusInterimUpdate, "bng", "internet", "b", bob, "", "", at), pub.String(), 1024, 1535), 500)
	}
	if ok, err := tab.Apply(b(1900)); err != nil || ok {
		t.Fatalf("report from before the Stop: Apply = %v, %v; want refused", ok, err)
	}
	if ok, err := tab.Apply(b(2600)); err != nil || !ok {
		t.Fatalf("report after the Stop: Apply = %v, %v; want applied", ok, err)
	}
	for _, c := range []struct {
		at   int
		want string
	}{{2500, ""}, {2600, bob}, {2700, bob}} {
		got, err := tab.Lookup(AnyDomain, pub, 1100, sec(c.at))
		if c.want == "" && !errors.Is(err, network.ErrNotIdentifiable) || c.want != "" && got != c.want {
			t.Errorf("@%d = %q, %v; want %q", c.at, got, err, c.want)
		}
	}
	if _, _, n := tab.Counts(); n != 1 {
		t.Errorf("%d blocks live, want bob's 1", n)
	}
	checkNATIndex(t, tab)
}

// TestTableNATIndexSnapshot restores a snapshot and stops a session without
// naming its blocks: the session index is rebuilt from the restored blocks.
func TestTableNATIndexSnapshot(t *testing.T) {
	tab := NewTable(TableConfig{DefaultDomain: AnyDomain})
	tab.Apply(*nat(ev(StatusStart, "bng", "internet", "a", alice, "100.64.0.1", "", 10), "198.51.100.7", 1024, 2047))
	tab.Apply(*nat(ev(StatusInterimUpdate, "bng", "internet", "a", alice, "", "", 20), "203.0.113.1", 1024, 2047))
	tab.Apply(*nat(ev(StatusStart, "bng", "internet", "b", bob, "", "", 10), "198.51.100.7", 2048, 3071))
	tab.Apply(*nat(ev(StatusStart, "bng", "internet", "c", carol, "", "", 10), "198.51.100.7", 4096, 5119))
	tab.Apply(*ev(StatusStop, "bng", "internet", "c", "", "100.64.0.3", "", 15))
	var recs [][]byte
	tab.applyMu.Lock()
	tab.dump(func(b []byte) { recs = append(recs, slices.Clone(b[8:])) })
	tab.applyMu.Unlock()

	got := NewTable(TableConfig{DefaultDomain: AnyDomain})
	for _, p := range recs {
		if err := got.restore(p); err != nil {
			t.Fatal(err)
		}
	}
	checkNATIndex(t, got)
	if len(got.natSess.first) != 2 {
		t.Errorf("natSess has %d sessions, want alice's and bob's", len(got.natSess.first))
	}
	got.Apply(*ev(StatusStop, "bng", "internet", "a", "", "100.64.0.1", "", 30))
	checkNATIndex(t, got)
	if _, _, n := got.Counts(); n != 1 {
		t.Errorf("%d blocks live after alice's Stop, want bob's 1", n)
	}
	for _, pub := range []string{"198.51.100.7", "203.0.113.1"} {
		if n, err := got.Lookup(AnyDomain, netip.MustParseAddr(pub), 1500, sec(31)); !errors.Is(err, network.ErrNotIdentifiable) {
			t.Errorf("%s:1500 after the Stop = %q, %v", pub, n, err)
		}
	}
}

// TestTableNATIndexChurn applies random CGNAT events and checks after each
// that the session index lists exactly the live blocks' addresses.
func TestTableNATIndexChurn(t *testing.T) {
	tab := NewTable(TableConfig{DefaultDomain: AnyDomain, TombstoneTTL: 20 * time.Second})
	rnd := rand.New(rand.NewPCG(1, 2))
	pubs := []string{"198.51.100.7", "198.51.100.8", "203.0.113.1"}
	numbers := []string{alice, bob, carol}
	for i := range 5000 {
		at := 100 + i/4
		s := rnd.IntN(6)
		session, gw := strconv.Itoa(s), "bng"+strconv.Itoa(s%2)
		pub := pubs[rnd.IntN(len(pubs))]
		lo := uint16(1024 * (1 + rnd.IntN(4)))
		e := nat(ev(StatusInterimUpdate, gw, "internet", session, numbers[s%3], "", "", at), pub, lo, lo+1023)
		e.SessionStart = sec(at - rnd.IntN(50))
		switch x := rnd.IntN(20); {
		case x < 12:
			tab.Apply(*e)
		case x < 15:
			n, _ := packNumber(numbers[s%3])
			tab.apply(&rec{status: StatusInterimUpdate, gw: gw, dom: "internet", session: SessionHash(session), number: n,
				natAddr: v4key32(netip.MustParseAddr(pub)), natLo: lo, natHi: lo + 1023, flags: hasNAT | natRelease, at: unixSec(sec(at)), start: unixSec(sec(at))})
		case x < 18:
			tab.Apply(*ev(StatusStop, gw, "internet", session, "", "100.64.0.1", "", at))
		case x < 19:
			tab.Sweep(sec(at))
		default:
			tab.Apply(Event{Status: StatusAccountingOn, Gateway: gw, At: sec(at)})
		}
		checkNATIndex(t, tab)
	}
}
