package notify

import (
	"net/netip"
	"testing"
)

// TestBlocked: with BlockPrivate, only public unicast receivers are
// reached; the special-purpose ranges an attacker can name directly or
// through a translating IPv6 prefix are refused.
func TestBlocked(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::", "::1",
		"fc00::1", "fe80::1", "224.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"100.64.0.1", "100.100.100.200", // shared address space: CGNAT, Alibaba Cloud metadata
		"0.1.2.3", "192.0.0.170", "198.18.0.1", "240.0.0.1", "255.255.255.255",
		"fec0::1", "100::1",
		"::127.0.0.1", "::10.0.0.1", // IPv4-compatible
		"64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b:1::1", // NAT64 to private
		"2002:7f00:1::1", "2002:a9fe:a9fe::1", // 6to4 of private
		"2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
		"::ffff:0:a00:1", "::ffff:0:808:808",   // SIIT IPv4-translated
	} {
		if !blocked(netip.MustParseAddr(s)) {
			t.Errorf("blocked(%s) = false, want true", s)
		}
	}
	for _, s := range []string{
		"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "2606:4700::1111", "2a00:1450::1",
		"64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8",
	} {
		if blocked(netip.MustParseAddr(s)) {
			t.Errorf("blocked(%s) = true, want false", s)
		}
	}
}
