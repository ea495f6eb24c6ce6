package dialectkit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/numgate/numgate/internal/network"
)

// CheckBaseURL checks a dialect's Config.BaseURL: numgate's public URL, to
// which the dialect appends paths to make the URLs it hands to devices and
// backends. It must be an http or https URL with a host and without user
// information, query, fragment or trailing slash. The error names
// BaseURL; the dialect adds its own prefix.
func CheckBaseURL(base string) error {
	u, err := url.Parse(base)
	if base == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(base, "/") {
		return fmt.Errorf("the BaseURL %q must be an http(s) URL without trailing slash, user, query or fragment", base)
	}
	return nil
}

// PeerConnection is the default of a dialect's Config.Connection: the
// request's TCP peer, untrusted (no proxy headers are read). The address is
// unmapped (4in6 → IPv4); a RemoteAddr that is not an IP address and port
// gives what can be parsed of it, or an invalid address.
func PeerConnection(r *http.Request) network.Connection {
	c := network.Connection{Header: r.Header}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.Addr, c.Port = ap.Addr().Unmap(), ap.Port()
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.Addr, _ = netip.ParseAddr(host)
	}
	return c
}
