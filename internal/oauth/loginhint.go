package oauth

import (
	"net/netip"
	"strings"

	"github.com/numgate/numgate/internal/msisdn"
)

// loginHint is a login_hint in one of the forms CAMARA defines (ICM, Format
// of login_hint) that the authorization endpoint uses.
type loginHint struct {
	// number is the claimed E.164 number (tel:+..., or a bare +... as
	// Vonage's SDKs send it), or "".
	number string
	// addr and port are an ipport: hint; addr is invalid when absent, port 0
	// when no port was given.
	addr netip.Addr
	port uint16
}

// parseLoginHint reads a login_hint. A tel: or ipport: hint that is
// malformed is an invalid_request: the client used a supported form wrongly.
// Any other value (operatortoken:, an e-mail address, free text) is ignored,
// as CAMARA recommends, so it changes nothing.
func parseLoginHint(raw string) (loginHint, *Error) {
	switch {
	case raw == "":
		return loginHint{}, nil
	case strings.HasPrefix(raw, "tel:"):
		n := strings.TrimPrefix(raw, "tel:")
		if !msisdn.Valid(n) {
			return loginHint{}, errorf(ErrCodeInvalidRequest, "login_hint tel: must be an E.164 number with '+' and no separators")
		}
		return loginHint{number: n}, nil
	case strings.HasPrefix(raw, "ipport:"):
		a, p, ok := parseIPPort(strings.TrimPrefix(raw, "ipport:"))
		if !ok {
			return loginHint{}, errorf(ErrCodeInvalidRequest, "login_hint ipport: must be an IPv4 or [IPv6] address with an optional :port")
		}
		return loginHint{addr: a, port: p}, nil
	case strings.HasPrefix(raw, "+") && msisdn.Valid(raw):
		return loginHint{number: raw}, nil
	}
	return loginHint{}, nil
}

// parseIPPort reads "80.90.34.2:16790", "80.90.34.2", "[2001:db8::1]:8080"
// or "[2001:db8::1]".
func parseIPPort(s string) (netip.Addr, uint16, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), ap.Port(), ap.Addr().Zone() == ""
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	} else if strings.Contains(s, ":") {
		return netip.Addr{}, 0, false // IPv6 must be bracketed
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, 0, false
	}
	return a.Unmap(), 0, true
}
