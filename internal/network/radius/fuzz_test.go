package radius

import (
	"crypto/md5"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"layeh.com/radius/rfc2866"
)

// fuzzSecret is the secret of the radclient packets in testdata.
const fuzzSecret = "testing123"

// FuzzHandlePacket feeds datagrams to the accounting packet handler: it must
// never panic, never apply a packet whose authenticator does not verify, and
// whatever it applies must leave the table consistent. When sign is set the
// fuzzer's bytes get a valid Request Authenticator, so the decoder behind
// the authentication check is explored too.
func FuzzHandlePacket(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/radclient-*.bin")
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	for _, a := range []acct{
		{status: rfc2866.AcctStatusType_Value_Start, session: "f1", calling: "31612345678", apn: "internet", v4: "10.0.0.1", v6: "2001:db8::/64"},
		{status: rfc2866.AcctStatusType_Value_InterimUpdate, session: "f1", calling: "+4915112345678", apn: "ims", v4: "10.0.0.2", sessTime: 60},
		{status: rfc2866.AcctStatusType_Value_Stop, session: "f1", v4: "10.0.0.1", sessTime: 90, eventTime: t0},
		{status: rfc2866.AcctStatusType_Value_AccountingOff},
	} {
		b, err := a.packet(fuzzSecret).Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	// CGNAT reports (RFC 8045), well-formed and not: the signed variant
	// lets the fuzzer mutate the TLVs behind the authenticator check.
	start := acct{status: rfc2866.AcctStatusType_Value_Start, session: "n1", calling: "31612345678", apn: "internet"}
	interim := start
	interim.status, interim.sessTime = rfc2866.AcctStatusType_Value_InterimUpdate, 60
	for _, b := range [][]byte{
		cgnat(start, block(1, "198.51.100.7", 1024, 2047)),
		cgnat(interim, block(2, "198.51.100.7", 1024, 2047), block(1, "198.51.100.7", 8192, 9215)),
		cgnat(acct{status: rfc2866.AcctStatusType_Value_Stop, session: "n1"}, block(2, "198.51.100.7", 8192, 9215)),
		cgnat(start, ext(extIPPortLimitInfo, intTLV(tlvIPPortLimit, 2048)), ext(extIPPortForwardingMap, intTLV(tlvIPPortIntPort, 22), intTLV(tlvIPPortExtPort, 2222))),
		cgnat(start, ext(extIPPortRange, []byte{tlvIPPortAlloc, 9, 0, 0, 0, 1})),                                               // TLV overruns
		cgnat(start, ext(extIPPortRange, []byte{tlvIPPortAlloc, 1})),                                                           // TLV length below its header
		cgnat(start, ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), intTLV(tlvIPPortRangeLo, 9), intTLV(tlvIPPortRangeHi, 8))), // start > end
		cgnat(start, ext(extIPPortRange, intTLV(tlvIPPortAlloc, 1), intTLV(tlvIPPortRangeLo, 1<<16))),                          // port overflow
		cgnat(start, ext(extIPPortRange, intTLV(tlvIPPortAlloc, 0), ipTLV(tlvIPPortExtIPv4, "198.51.100.7"))),                  // reserved Alloc
		cgnat(start, ext(extIPPortRange)), // no TLVs
	} {
		f.Add(b, false)
		f.Add(b, true)
	}
	s, err := New(Config{
		Clients: []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: fuzzSecret}},
		Now:     func() time.Time { return t0 },
	})
	if err != nil {
		f.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	f.Fuzz(func(t *testing.T, b []byte, sign bool) {
		if sign && len(b) >= 20 {
			h := md5.New()
			h.Write(b[:4])
			h.Write(make([]byte, 16))
			h.Write(b[20:])
			h.Write([]byte(fuzzSecret))
			h.Sum(b[4:4:20])
		}
		authentic := len(b) >= 20 && b[0] == 4 && isAuthentic(b)
		it, v := s.handle(b, src)
		if v != verdictDrop && !authentic {
			t.Fatalf("unauthenticated packet got verdict %d", v)
		}
		if v == verdictApply {
			for _, r := range append([]rec{it.r}, it.more...) {
				if _, err := s.table.apply(&r); err != nil {
					t.Fatalf("apply: %v", err)
				}
				// The record must survive the write-ahead log round trip.
				enc := appendRec(nil, &r)
				got, ok := decodeRec(enc[8:])
				if !ok || got != r {
					t.Fatalf("log round trip: %+v != %+v", got, r)
				}
				if r.flags&hasNAT != 0 && r.natLo > r.natHi {
					t.Fatalf("port block %d-%d", r.natLo, r.natHi)
				}
				s.table.Lookup(AnyDomain, netip.AddrFrom4([4]byte{byte(r.v4 >> 24), byte(r.v4 >> 16), byte(r.v4 >> 8), byte(r.v4)}), 0, t0)
				s.table.Lookup(AnyDomain, netip.AddrFrom4([4]byte{byte(r.natAddr >> 24), byte(r.natAddr >> 16), byte(r.natAddr >> 8), byte(r.natAddr)}), r.natLo, t0)
			}
		}
		if v != verdictDrop {
			s.dedup.finish(it.key)
		}
	})
}

func isAuthentic(b []byte) bool {
	h := md5.New()
	h.Write(b[:4])
	h.Write(make([]byte, 16))
	h.Write(b[20:])
	h.Write([]byte(fuzzSecret))
	return string(h.Sum(nil)) == string(b[4:20])
}
