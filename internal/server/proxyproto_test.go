package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/radius"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/server"
	"github.com/numgate/numgate/internal/store"
)

// The loopback addresses that play the parts: the backend and devices
// connect from 127.0.0.1, a PROXY-protocol load balancer from 127.0.0.2, a
// trusted HTTP proxy from 127.0.0.3.
var (
	lbAddr    = netip.MustParseAddr("127.0.0.2")
	proxyAddr = netip.MustParseAddr("127.0.0.3")
)

// dialFrom connects to addr from the local address from.
func dialFrom(ctx context.Context, from netip.Addr, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0)), Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

// lbClient is an HTTP client whose every connection comes from the load
// balancer's address and, unless h is nil, opens with the PROXY header h
// names for it (its destination is filled in).
func lbClient(h func() *proxyproto.Header) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			Proxy:             nil,
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				c, err := dialFrom(ctx, lbAddr, addr)
				if err != nil || h == nil {
					return c, err
				}
				if _, err := h().WriteTo(c); err != nil {
					c.Close()
					return nil, err
				}
				return c, nil
			},
		},
	}
}

// proxyHeader is a PROXY header (version 1 or 2) for a TCP connection
// from src.
func proxyHeader(version byte, src string) *proxyproto.Header {
	s := net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src))
	dst := &net.TCPAddr{IP: net.IPv4(203, 0, 113, 1), Port: 443}
	if s.IP.To4() == nil {
		dst = &net.TCPAddr{IP: net.ParseIP("2001:db8::443"), Port: 443}
	}
	return proxyproto.HeaderProxyFromAddrs(version, s, dst)
}

// echoServer serves r.RemoteAddr behind ProxyProtocolListener, trusting the
// load balancer's address.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl := server.ProxyProtocolListener(l, []netip.Prefix{netip.PrefixFrom(lbAddr, 32)})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(pl)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// rawRequest writes prefix and a GET on a connection from `from`, and
// returns the status and body, or the error that ended the exchange.
func rawRequest(t *testing.T, from netip.Addr, addr string, prefix []byte) (int, string, error) {
	t.Helper()
	c, err := dialFrom(context.Background(), from, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(append(prefix, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"...)); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestProxyProtocolListener(t *testing.T) {
	addr := echoServer(t)
	must := func(h *proxyproto.Header) []byte {
		b, err := h.Format()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	local := &proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}
	udp := proxyproto.HeaderProxyFromAddrs(2, &net.UDPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 40001}, &net.UDPAddr{IP: net.IPv4(203, 0, 113, 1), Port: 443})

	// From the trusted load balancer: the header's source is the client.
	for _, c := range []struct {
		name   string
		header []byte
		want   string
	}{
		{"v2 IPv4", must(proxyHeader(2, "198.51.100.7:40001")), "198.51.100.7:40001"},
		{"v2 IPv6", must(proxyHeader(2, "[2001:db8:7::9]:40002")), "[2001:db8:7::9]:40002"},
		{"v1 IPv4", must(proxyHeader(1, "198.51.100.8:40003")), "198.51.100.8:40003"},
		{"v2 LOCAL (health check)", must(local), "127.0.0.2:"},
	} {
		st, body, err := rawRequest(t, lbAddr, addr, c.header)
		if err != nil || st != http.StatusOK || !strings.HasPrefix(body, c.want) {
			t.Errorf("%s: HTTP %d %q %v, want remote address %s", c.name, st, body, err, c.want)
		}
	}
	// From the load balancer a header is required, and must name TCP.
	for name, prefix := range map[string][]byte{"no header": nil, "UDP source": must(udp)} {
		if st, body, err := rawRequest(t, lbAddr, addr, prefix); err == nil {
			t.Errorf("load balancer, %s: HTTP %d %q, want the connection refused", name, st, body)
		}
	}
	// From anyone else the header is never read: a device cannot pick its
	// address by sending one.
	st, body, err := rawRequest(t, netip.MustParseAddr("127.0.0.1"), addr, must(proxyHeader(2, "198.51.100.7:40001")))
	if err == nil && (st == http.StatusOK || strings.Contains(body, "198.51.100.7")) {
		t.Errorf("untrusted peer with a header: HTTP %d %q, want it refused", st, body)
	}
	st, body, err = rawRequest(t, netip.MustParseAddr("127.0.0.1"), addr, must(proxyHeader(1, "198.51.100.7:40001")))
	if err == nil && (st == http.StatusOK || strings.Contains(body, "198.51.100.7")) {
		t.Errorf("untrusted peer with a v1 header: HTTP %d %q, want it refused", st, body)
	}
	st, body, err = rawRequest(t, netip.MustParseAddr("127.0.0.1"), addr, nil)
	if err != nil || st != http.StatusOK || !strings.HasPrefix(body, "127.0.0.1:") {
		t.Errorf("untrusted peer without a header: HTTP %d %q %v, want its own address", st, body, err)
	}

	// Without networks the listener is unchanged.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if server.ProxyProtocolListener(l, nil) != l {
		t.Error("no networks: the listener should be returned as is")
	}
}

// cgnatTable is a RADIUS binding table with two subscribers sharing the
// public address 198.51.100.7 through CGNAT port blocks.
func cgnatTable(t *testing.T) *radius.Table {
	t.Helper()
	tab := radius.NewTable(radius.TableConfig{DefaultDomain: radius.AnyDomain})
	at := time.Now().Add(-time.Minute)
	pub := netip.MustParseAddr("198.51.100.7")
	for _, ev := range []radius.Event{
		{Status: radius.StatusStart, Gateway: "cgnat", Domain: "internet", Session: "a", Number: numberA, NAT: radius.NATBlock{Addr: pub, PortLo: 40000, PortHi: 40999}, At: at},
		{Status: radius.StatusStart, Gateway: "cgnat", Domain: "internet", Session: "b", Number: numberB, NAT: radius.NATBlock{Addr: pub, PortLo: 41000, PortHi: 41999}, At: at},
	} {
		if _, err := tab.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	return tab
}

const numberA, numberB = "+31612345678", "+31687654321"

// flowVia runs the CAMARA flow for claimed with the authorize request sent
// by device (and login_hint hint, default tel:claimed) and the backend
// steps from 127.0.0.1. It returns the verdict or the authorize error code.
func flowVia(t *testing.T, g *gateway, device *http.Client, hint, claimed string) (bool, string) {
	t.Helper()
	ctx := context.Background()
	c := g.demo()
	d, err := c.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hint == "" {
		hint = "tel:" + claimed
	}
	ar := client.NewAuthRequest(hint, "number-verification:verify")
	dc := *c
	dc.HTTP = device
	code, err := dc.OpenAsDevice(ctx, c.AuthorizeURL(d.AuthorizationEndpoint, ar), ar.State)
	var oe *client.OAuthError
	if errors.As(err, &oe) {
		return false, oe.Code
	}
	if err != nil {
		return false, "transport: " + err.Error()
	}
	tok, err := c.Exchange(ctx, d.TokenEndpoint, code, ar.PKCE.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := c.Verify(ctx, tok.AccessToken, claimed)
	if err != nil {
		t.Fatal(err)
	}
	return ok, ""
}

// TestProxyProtocolCGNAT: devices behind carrier-grade NAT reach the gateway
// through a load balancer that speaks PROXY protocol v2; the public address
// and source port it reports pick the subscriber's port block.
func TestProxyProtocolCGNAT(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := startGatewayOn(t, l, map[string]network.Identifier{"radius": cgnatTable(t)}, func(c *config.Config) {
		c.ProxyProtocol = []string{lbAddr.String()}
		c.Identification.Order = []string{"radius"}
		c.DemoClient = ptr(true) // not development any more: behind a proxy
	})
	via := func(src string) *http.Client {
		return lbClient(func() *proxyproto.Header { return proxyHeader(2, src) })
	}
	for _, c := range []struct {
		src, claimed string
		verified     bool
		oauthErr     string
	}{
		{"198.51.100.7:40001", numberA, true, ""},
		{"198.51.100.7:40999", numberA, true, ""},
		{"198.51.100.7:41001", numberB, true, ""},
		{"198.51.100.7:41001", numberA, false, ""},               // B's block: identified, not A
		{"198.51.100.7:50000", numberA, false, "login_required"}, // no block holds the port
		{"198.51.100.8:40001", numberA, false, "login_required"}, // another address
	} {
		ok, e := flowVia(t, g, via(c.src), "", c.claimed)
		if ok != c.verified || e != c.oauthErr {
			t.Errorf("device %s claiming %s…: verified %v error %q, want %v %q", c.src, c.claimed[:4], ok, e, c.verified, c.oauthErr)
		}
	}
	// The load balancer must send the header.
	if _, e := flowVia(t, g, lbClient(nil), "", numberA); !strings.HasPrefix(e, "transport:") {
		t.Errorf("load balancer without a header: %q, want the connection refused", e)
	}
}

// TestLoginHintIPPortThroughTrustedProxy: a backend's authorize request
// arrives through a trusted proxy with login_hint=ipport:ADDR:PORT, naming
// the device's public address and port; the CGNAT binding identifies it.
// From anyone else the hint is ignored — also from a device whose request
// the trusted proxy relays (X-Forwarded-For names it): a device must not
// name another subscriber's address and be identified as them.
func TestLoginHintIPPortThroughTrustedProxy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := startGatewayOn(t, l, map[string]network.Identifier{"radius": cgnatTable(t)}, func(c *config.Config) {
		c.TrustedProxies = []string{proxyAddr.String()}
		c.Identification.Order = []string{"radius"}
		c.DemoClient = ptr(true) // not development any more: behind a proxy
	})
	viaProxy := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialFrom(ctx, proxyAddr, addr)
		},
	}}
	direct := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	relayed := &http.Client{Timeout: 10 * time.Second, Transport: forwardedFor{"203.0.113.50", viaProxy.Transport}}
	for _, c := range []struct {
		name, hint, claimed string
		device              *http.Client
		verified            bool
		oauthErr            string
	}{
		{"A's block", "ipport:198.51.100.7:40001", numberA, viaProxy, true, ""},
		{"B's block", "ipport:198.51.100.7:41500", numberB, viaProxy, true, ""},
		{"B's block, A claimed", "ipport:198.51.100.7:41500", numberA, viaProxy, false, ""},
		{"no port", "ipport:198.51.100.7", numberA, viaProxy, false, "login_required"},
		{"port in no block", "ipport:198.51.100.7:42000", numberA, viaProxy, false, "login_required"},
		{"untrusted sender", "ipport:198.51.100.7:40001", numberA, direct, false, "login_required"},
		{"a device relayed by the proxy", "ipport:198.51.100.7:40001", numberA, relayed, false, "login_required"},
	} {
		ok, e := flowVia(t, g, c.device, c.hint, c.claimed)
		if ok != c.verified || e != c.oauthErr {
			t.Errorf("%s: verified %v error %q, want %v %q", c.name, ok, e, c.verified, c.oauthErr)
		}
	}
}

func TestProxyProtocolConfig(t *testing.T) {
	c := config.Default()
	err := config.Decode([]byte("proxy_protocol: [10.0.0.0/8, \"192.0.2.7\", \"2001:db8::/32\"]\nueid:\n  token_file: /etc/numgate/ueid-tokens\n"), &c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.ProxyProtocolPrefixes()
	if err != nil || fmt.Sprint(p) != "[10.0.0.0/8 192.0.2.7/32 2001:db8::/32]" || c.UEID.TokenFile != "/etc/numgate/ueid-tokens" {
		t.Errorf("decoded %v %v %q", p, err, c.UEID.TokenFile)
	}
	c.ApplyEnv(func(k string) string {
		return map[string]string{"NUMGATE_PROXY_PROTOCOL": "127.0.0.2, 127.0.0.4", "NUMGATE_UEID_TOKEN_FILE": "/run/tokens"}[k]
	})
	if fmt.Sprint(c.ProxyProtocol) != "[127.0.0.2 127.0.0.4]" || c.UEID.TokenFile != "/run/tokens" {
		t.Errorf("env: %v %q", c.ProxyProtocol, c.UEID.TokenFile)
	}
	c.ProxyProtocol = []string{"lb.example"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `proxy_protocol: "lb.example" is neither`) {
		t.Errorf("Validate: %v", err)
	}
}

// ptr returns a pointer to v, for the configuration's optional switches.
func ptr[T any](v T) *T { return &v }

// forwardedFor is a proxy's transport: it names the device it relays in
// X-Forwarded-For.
type forwardedFor struct {
	device string
	next   http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.device)
	return f.next.RoundTrip(r)
}

// TestDemoClientRetiredBehindProxy: a data directory that got the demo
// client in development loses it when the gateway starts behind a proxy
// (no longer development): its secret is published. A client of that id
// registered with a secret of its own is kept.
func TestDemoClientRetiredBehindProxy(t *testing.T) {
	dir := t.TempDir()
	// Three gateways on one directory at once: only with durable flows
	// (with flows in memory the directory is locked, TestDataDirLocked).
	dev := startGateway(t, func(c *config.Config) { c.Data = dir; c.Store.Flows = config.FlowsDurable })
	if _, err := dev.Server.Store().GetClient(t.Context(), client.DemoClientID); err != nil {
		t.Fatalf("development start: demo client %v, want it registered", err)
	}
	prod := startGateway(t, func(c *config.Config) {
		c.Data, c.Store.Flows = dir, config.FlowsDurable
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	if _, err := prod.Server.Store().GetClient(t.Context(), client.DemoClientID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("start behind a proxy: demo client %v, want it removed", err)
	}

	hash, salt := oauth.HashSecret("an operator's own secret")
	if err := prod.Server.Store().CreateClient(t.Context(), store.Client{
		ID: client.DemoClientID, SecretHash: hash, SecretSalt: salt, RedirectURIs: []string{"https://rp.example/cb"}, CreatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	again := startGateway(t, func(c *config.Config) {
		c.Data, c.Store.Flows = dir, config.FlowsDurable
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	if _, err := again.Server.Store().GetClient(t.Context(), client.DemoClientID); err != nil {
		t.Errorf("a client of the demo id with its own secret: %v, want it kept", err)
	}
}
