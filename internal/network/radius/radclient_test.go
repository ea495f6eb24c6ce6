package radius

import (
	"bytes"
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
