package radius

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/network"
)

// needTool returns the path of a Debian tool the test needs. Missing, it
// fails the test in CI (CI=true: the setup script must install it) and
// skips it elsewhere, saying what to install.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found: install Debian's %s (apt-get install -y %s)", name, pkg, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// radclient sends one accounting request with FreeRADIUS's radclient and
// reports whether it was answered.
func radclient(t *testing.T, bin, addr, secret, attrs string) error {
	t.Helper()
	cmd := exec.Command(bin, "-r", "1", "-t", "1", "-x", addr, "acct", secret)
	cmd.Stdin = strings.NewReader(attrs)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("radclient: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Accounting-Response") {
		return errors.New("radclient: no Accounting-Response:\n" + out.String())
	}
	return nil
}

// TestRadclient sends real packets from FreeRADIUS's radclient (Debian
// freeradius-utils), with the 3GPP vendor attributes a P-GW adds.
func TestRadclient(t *testing.T) {
	bin := needTool(t, "radclient", "freeradius-utils")
	const secret = "Radclient-Shared-Secret-42"
	ts := startServer(t, Config{
		Clients:       []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: secret, Name: "rc"}},
		DataDir:       t.TempDir(),
		DefaultDomain: "internet",
	})
	session := func(status string, extra string) string {
		return fmt.Sprintf(`Acct-Status-Type = %s
Acct-Session-Id = "0A0B0C0D-00000001"
Calling-Station-Id = "31612345678"
Called-Station-Id = "Internet.mnc008.mcc204.gprs"
Framed-IP-Address = 10.60.0.7
Framed-IPv6-Prefix = 2001:db8:60:7::/64
NAS-Identifier = "pgw-lab-1"
NAS-IP-Address = 192.0.2.10
3GPP-IMSI = "204080123456789"
3GPP-RAT-Type = EUTRAN
3GPP-Charging-ID = 4660
3GPP-IMSI-MCC-MNC = "20408"
3GPP-GGSN-Address = 192.0.2.10
%s`, status, extra)
	}
	now := func() time.Time { return time.Now() }

	if err := radclient(t, bin, ts.addr, secret, session("Start", "")); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"10.60.0.7", "2001:db8:60:7::99"} {
		if n, err := identify(ts.Table(), a, now()); err != nil || n != alice {
			t.Fatalf("after Start, %s = %q, %v", a, n, err)
		}
	}
	if err := radclient(t, bin, ts.addr, secret, session("Interim-Update", "Acct-Session-Time = 60\n")); err != nil {
		t.Fatal(err)
	}
	if err := radclient(t, bin, ts.addr, "not-the-secret", session("Stop", "")); err == nil {
		t.Fatal("a Stop with the wrong secret was answered")
	}
	if got := ts.metric(t, "numgate_radius_rejected_packets_total", "reason", "bad_authenticator"); got < 1 {
		t.Errorf("wrong secret not counted: %v", got)
	}
	if n, _ := identify(ts.Table(), "10.60.0.7", now()); n != alice {
		t.Fatal("a forged Stop ended the session")
	}
	if err := radclient(t, bin, ts.addr, secret, session("Stop", "Acct-Session-Time = 120\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := identify(ts.Table(), "10.60.0.7", now().Add(time.Second)); !errors.Is(err, network.ErrNotIdentifiable) {
		t.Fatalf("after Stop: %v", err)
	}
	for typ, want := range map[string]float64{"start": 1, "interim_update": 1, "stop": 1} {
		if got := ts.metric(t, "numgate_radius_packets_total", "type", typ); got != want {
			t.Errorf("packets{type=%s} = %v, want %v", typ, got, want)
		}
	}
}

// rfc8045Dictionary is FreeRADIUS's dictionary of the RFC 8045 attributes,
// included by the default dictionary radclient loads.
const rfc8045Dictionary = "/usr/share/freeradius/dictionary.rfc8045"

// portRangeAttrs returns radclient input for one IP-Port-Range attribute:
// by name (radclient's dictionary must have RFC 8045; Debian's
// freeradius-utils 3.2 has), or as raw Extended-Type-1 octets.
func portRangeAttrs(named bool, alloc int, ext string, lo, hi uint16) string {
	if named {
		allocName := map[int]string{1: "Allocation", 2: "Deallocation"}[alloc]
		return fmt.Sprintf(`IP-Port-Range-Alloc = %s
IP-Port-Range-Type = 6
IP-Port-Range-Ext-IPv4-Addr = %s
IP-Port-Range-Range-Start = %d
IP-Port-Range-Range-End = %d
IP-Port-Range-Local-Id = "vlan-300"
`, allocName, ext, lo, hi)
	}
	// RFC 8045 TLVs: IP-Port-Alloc, IP-Port-Type, IP-Port-Ext-IPv4-Addr,
	// IP-Port-Range-Start, IP-Port-Range-End.
	a := netip.MustParseAddr(ext).As4()
	b := []byte{8, 6, 0, 0, 0, byte(alloc), 1, 6, 0, 0, 0, 6, 3, 6, a[0], a[1], a[2], a[3]}
	b = append(b, 9, 6, 0, 0, byte(lo>>8), byte(lo), 10, 6, 0, 0, byte(hi>>8), byte(hi))
	return "Attr-241.6 = 0x" + hex.EncodeToString(b) + "\n"
}

// TestRadclientCGNAT sends what a CGNAT reports (RFC 8045 IP-Port-Range)
// with FreeRADIUS's radclient, for two subscribers sharing one public
// address: a lookup by (address, source port, time) names the subscriber
// whose block holds the port, and nobody outside every block. A second
// block joins in an Interim-Update, a deallocation releases one block while
// the session goes on, the released ports move to the other subscriber,
// alice's Stop ends the rest of hers, and bob's Stop, which names no block,
// ends his.
func TestRadclientCGNAT(t *testing.T) {
	bin := needTool(t, "radclient", "freeradius-utils")
	t.Run("raw", func(t *testing.T) { testRadclientCGNAT(t, bin, false) })
	t.Run("named", func(t *testing.T) {
		if _, err := os.Stat(rfc8045Dictionary); err != nil {
			t.Skipf("radclient's dictionary has no RFC 8045 attributes (%v)", err)
		}
		testRadclientCGNAT(t, bin, true)
	})
}

func testRadclientCGNAT(t *testing.T, bin string, named bool) {
	const secret = "Radclient-Shared-Secret-42"
	ts := startServer(t, Config{
		Clients:       []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: secret, Name: "rc"}},
		DataDir:       t.TempDir(),
		DefaultDomain: AnyDomain,
	})
	type subscriber struct{ session, calling, inside string }
	a := subscriber{"CGN-0001", "31612345678", "100.64.12.34"} // alice
	b := subscriber{"CGN-0002", "31687654321", "100.64.12.35"} // bob
	send := func(s subscriber, status, extra string) {
		t.Helper()
		attrs := fmt.Sprintf(`Acct-Status-Type = %s
Acct-Session-Id = %q
Calling-Station-Id = %q
Called-Station-Id = "internet"
Framed-IP-Address = %s
NAS-Identifier = "cgnat-1"
%s`, status, s.session, s.calling, s.inside, extra)
		if err := radclient(t, bin, ts.addr, secret, attrs); err != nil {
			t.Fatal(err)
		}
	}
	const pub = "198.51.100.7"
	// Bindings start and end at the second of their event: look a second
	// later.
	want := func(step string, ports map[uint16]string) {
		t.Helper()
		for port, w := range ports {
			id, err := ts.Table().Identify(t.Context(), network.Connection{Addr: netip.MustParseAddr(pub), Port: port, At: time.Now().Add(time.Second)})
			if w == "" {
				if !errors.Is(err, network.ErrNotIdentifiable) {
					t.Errorf("%s: port %d = %q, %v; want not identifiable", step, port, id.Number, err)
				}
			} else if err != nil || id.Number != w {
				t.Errorf("%s: port %d = %q, %v; want %s", step, port, id.Number, err, w)
			}
		}
	}

	send(a, "Start", portRangeAttrs(named, 1, pub, 1024, 2047))
	send(b, "Start", portRangeAttrs(named, 1, pub, 2048, 3071))
	want("after the Starts", map[uint16]string{1023: "", 1024: alice, 1500: alice, 2047: alice,
		2048: bob, 3071: bob, 3072: "", 0: ""})
	if n, err := identify(ts.Table(), a.inside, time.Now()); err != nil || n != alice {
		t.Errorf("inside address = %q, %v", n, err)
	}

	// A second block; radclient packs consecutive TLVs of one parent into
	// one attribute, so another attribute separates the two.
	send(a, "Interim-Update", portRangeAttrs(named, 1, pub, 1024, 2047)+"Acct-Session-Time = 60\n"+portRangeAttrs(named, 1, pub, 8192, 9215))
	want("after the second block", map[uint16]string{1500: alice, 2500: bob, 9000: alice, 9216: ""})

	// Alice's first block is released; her session and her other block go
	// on, and the released ports go to bob.
	send(a, "Interim-Update", portRangeAttrs(named, 2, pub, 1024, 2047)+"Acct-Session-Time = 120\n"+portRangeAttrs(named, 1, pub, 8192, 9215))
	want("after the deallocation", map[uint16]string{1500: "", 2500: bob, 9000: alice})
	// Bob's session is older than alice's (as long-lived sessions under
	// port-block allocation are): the freed ports are his all the same.
	send(b, "Interim-Update", portRangeAttrs(named, 1, pub, 2048, 3071)+"Acct-Session-Time = 3600\n"+portRangeAttrs(named, 1, pub, 1024, 2047))
	want("after the ports moved", map[uint16]string{1500: bob, 2500: bob, 9000: alice})

	send(a, "Stop", portRangeAttrs(named, 2, pub, 8192, 9215)+"Acct-Session-Time = 180\n")
	want("after alice's Stop", map[uint16]string{1500: bob, 2500: bob, 9000: ""})
	if _, _, nat := ts.Table().Counts(); nat != 2 {
		t.Errorf("%d port blocks live after alice's Stop, want bob's 2", nat)
	}
	// A Stop as many BNGs send it, naming the inside address only: bob's
	// blocks end with his session all the same.
	send(b, "Stop", "Acct-Session-Time = 3700\n")
	want("after bob's Stop without port blocks", map[uint16]string{1500: "", 2500: ""})
	if _, _, nat := ts.Table().Counts(); nat != 0 {
		t.Errorf("%d port blocks live after bob's Stop, want 0", nat)
	}
	if got := ts.metric(t, "numgate_radius_rejected_packets_total", "reason", "bad_nat_attribute"); got != 0 {
		t.Errorf("bad_nat_attribute = %v", got)
	}
}
