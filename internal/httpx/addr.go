package httpx

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/numgate/numgate/internal/network"
)

// AddrResolver finds a request's device address from its TCP peer and, when
// the peer is a trusted proxy, the forwarding headers. It is immutable and
// safe for concurrent use.
type AddrResolver struct {
	trusted []netip.Prefix
}

// NewAddrResolver returns a resolver that trusts proxies in the given
// prefixes. Prefixes are masked, and IPv4-mapped IPv6 prefixes are treated
// as IPv4; invalid (zero) prefixes are ignored. With no prefixes, every
// request's address is its TCP peer.
func NewAddrResolver(trusted []netip.Prefix) *AddrResolver {
	r := &AddrResolver{}
	for _, p := range trusted {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		r.trusted = append(r.trusted, p)
	}
	return r
}

// Trusted reports whether a is in one of the trusted proxy prefixes.
func (r *AddrResolver) Trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Connection describes req as identifiers see it: the device's address and
// port, the time now, the request headers, and whether the TCP peer is a
// trusted proxy.
//
// The device address is the TCP peer (req.RemoteAddr) unless the peer is
// trusted. Then it is read from the Forwarded header's for= parameters or,
// when no element has one, from X-Forwarded-For: the list, followed by the
// peer, is walked from the right, skipping trusted addresses, and the first
// untrusted one is the device (the leftmost if all are trusted). An
// "unknown", obfuscated or malformed entry reached by the walk leaves Addr
// invalid: not identifiable, never a guess. When both headers name
// addresses and the walks disagree, one of them was passed through from the
// device unchecked, and Addr is left invalid as well; when they agree on the
// address but not on the port, the port is unknown (0), since the device
// could have chosen it.
//
// Port is the device's source port when known (the TCP peer's, or a
// forwarded node's), else 0. Addresses are unmapped (4in6 → IPv4) and carry
// no zone.
func (r *AddrResolver) Connection(req *http.Request, now time.Time) network.Connection {
	c := network.Connection{At: now, Header: req.Header}
	peer, err := netip.ParseAddrPort(req.RemoteAddr)
	if err != nil {
		return c // not an IP connection (say, a Unix socket): unknown
	}
	peer = clean(peer)
	if !r.Trusted(peer.Addr()) {
		c.Addr, c.Port = peer.Addr(), peer.Port()
		return c
	}
	c.FromTrustedProxy = true
	dev := r.device(req.Header, peer)
	c.Addr, c.Port = dev.Addr(), dev.Port()
	c.TrustedRequester = r.Trusted(c.Addr)
	return c
}

// device resolves the device's address behind a trusted peer.
func (r *AddrResolver) device(h http.Header, peer netip.AddrPort) netip.AddrPort {
	fwd := forwardedFor(h.Values("Forwarded"))
	xff := forwardedList(h.Values("X-Forwarded-For"))
	switch {
	case len(fwd) > 0 && len(xff) > 0:
		a, b := r.walk(fwd, peer), r.walk(xff, peer)
		if a.Addr() != b.Addr() {
			return netip.AddrPort{}
		}
		if a.Port() != b.Port() {
			// The address is confirmed, the port is not: one header
			// came from the device, which may name any port of its
			// own (shared, carrier-grade NAT) address, and so another
			// subscriber's port block. The port is unknown.
			return netip.AddrPortFrom(a.Addr(), 0)
		}
		return a
	case len(fwd) > 0:
		return r.walk(fwd, peer)
	case len(xff) > 0:
		return r.walk(xff, peer)
	}
	return peer
}

// walk returns the rightmost untrusted address of hops followed by peer; an
// invalid hop reached on the way makes the result invalid.
func (r *AddrResolver) walk(hops []netip.AddrPort, peer netip.AddrPort) netip.AddrPort {
	for i := len(hops) - 1; i >= 0; i-- {
		h := hops[i]
		if !h.Addr().IsValid() {
			return netip.AddrPort{}
		}
		if !r.Trusted(h.Addr()) {
			return h
		}
	}
	if len(hops) > 0 {
		return hops[0]
	}
	return peer
}

// forwardedList parses X-Forwarded-For lines into hops, left to right. An
// entry that is not an address becomes an invalid hop.
func forwardedList(lines []string) []netip.AddrPort {
	var hops []netip.AddrPort
	for _, line := range lines {
		for e := range strings.SplitSeq(line, ",") {
			if e = strings.TrimSpace(e); e != "" {
				hops = append(hops, node(e))
			}
		}
	}
	return hops
}

// forwardedFor parses RFC 7239 Forwarded lines and returns the for= node of
// each element that has one, left to right. A syntax error ends the line with
// an invalid hop: a walk that reaches it gives up.
func forwardedFor(lines []string) []netip.AddrPort {
	var hops []netip.AddrPort
	for _, line := range lines {
		p := fwdParser{s: line}
		for {
			key, val, end, ok := p.pair()
			if !ok {
				hops = append(hops, netip.AddrPort{})
				break
			}
			if strings.EqualFold(key, "for") {
				hops = append(hops, node(val))
			}
			if end {
				break
			}
		}
	}
	return hops
}

// fwdParser scans one Forwarded field line.
type fwdParser struct {
	s string
	i int
}

// pair reads the next forwarded-pair. An empty key means an empty element or
// pair (allowed by the grammar). end reports the end of the line; ok is false
// on a syntax error.
func (p *fwdParser) pair() (key, val string, end, ok bool) {
	p.ows()
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	key = p.s[start:p.i]
	if key != "" {
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			return "", "", true, false
		}
		p.i++
		if p.i < len(p.s) && p.s[p.i] == '"' {
			var b strings.Builder
			p.i++
			for {
				if p.i >= len(p.s) {
					return "", "", true, false // unterminated quoted-string
				}
				c := p.s[p.i]
				p.i++
				if c == '"' {
					break
				}
				if c == '\\' {
					if p.i >= len(p.s) {
						return "", "", true, false
					}
					c = p.s[p.i]
					p.i++
				}
				b.WriteByte(c)
			}
			val = b.String()
		} else {
			start := p.i
			for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
				p.i++
			}
			val = p.s[start:p.i]
			if val == "" {
				return "", "", true, false
			}
		}
	}
	p.ows()
	switch {
	case p.i >= len(p.s):
		return key, val, true, true
	case p.s[p.i] == ';' || p.s[p.i] == ',':
		p.i++
		return key, val, p.i >= len(p.s), true
	}
	return "", "", true, false
}

func (p *fwdParser) ows() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// isTokenChar reports whether c may appear in an HTTP token (RFC 9110).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// node parses a forwarded node: an IPv4 address or bracketed IPv6 address,
// each with an optional port, or a bare IPv6 address (as X-Forwarded-For
// writes them). "unknown", obfuscated identifiers ("_hidden") and anything
// else give an invalid hop; an obfuscated port gives port 0.
func node(s string) netip.AddrPort {
	if a, err := netip.ParseAddr(s); err == nil {
		return clean(netip.AddrPortFrom(a, 0))
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.AddrPort{}
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && port[0] != ':' {
			return netip.AddrPort{}
		}
		port = strings.TrimPrefix(port, ":")
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return netip.AddrPort{}
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}
	}
	var n uint64
	if port != "" && port[0] != '_' { // "_x" is an obfuscated port: unknown
		if n, err = strconv.ParseUint(port, 10, 16); err != nil {
			return netip.AddrPort{}
		}
	}
	return clean(netip.AddrPortFrom(a, uint16(n)))
}

// clean unmaps 4in6 addresses and drops zones.
func clean(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// Errors of ParseIPPort. They never repeat the input.
var (
	errIPPortSyntax   = errors.New("not an IP address with optional port (want 80.90.34.2:16790, 80.90.34.2, [2001:db8::1]:8080 or [2001:db8::1])")
	errIPPortBrackets = errors.New("an IPv6 address must be in brackets, as in [2001:db8::1] or [2001:db8::1]:8080")
	errIPPortPort     = errors.New("port must be a number from 1 to 65535")
	errIPPortZone     = errors.New("IPv6 zones are not allowed")
)

// ParseIPPort parses the forms of CAMARA's login_hint=ipport: —
// "80.90.34.2:16790", "80.90.34.2", "[2001:db8::1]:8080" and "[2001:db8::1]"
// — into an address and port; Port() is 0 when no port was given. IPv6
// addresses must be bracketed (a bare "2001:db8::1:8080" is ambiguous),
// IPv4-mapped addresses come back as IPv4, and zones and port 0 are refused.
// Errors do not repeat s.
func ParseIPPort(s string) (netip.AddrPort, error) {
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.AddrPort{}, errIPPortSyntax
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return netip.AddrPort{}, errIPPortSyntax
			}
			port = port[1:]
			if port == "" {
				return netip.AddrPort{}, errIPPortPort
			}
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return netip.AddrPort{}, errIPPortSyntax
		}
	case strings.Count(s, ":") > 1:
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
			return netip.AddrPort{}, errIPPortBrackets
		}
		return netip.AddrPort{}, errIPPortSyntax
	case strings.Contains(s, ":"):
		i := strings.IndexByte(s, ':')
		host, port = s[:i], s[i+1:]
		if port == "" {
			return netip.AddrPort{}, errIPPortPort
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, errIPPortSyntax
	}
	if a.Zone() != "" {
		return netip.AddrPort{}, errIPPortZone
	}
	var n uint64
	if port != "" {
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return netip.AddrPort{}, errIPPortPort
			}
		}
		n, err = strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return netip.AddrPort{}, errIPPortPort
		}
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(n)), nil
}
