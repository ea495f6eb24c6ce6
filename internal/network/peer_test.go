package network_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/numgate/numgate/internal/network"
)

func TestPeerConnection(t *testing.T) {
	for remote, want := range map[string]netip.AddrPort{
		"192.0.2.7:4321":          netip.MustParseAddrPort("192.0.2.7:4321"),
		"[::ffff:192.0.2.7]:4321": netip.MustParseAddrPort("192.0.2.7:4321"),
		"[2001:db8::1]:443":       netip.MustParseAddrPort("[2001:db8::1]:443"),
		"[fe80::1%eth0]:80":       netip.MustParseAddrPort("[fe80::1%eth0]:80"),
		"@":                       {},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		c := network.PeerConnection(r)
		if c.Addr != want.Addr() || c.Port != want.Port() {
			t.Errorf("%q: %v port %d, want %v", remote, c.Addr, c.Port, want)
		}
		if c.Header.Get("X-Forwarded-For") != "203.0.113.9" || c.FromTrustedProxy {
			t.Errorf("%q: headers not passed as they are, or the peer trusted", remote)
		}
	}
}
