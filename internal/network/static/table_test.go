package static_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/static"
)

const good = `# lab bindings
10.0.0.1        +31600000001
10.0.0.0/24     +31600000024   # the lab's /24
10.0.0.0/16     +31600000016
10.1.0.0/16     +31600000116
0.0.0.0/0       +31600000000
	  # indented comment

2001:db8::1          +31600000601
2001:db8::/64        +31600000664
2001:db8::/32        +31600000632
::ffff:192.0.2.7     +31600000007
192.0.2.128/25       +31600000125
::ffff:198.51.100.0/120 +31600000120
fe80::/10	+31600000010
`

func TestParseGood(t *testing.T) {
	tab, err := static.Parse("good.txt", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 12 {
		t.Errorf("Len = %d, want 12", tab.Len())
	}
	for _, in := range []string{"", "\n\n", "# only a comment\n", "   \t\n# x\n"} {
		tab, err := static.Parse("empty", []byte(in))
		if err != nil || tab.Len() != 0 {
			t.Errorf("Parse(%q) = %v, %v; want an empty table", in, tab, err)
		}
	}
	// CRLF line endings and no final newline.
	tab, err = static.Parse("crlf", []byte("10.0.0.1 +31600000001\r\n10.0.0.2 +31600000002"))
	if err != nil || tab.Len() != 2 {
		t.Errorf("CRLF: %v, %v", tab, err)
	}
}

func TestParseBad(t *testing.T) {
	const number = "+31612345678"
	tests := []struct {
		name, in string
		line     int
		msg      string // a part of the message
	}{
		{"one field", "10.0.0.1\n", 1, "want ADDRESS NUMBER, found 1 fields"},
		{"three fields", "10.0.0.1 " + number + " extra\n", 1, "found 3 fields"},
		{"number only", "\n\n" + number + "\n", 3, "found 1 fields"},
		{"bad address", "10.0.0.300 " + number, 1, "first field is not an IP address"},
		{"hostname", "phone.lab " + number, 1, "not an IP address or CIDR prefix"},
		{"bad prefix", "10.0.0.0/33 " + number, 1, "not a CIDR prefix"},
		{"host bits", "10.0.0.1/24 " + number, 1, "host bits set (did you mean 10.0.0.0/24?)"},
		{"v6 host bits", "2001:db8::1/32 " + number, 1, "did you mean 2001:db8::/32?"},
		{"zone", "fe80::1%eth0 " + number, 1, "zones are not supported"},
		{"short mapped prefix", "::ffff:0:0/95 " + number, 1, "host bits set (did you mean ::fffe:0:0/95?)"},
		{"swapped", number + " 10.0.0.1", 1, "first field is a phone number"},
		{"no plus", "10.0.0.1 31612345678", 1, "second field is not an E.164 number"},
		{"too short", "10.0.0.1 +3161", 1, "not an E.164 number"},
		{"too long", "10.0.0.1 +3161234567890123", 1, "not an E.164 number"},
		{"tel uri", "10.0.0.1 tel:" + number, 1, "not an E.164 number"},
		{"leading zero", "10.0.0.1 +0612345678", 1, "not an E.164 number"},
		{"duplicate", "10.0.0.1 " + number + "\n10.0.0.1/32 +31687654321", 2, "duplicate binding for 10.0.0.1/32 (first on line 1)"},
		{"duplicate via 4in6", "10.0.0.1 " + number + "\n::ffff:10.0.0.1 +31687654321", 2, "duplicate binding"},
		{"duplicate masked v6", "2001:db8::/48 " + number + "\n2001:db8:0::/48 +31687654321", 2, "duplicate binding"},
		{"comment inside number", "10.0.0.1 +3161#2345678", 1, "not an E.164 number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := static.Parse("lab.txt", []byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *static.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err %v is not a *ParseError", err)
			}
			if pe.File != "lab.txt" || pe.Line != tt.line {
				t.Errorf("at %s:%d, want lab.txt:%d", pe.File, pe.Line, tt.line)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.msg)
			}
			if prefix := "lab.txt:"; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("err = %q, want prefix %q", err, prefix)
			}
			assertNoNumber(t, err.Error(), "31612345678", "31687654321", "3161")
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	in := "10.0.0.1 +31612345678\nbad +31612345678\n10.0.0.2 bad\n\n10.0.0.3\n"
	_, err := static.Parse("f", []byte(in))
	var lines []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *static.ParseError
		if errors.As(e, &pe) {
			lines = append(lines, pe.Line)
		}
	}
	if len(lines) != 3 || lines[0] != 2 || lines[1] != 3 || lines[2] != 5 {
		t.Errorf("problems on lines %v, want [2 3 5]; err = %v", lines, err)
	}

	// A file that is not a bindings file at all: a bounded report.
	_, err = static.Parse("f", []byte(strings.Repeat("garbage\n", 1000)))
	if n := strings.Count(err.Error(), "\n") + 1; n != 21 || !strings.HasSuffix(err.Error(), "too many errors") {
		t.Errorf("%d lines in the report, want 20 problems and a last line", n)
	}
}

func TestLookup(t *testing.T) {
	tab, err := static.Parse("good.txt", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want string // "" = no binding
	}{
		{"10.0.0.1", "+31600000001"},             // exact address beats its /24
		{"10.0.0.2", "+31600000024"},             // /24 beats /16
		{"10.0.0.255", "+31600000024"},           //
		{"10.0.1.1", "+31600000016"},             // /16
		{"10.1.255.255", "+31600000116"},         // other /16
		{"10.2.0.1", "+31600000000"},             // default route
		{"::ffff:10.0.0.1", "+31600000001"},      // 4in6 looked up as IPv4
		{"192.0.2.7", "+31600000007"},            // bound as ::ffff:192.0.2.7
		{"192.0.2.200", "+31600000125"},          //
		{"198.51.100.9", "+31600000120"},         // bound as ::ffff:198.51.100.0/120
		{"2001:db8::1", "+31600000601"},          // exact
		{"2001:db8::2", "+31600000664"},          // /64
		{"2001:db8:0:0:ffff::1", "+31600000664"}, //
		{"2001:db8:0:1::1", "+31600000632"},      // /32
		{"2001:db9::1", ""},                      // outside: IPv4's 0/0 does not cover IPv6
		{"::", ""},                               //
		{"fe80::1%eth0", "+31600000010"},         // zone ignored
		{"::ffff:0.0.0.1", "+31600000000"},       //
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			got, ok := tab.Lookup(a)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Lookup = %q, %v; want %q", got, ok, tt.want)
			}
			id, err := tab.Identify(t.Context(), network.Connection{Addr: a, Hint: "+99999999999"})
			switch {
			case tt.want == "" && !errors.Is(err, network.ErrNotIdentifiable):
				t.Errorf("Identify err = %v, want ErrNotIdentifiable", err)
			case tt.want != "" && (err != nil || id != network.Identity{Number: tt.want, Source: static.Source}):
				t.Errorf("Identify = %+v, %v", id, err)
			}
		})
	}
	if _, ok := tab.Lookup(netip.Addr{}); ok {
		t.Error("the zero Addr has a binding")
	}
	if _, err := tab.Identify(t.Context(), network.Connection{}); !errors.Is(err, network.ErrNotIdentifiable) {
		t.Errorf("no address: err = %v", err)
	}
}

func TestLookupEmpty(t *testing.T) {
	tab, err := static.Parse("empty", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tab.Lookup(netip.MustParseAddr("10.0.0.1")); ok {
		t.Error("binding in an empty table")
	}
}

func assertNoNumber(t *testing.T, s string, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		if strings.Contains(s, n) {
			t.Errorf("%q contains a phone number (%s)", s, n)
		}
	}
}
