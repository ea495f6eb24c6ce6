package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/httpx"
)

// Trusted proxies: 10.0.0.0/8, 2001:db8:ffff::/48, and one IPv4-mapped
// prefix given in its 4in6 form.
var trusted = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
	netip.MustParsePrefix("::ffff:192.168.7.0/120"),
	{}, // ignored
}

func TestConnection(t *testing.T) {
	const device = "100.64.1.2"
	tests := []struct {
		name     string
		peer     string
		headers  [][2]string
		want     string // "" = invalid address
		port     uint16
		fromProx bool
	}{
		// Direct connections: the peer is the device.
		{name: "direct v4", peer: "100.64.1.2:40000", want: device, port: 40000},
		{name: "direct v6", peer: "[2001:db8:1::5]:443", want: "2001:db8:1::5", port: 443},
		{name: "direct 4in6 peer", peer: "[::ffff:100.64.1.2]:40000", want: device, port: 40000},
		{name: "direct zoned peer", peer: "[fe80::1%eth0]:1", want: "fe80::1", port: 1},
		{name: "no IP peer", peer: "@", want: ""},
		{name: "empty peer", peer: "", want: ""},

		// Spoofing attempts from untrusted peers: headers are ignored.
		{name: "spoof xff", peer: "100.64.1.2:40000", headers: [][2]string{{"X-Forwarded-For", "10.9.9.9"}}, want: device, port: 40000},
		{name: "spoof xff untrusted value", peer: "100.64.1.2:40000", headers: [][2]string{{"X-Forwarded-For", "203.0.113.9"}}, want: device, port: 40000},
		{name: "spoof forwarded", peer: "100.64.1.2:40000", headers: [][2]string{{"Forwarded", "for=203.0.113.9"}}, want: device, port: 40000},
		{name: "spoof both", peer: "100.64.1.2:40000", headers: [][2]string{{"Forwarded", "for=203.0.113.9"}, {"X-Forwarded-For", "203.0.113.9"}}, want: device, port: 40000},
		{name: "spoof x-real-ip", peer: "100.64.1.2:40000", headers: [][2]string{{"X-Real-Ip", "203.0.113.9"}}, want: device, port: 40000},
		{name: "spoof from address next to a proxy", peer: "11.0.0.1:5", headers: [][2]string{{"X-Forwarded-For", "203.0.113.9"}}, want: "11.0.0.1", port: 5},

		// Trusted peer without headers: the peer itself.
		{name: "trusted, no headers", peer: "10.1.1.1:80", want: "10.1.1.1", port: 80, fromProx: true},

		// X-Forwarded-For behind a trusted proxy.
		{name: "xff single", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", device}}, want: device, fromProx: true},
		{name: "xff device spoofed left part", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "203.0.113.9, " + device}}, want: device, fromProx: true},
		{name: "xff skips trusted hops", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "203.0.113.9, " + device + ", 10.2.2.2,10.3.3.3"}}, want: device, fromProx: true},
		{name: "xff several lines", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-For", device + ", 10.2.2.2"}}, want: device, fromProx: true},
		{name: "xff all trusted", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "10.5.5.5, 10.2.2.2"}}, want: "10.5.5.5", fromProx: true},
		{name: "xff with port", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", device + ":5555"}}, want: device, port: 5555, fromProx: true},
		{name: "xff bare v6", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "2001:db8:1::5"}}, want: "2001:db8:1::5", fromProx: true},
		{name: "xff bracketed v6 port", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "[2001:db8:1::5]:7"}}, want: "2001:db8:1::5", port: 7, fromProx: true},
		{name: "xff 4in6", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "::ffff:100.64.1.2"}}, want: device, fromProx: true},
		{name: "xff trusted 4in6 hop skipped", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", device + ", ::ffff:10.2.2.2"}}, want: device, fromProx: true},
		{name: "xff via trusted v6 proxy", peer: "[2001:db8:ffff::1]:80", headers: [][2]string{{"X-Forwarded-For", device}}, want: device, fromProx: true},
		{name: "xff via proxy in 4in6 prefix", peer: "192.168.7.3:80", headers: [][2]string{{"X-Forwarded-For", device}}, want: device, fromProx: true},
		{name: "xff garbage at the right", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", device + ", garbage"}}, want: "", fromProx: true},
		{name: "xff unknown", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "unknown"}}, want: "", fromProx: true},
		{name: "xff garbage left of the device is never reached", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "garbage, " + device}}, want: device, fromProx: true},
		{name: "xff empty entries", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", " , " + device + ",,"}}, want: device, fromProx: true},
		{name: "xff empty header", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", ""}}, want: "10.1.1.1", port: 80, fromProx: true},
		{name: "xff zoned", peer: "10.1.1.1:80", headers: [][2]string{{"X-Forwarded-For", "fe80::1%eth0"}}, want: "fe80::1", fromProx: true},

		// RFC 7239 Forwarded behind a trusted proxy.
		{name: "fwd v4", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", "for=" + device}}, want: device, fromProx: true},
		{name: "fwd v4 port quoted", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for="100.64.1.2:4711"`}}, want: device, port: 4711, fromProx: true},
		{name: "fwd v6 quoted", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `For="[2001:db8:cafe::17]:4711"`}}, want: "2001:db8:cafe::17", port: 4711, fromProx: true},
		{name: "fwd v6 no port", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for="[2001:db8:cafe::17]"`}}, want: "2001:db8:cafe::17", fromProx: true},
		{name: "fwd other params", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `proto=https;for=100.64.1.2;by=10.1.1.1;host="numgate.example:443"`}}, want: device, fromProx: true},
		{name: "fwd elements", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=203.0.113.9, for=100.64.1.2;proto=https, for=10.2.2.2`}}, want: device, fromProx: true},
		{name: "fwd lines", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=203.0.113.9`}, {"Forwarded", `for=100.64.1.2`}}, want: device, fromProx: true},
		{name: "fwd element without for is skipped", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=100.64.1.2, proto=https`}}, want: device, fromProx: true},
		{name: "fwd escaped quoted", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for="100.64.1.\2"`}}, want: device, fromProx: true},
		{name: "fwd quoted comma", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=100.64.1.2;ext="a,b;c"`}}, want: device, fromProx: true},
		{name: "fwd obfuscated port", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for="100.64.1.2:_p1"`}}, want: device, fromProx: true},
		{name: "fwd unknown", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=unknown`}}, want: "", fromProx: true},
		{name: "fwd obfuscated node", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=_hidden, for=10.2.2.2`}}, want: "", fromProx: true},
		{name: "fwd unterminated quote", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for="100.64.1.2`}}, want: "", fromProx: true},
		{name: "fwd syntax error", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for 100.64.1.2`}}, want: "", fromProx: true},
		{name: "fwd unquoted v6 is a syntax error", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=[2001:db8::1]`}}, want: "", fromProx: true},
		{name: "fwd bad v6 brackets", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for="[100.64.1.2]"`}}, want: "", fromProx: true},
		{name: "fwd without any for falls back to xff", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `proto=https`}, {"X-Forwarded-For", device}}, want: device, fromProx: true},

		// Both headers.
		// The proxy writes X-Forwarded-For (no port); the device sent a
		// Forwarded naming its own public address with another
		// subscriber's CGNAT port: the port must not be believed.
		{name: "both agree on address only: port unknown", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for="100.64.1.2:9"`}, {"X-Forwarded-For", device}}, want: device, port: 0, fromProx: true},
		{name: "device-sent xff port with proxy forwarded", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=100.64.1.2`}, {"X-Forwarded-For", device + ":9"}}, want: device, port: 0, fromProx: true},
		{name: "both agree with port", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for="100.64.1.2:9"`}, {"X-Forwarded-For", device + ":9"}}, want: device, port: 9, fromProx: true},
		{name: "both agree after trusted hops", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", `for=100.64.1.2, for=10.2.2.2`}, {"X-Forwarded-For", "203.0.113.1, 100.64.1.2"}}, want: device, fromProx: true},
		{name: "device-sent forwarded passed through", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", "for=203.0.113.9"}, {"X-Forwarded-For", device}}, want: "", fromProx: true},
		{name: "device-sent xff passed through", peer: "10.1.1.1:80", headers: [][2]string{{"Forwarded", "for=" + device}, {"X-Forwarded-For", "203.0.113.9"}}, want: "", fromProx: true},
	}
	r := httpx.NewAddrResolver(trusted)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/device", nil)
			req.RemoteAddr = tt.peer
			for _, h := range tt.headers {
				req.Header.Add(h[0], h[1])
			}
			c := r.Connection(req, now)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if c.Addr != want || c.Port != tt.port {
				t.Errorf("address = %v port %d, want %v port %d", c.Addr, c.Port, want, tt.port)
			}
			if c.FromTrustedProxy != tt.fromProx {
				t.Errorf("FromTrustedProxy = %v, want %v", c.FromTrustedProxy, tt.fromProx)
			}
			if !c.At.Equal(now) {
				t.Errorf("At = %v", c.At)
			}
			if c.Header == nil || c.Hint != "" {
				t.Errorf("Header = %v, Hint = %q", c.Header, c.Hint)
			}
		})
	}
}

func TestNoTrustedProxies(t *testing.T) {
	for _, r := range []*httpx.AddrResolver{httpx.NewAddrResolver(nil), httpx.NewAddrResolver([]netip.Prefix{{}})} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = "10.1.1.1:80"
		req.Header.Set("X-Forwarded-For", "100.64.1.2")
		req.Header.Set("Forwarded", "for=100.64.1.2")
		c := r.Connection(req, time.Time{})
		if c.Addr != netip.MustParseAddr("10.1.1.1") || c.FromTrustedProxy {
			t.Errorf("got %v trusted=%v", c.Addr, c.FromTrustedProxy)
		}
	}
}

func TestTrusted(t *testing.T) {
	r := httpx.NewAddrResolver([]netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}) // masked to 10/8
	for addr, want := range map[string]bool{
		"10.9.9.9":         true,
		"::ffff:10.9.9.9":  true,
		"11.0.0.0":         false,
		"::a09:909":        false, // IPv4-compatible, not mapped
		"2001:db8:ffff::1": false,
	} {
		if got := r.Trusted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Trusted(%s) = %v, want %v", addr, got, want)
		}
	}
	if r.Trusted(netip.Addr{}) {
		t.Error("the zero Addr is trusted")
	}
}

func TestParseIPPort(t *testing.T) {
	tests := []struct {
		in   string
		want string // netip.AddrPort form, or the address alone when port is 0
		port uint16
		err  string // part of the error
	}{
		{in: "80.90.34.2:16790", want: "80.90.34.2", port: 16790},
		{in: "80.90.34.2", want: "80.90.34.2"},
		{in: "[2001:db8::1]:8080", want: "2001:db8::1", port: 8080},
		{in: "[2001:db8::1]", want: "2001:db8::1"},
		{in: "[2001:DB8:0:0::1]:65535", want: "2001:db8::1", port: 65535},
		{in: "80.90.34.2:1", want: "80.90.34.2", port: 1},
		{in: "[::ffff:80.90.34.2]:443", want: "80.90.34.2", port: 443},

		{in: "", err: "not an IP address"},
		{in: "2001:db8::1", err: "must be in brackets"},
		{in: "2001:db8::1:8080", err: "must be in brackets"},
		{in: "::ffff:80.90.34.2", err: "must be in brackets"},
		{in: "80.90.34.2:0", err: "port must be"},
		{in: "80.90.34.2:65536", err: "port must be"},
		{in: "80.90.34.2:", err: "port must be"},
		{in: "80.90.34.2:+80", err: "port must be"},
		{in: "80.90.34.2:-1", err: "port must be"},
		{in: "80.90.34.2:80:80", err: "not an IP address"},
		{in: "80.90.34.256", err: "not an IP address"},
		{in: "[2001:db8::1]:", err: "port must be"},
		{in: "[2001:db8::1]8080", err: "not an IP address"},
		{in: "[2001:db8::1", err: "not an IP address"},
		{in: "[80.90.34.2]:80", err: "not an IP address"},
		{in: "[fe80::1%eth0]:80", err: "zones are not allowed"},
		{in: "host.example:80", err: "not an IP address"},
		{in: " 80.90.34.2", err: "not an IP address"},
		{in: "ipport:80.90.34.2", err: "not an IP address"},
	}
	messages := map[string]bool{} // every error is a fixed message
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := httpx.ParseIPPort(tt.in)
			if err != nil {
				messages[err.Error()] = true
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseIPPort = %v, %v; want error containing %q", got, err, tt.err)
				}
				if got.IsValid() || got.Addr().IsValid() {
					t.Errorf("value %v returned with error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIPPort: %v", err)
			}
			if got.Addr() != netip.MustParseAddr(tt.want) || got.Port() != tt.port {
				t.Errorf("ParseIPPort = %v, want %s port %d", got, tt.want, tt.port)
			}
		})
	}
	if len(messages) != 4 {
		t.Errorf("%d distinct error messages, want the 4 fixed ones: %v", len(messages), messages)
	}
}

func FuzzParseIPPort(f *testing.F) {
	for _, s := range []string{"80.90.34.2:16790", "80.90.34.2", "[2001:db8::1]:8080", "[2001:db8::1]", "[", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := httpx.ParseIPPort(s)
		if err != nil {
			return
		}
		a := ap.Addr()
		if !a.IsValid() || a.Is4In6() || a.Zone() != "" {
			t.Fatalf("ParseIPPort(%q) = %v", s, ap)
		}
	})
}

func FuzzConnection(f *testing.F) {
	f.Add("for=100.64.1.2", "203.0.113.9, 100.64.1.2")
	f.Add(`for="[2001:db8::1]:80";proto=https, for=10.0.0.1`, "")
	f.Add(`for="\`, "garbage")
	r := httpx.NewAddrResolver(trusted)
	f.Fuzz(func(t *testing.T, fwd, xff string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = "10.1.1.1:80"
		req.Header.Set("Forwarded", fwd)
		req.Header.Set("X-Forwarded-For", xff)
		c := r.Connection(req, time.Time{})
		if c.Addr.IsValid() && (c.Addr.Is4In6() || c.Addr.Zone() != "") {
			t.Fatalf("address %v not cleaned", c.Addr)
		}
		// An untrusted peer is never moved by headers.
		req.RemoteAddr = "100.64.1.2:5"
		if c := r.Connection(req, time.Time{}); c.Addr != netip.MustParseAddr("100.64.1.2") || c.Port != 5 {
			t.Fatalf("untrusted peer moved to %v", c.Addr)
		}
	})
}

// TestTrustedRequester: only a trusted proxy asking on its own account is
// a trusted requester; a device's request it relays, or one relayed
// through several trusted hops from a device, is not.
func TestTrustedRequester(t *testing.T) {
	r := httpx.NewAddrResolver(trusted)
	for _, tc := range []struct {
		name, peer, xff string
		want            bool
	}{
		{"the proxy itself", "10.0.0.1:443", "", true},
		{"the proxy, through another trusted hop", "10.0.0.1:443", "10.0.0.9", true},
		{"a device relayed by the proxy", "10.0.0.1:443", "100.64.1.2", false},
		{"a device behind two trusted hops", "10.0.0.1:443", "100.64.1.2, 10.0.0.9", false},
		{"a device claiming to be a proxy", "10.0.0.1:443", "10.0.0.9, 100.64.1.2", false},
		{"an untrusted peer", "100.64.1.2:5000", "", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = tc.peer
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := r.Connection(req, time.Now()).TrustedRequester; got != tc.want {
			t.Errorf("%s: TrustedRequester %v, want %v", tc.name, got, tc.want)
		}
	}
}
