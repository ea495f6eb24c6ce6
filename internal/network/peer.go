package network

import (
	"net"
	"net/http"
	"net/netip"
)

// PeerConnection is the default Config.Connection of numgate's HTTP front
// ends (the OAuth server and every dialect): the request's TCP peer,
// untrusted (no proxy headers are read). The address is unmapped (4in6 →
// IPv4); a RemoteAddr that is not an IP address and port gives what can be
// parsed of it, or an invalid address.
func PeerConnection(r *http.Request) Connection {
	c := Connection{Header: r.Header}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.Addr, c.Port = ap.Addr().Unmap(), ap.Port()
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.Addr, _ = netip.ParseAddr(host)
	}
	return c
}
