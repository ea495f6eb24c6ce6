package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pires/go-proxyproto"
)

// proxyHeaderTimeout bounds how long a load balancer may take to send its
// PROXY header after connecting.
const proxyHeaderTimeout = 5 * time.Second

// errNotTCP refuses PROXY headers that name anything but a TCP connection
// over IPv4 or IPv6: the gateway needs the device's address and port.
var errNotTCP = errors.New("PROXY header names no TCP/IP source")

// ProxyProtocolListener wraps l so that connections from the given networks
// (config proxy_protocol) must open with a PROXY protocol header, v1 or v2,
// whose source address and port then become the connection's RemoteAddr —
// and so the request's RemoteAddr, the address and port that
// httpx.AddrResolver hands to the identifiers (a CGNAT lookup needs the
// port). From such a peer a connection without a header fails; a LOCAL
// or UNKNOWN header (a health check) keeps the peer's own address; a header
// naming a UDP or Unix source fails the connection.
//
// Connections from anywhere else are passed through untouched: their bytes
// are never read as a PROXY header, so a device cannot claim an address by
// sending one (the HTTP server answers it 400). With no networks, l is
// returned as is.
func ProxyProtocolListener(l net.Listener, networks []netip.Prefix) net.Listener {
	if len(networks) == 0 {
		return l
	}
	trusted := make([]netip.Prefix, 0, len(networks))
	for _, p := range networks {
		if p.IsValid() {
			trusted = append(trusted, p.Masked())
		}
	}
	return &proxyproto.Listener{
		Listener:          l,
		ReadHeaderTimeout: proxyHeaderTimeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			ap, err := netip.ParseAddrPort(o.Upstream.String())
			if err != nil {
				return proxyproto.SKIP, nil // not an IP peer: nothing to trust
			}
			a := ap.Addr().Unmap().WithZone("")
			for _, p := range trusted {
				if p.Contains(a) {
					return proxyproto.REQUIRE, nil
				}
			}
			return proxyproto.SKIP, nil
		},
		ValidateHeader: func(h *proxyproto.Header) error {
			if h.Command.IsLocal() || h.TransportProtocol.IsUnspec() {
				return nil // the peer's own address, as the spec asks
			}
			if _, _, ok := h.TCPAddrs(); !ok {
				return fmt.Errorf("%w (transport %#x)", errNotTCP, byte(h.TransportProtocol))
			}
			return nil
		},
	}
}

// listenerFor wraps the HTTP listener as cfg asks (PROXY protocol).
func (s *Server) listenerFor(l net.Listener) (net.Listener, error) {
	networks, err := s.cfg.ProxyProtocolPrefixes()
	if err != nil {
		return nil, err
	}
	return ProxyProtocolListener(l, networks), nil
}
