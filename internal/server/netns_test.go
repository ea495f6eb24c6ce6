package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc3162"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/server"
)

// startGatewayOn is startGateway on a listener of the caller's (say, on a
// veth address), with extra identifiers by name (server.Options.Identifiers).
func startGatewayOn(t testing.TB, l net.Listener, ids map[string]network.Identifier, mutate func(*config.Config)) *gateway {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = l.Addr().String()
	cfg.Data = t.TempDir()
	cfg.Identification.Timeout = config.Duration(time.Second)
	if mutate != nil {
		mutate(&cfg)
	}
	clk := &clock{t: time.Now().UTC()}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, server.Options{Logger: log, Now: clk.Now, Identifiers: ids})
	if err != nil {
		cancel()
		l.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	return &gateway{URL: "http://" + cfg.Listen, Clock: clk, Server: srv, Config: cfg}
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// needTool returns the path of a tool the test needs. Missing, it fails the
// test in CI (the setup script must install it) and skips it elsewhere.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found: install Debian's %s (scripts/test-deps.sh)", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// netns is a network namespace joined to the host by a veth pair: the
// "device" side has .2 / ::2, the host side .1 / ::1.
type netns struct {
	name           string
	hostV4, devV4  netip.Addr
	hostV6, devV6  netip.Addr
	prefixV6       netip.Prefix
	hostIf, devIf  string
	ipBin, curlBin string
}

// newNetns creates a namespace and veth pair with unique names and a
// 10.213.N.0/24 and fd00:213:N::/64 of their own, removed when the test
// ends (even when it fails). It skips the test, saying why, where the
// machine cannot create namespaces.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netns device test: needs root to create network namespaces (run as root, e.g. in CI)")
	}
	ipBin, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("netns device test: iproute2's ip not found (apt-get install -y iproute2)")
	}
	curlBin := needTool(t, "curl", "curl")
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	n := &netns{name: "ng" + id, hostIf: "ng" + id + "h", devIf: "ng" + id + "d", ipBin: ipBin, curlBin: curlBin}
	ip := func(args ...string) error {
		out, err := exec.Command(ipBin, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := ip("netns", "add", n.name); err != nil {
		t.Skipf("netns device test: cannot create a network namespace here: %v", err)
	}
	t.Cleanup(func() {
		_ = ip("link", "del", n.hostIf) // takes the device side with it
		if err := ip("netns", "del", n.name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	sub := n.freeSubnet(t)
	n.hostV4 = netip.AddrFrom4([4]byte{10, 213, sub, 1})
	n.devV4 = netip.AddrFrom4([4]byte{10, 213, sub, 2})
	n.prefixV6 = netip.MustParsePrefix(fmt.Sprintf("fd00:213:%x::/64", sub))
	n.hostV6 = netip.MustParseAddr(fmt.Sprintf("fd00:213:%x::1", sub))
	n.devV6 = netip.MustParseAddr(fmt.Sprintf("fd00:213:%x::2", sub))
	for _, args := range [][]string{
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", n.devIf},
		{"link", "set", n.devIf, "netns", n.name},
		{"addr", "add", n.hostV4.String() + "/24", "dev", n.hostIf},
		{"addr", "add", n.hostV6.String() + "/64", "dev", n.hostIf, "nodad"},
		{"link", "set", n.hostIf, "up"},
		{"-n", n.name, "addr", "add", n.devV4.String() + "/24", "dev", n.devIf},
		{"-n", n.name, "addr", "add", n.devV6.String() + "/64", "dev", n.devIf, "nodad"},
		{"-n", n.name, "link", "set", n.devIf, "up"},
		{"-n", n.name, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// freeSubnet picks N so that no interface on the host has an address in
// 10.213.N.0/24 (another test's namespace, run in parallel).
func (n *netns) freeSubnet(t *testing.T) byte {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	used := map[byte]bool{}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			if b := p.Addr().As4(); b[0] == 10 && b[1] == 213 {
				used[b[2]] = true
			}
		}
	}
	var r [1]byte
	for range 256 {
		_, _ = rand.Read(r[:])
		if !used[r[0]] {
			return r[0]
		}
	}
	t.Fatal("no free 10.213.N.0/24")
	return 0
}

// openAsDevice opens authURL with curl from inside the namespace, without
// following redirects, and returns the redirect's query.
func (n *netns) openAsDevice(t *testing.T, authURL string) url.Values {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, n.ipBin, "netns", "exec", n.name, n.curlBin,
		"-g", "-s", "--noproxy", "*", "--max-time", "10", "-o", "/dev/null", "-w", "%{redirect_url}", authURL).CombinedOutput()
	if err != nil {
		t.Fatalf("curl in %s: %v: %s", n.name, err, out)
	}
	u, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil || u.Host == "" {
		t.Fatalf("curl in %s: no redirect (got %q)", n.name, out)
	}
	return u.Query()
}

// radiusFeed sends Accounting-Requests to a gateway's RADIUS listener.
type radiusFeed struct {
	addr, secret string
}

// send sends one Accounting-Request and waits for its Accounting-Response.
func (f radiusFeed) send(t *testing.T, status rfc2866.AcctStatusType, session, number string, v4 netip.Addr, v6 netip.Prefix) {
	t.Helper()
	p := radius.New(radius.CodeAccountingRequest, []byte(f.secret))
	rfc2866.AcctStatusType_Set(p, status)
	rfc2866.AcctSessionID_SetString(p, session)
	rfc2865.CallingStationID_SetString(p, strings.TrimPrefix(number, "+"))
	rfc2865.CalledStationID_SetString(p, "internet.mnc008.mcc204.gprs")
	rfc2865.NASIdentifier_SetString(p, "pgw-netns")
	if v4.IsValid() {
		rfc2865.FramedIPAddress_Set(p, v4.AsSlice())
	}
	if v6.IsValid() {
		rfc3162.FramedIPv6Prefix_Set(p, &net.IPNet{IP: v6.Addr().AsSlice(), Mask: net.CIDRMask(v6.Bits(), 128)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Retransmit until the feed, started with Serve, is listening.
	resp, err := (&radius.Client{Retry: 200 * time.Millisecond}).Exchange(ctx, p, f.addr)
	if err != nil {
		t.Fatalf("RADIUS %v: no Accounting-Response: %v", status, err)
	}
	if resp.Code != radius.CodeAccountingResponse {
		t.Fatalf("RADIUS %v: answered %v", status, resp.Code)
	}
}

// startRadiusGateway starts a gateway listening on host (a veth address)
// with the RADIUS feed on loopback as its only identifier.
func startRadiusGateway(t *testing.T, host netip.Addr) (*gateway, radiusFeed) {
	t.Helper()
	const secret = "Netns-Test-Shared-Secret-7"
	clients := filepath.Join(t.TempDir(), "radius-clients")
	if err := os.WriteFile(clients, []byte("127.0.0.1/32 "+secret+" netns-pgw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	feed := radiusFeed{addr: fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t)), secret: secret}
	demo := true
	g := startGatewayOn(t, l, nil, func(c *config.Config) {
		c.Radius.Clients = clients
		c.Radius.Listen = feed.addr
		c.Identification.Order = []string{"radius"}
		c.DemoClient = &demo
	})
	return g, feed
}

// camaraFlow runs the CAMARA flow for number: the device step from inside
// the namespace with curl, the backend steps from the host with the client
// package. It returns the verdict, or the error code of the authorize
// redirect.
func camaraFlow(t *testing.T, n *netns, g *gateway, number string) (verified bool, oauthErr string) {
	t.Helper()
	ctx := context.Background()
	c := g.demo()
	d, err := c.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ar := client.NewAuthRequest("tel:"+number, "number-verification:verify")
	q := n.openAsDevice(t, c.AuthorizeURL(d.AuthorizationEndpoint, ar))
	if q.Get("state") != ar.State {
		t.Fatalf("redirect state %q, want %q", q.Get("state"), ar.State)
	}
	if e := q.Get("error"); e != "" {
		return false, e
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("redirect carries neither code nor error: %v", q)
	}
	tok, err := c.Exchange(ctx, d.TokenEndpoint, code, ar.PKCE.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := c.Verify(ctx, tok.AccessToken, number)
	if err != nil {
		t.Fatal(err)
	}
	return ok, ""
}

// TestNetnsDevice is the device test: a "device" with its own
// address in a network namespace, bound to a number by a RADIUS
// Accounting-Request Start, runs the CAMARA flow and is identified; after
// the Stop it is not. Once with Framed-IP-Address, once with
// Framed-IPv6-Prefix (the device's address is another one in the /64).
func TestNetnsDevice(t *testing.T) {
	n := newNetns(t)
	const number, other = "+31612345678", "+31687654321"
	for _, c := range []struct {
		name string
		host netip.Addr
		v4   netip.Addr
		v6   netip.Prefix
	}{
		{"IPv4", n.hostV4, n.devV4, netip.Prefix{}},
		{"IPv6", n.hostV6, netip.Addr{}, n.prefixV6},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, feed := startRadiusGateway(t, c.host)

			// Before any accounting the device is a stranger.
			if _, e := camaraFlow(t, n, g, number); e != "login_required" {
				t.Fatalf("unbound device: authorize error %q, want login_required", e)
			}

			session := "netns-" + c.name
			feed.send(t, rfc2866.AcctStatusType_Value_Start, session, number, c.v4, c.v6)
			g.Clock.Advance(time.Second)
			if ok, e := camaraFlow(t, n, g, number); e != "" || !ok {
				t.Fatalf("bound device claiming its number: verified %v, authorize error %q; want verified", ok, e)
			}
			if ok, e := camaraFlow(t, n, g, other); e != "" || ok {
				t.Fatalf("bound device claiming another number: verified %v, authorize error %q; want identified, not verified", ok, e)
			}

			g.Clock.Advance(time.Minute)
			feed.send(t, rfc2866.AcctStatusType_Value_Stop, session, number, c.v4, c.v6)
			if _, e := camaraFlow(t, n, g, number); e != "login_required" {
				t.Fatalf("after Stop: authorize error %q, want login_required", e)
			}
		})
	}
}
