package ueid

import "net/http"

// IPAddr is TS 29.571's IpAddr: exactly one of the three members.
type IPAddr struct {
	// IPv4Addr is a dotted-quad IPv4 address (TS 29.571 Ipv4Addr).
	IPv4Addr string `json:"ipv4Addr,omitempty"`
	// IPv6Addr is an IPv6 address (TS 29.571 Ipv6Addr).
	IPv6Addr string `json:"ipv6Addr,omitempty"`
	// IPv6Prefix is an IPv6 prefix of /64 or longer (TS 29.571 Ipv6Prefix);
	// it names the subscriber that owns the /64 holding it.
	IPv6Prefix string `json:"ipv6Prefix,omitempty"`
}

// UeIDReq is TS 29.522's UeIdReq, the request body of get-msisdn (members
// numgate does not use are accepted and ignored).
type UeIDReq struct {
	// AfID identifies the calling application function. Required.
	AfID string `json:"afId"`
	// UeIPAddr is the UE's address. Required (numgate cannot look up
	// ueMacAddr).
	UeIPAddr *IPAddr `json:"ueIpAddr,omitempty"`
	// PortNumber is the UE's source port (TS 29.122 Port, 0–65535; 0 or
	// absent means unknown). A CGNAT public address needs it.
	PortNumber *int `json:"portNumber,omitempty"`
	// Dnn is the DNN (APN) whose address pool the address is from: the
	// routing domain of the RADIUS binding table.
	Dnn string `json:"dnn,omitempty"`
	// IPDomain names the IP address domain; read as the routing domain
	// when Dnn is absent.
	IPDomain string `json:"ipDomain,omitempty"`
	// UeMacAddr is a UE MAC address (TS 29.571 MacAddr48); not supported.
	UeMacAddr string `json:"ueMacAddr,omitempty"`
	// SuppFeat is the supported-features bitmask; numgate defines none.
	SuppFeat string `json:"suppFeat,omitempty"`
}

// MsisdnVerifyReq is the request body of verify-msisdn: a UeIdReq and the
// number to check, as a GPSI ("msisdn-31612345678") or an MSISDN
// ("31612345678" as TS 29.571 writes it, or "+31612345678"). Exactly one
// of the two.
type MsisdnVerifyReq struct {
	UeIDReq
	// Gpsi is the number to check, as a TS 29.571 Gpsi of the msisdn- form.
	Gpsi string `json:"gpsi,omitempty"`
	// Msisdn is the number to check.
	Msisdn string `json:"msisdn,omitempty"`
}

// MsisdnInfo is the answer of get-msisdn.
type MsisdnInfo struct {
	// Gpsi is the subscriber's GPSI, "msisdn-" and the E.164 digits.
	Gpsi string `json:"gpsi"`
	// Msisdn is the subscriber's MSISDN: the E.164 digits without '+'
	// (TS 29.571 Msisdn).
	Msisdn string `json:"msisdn"`
}

// MsisdnVerification is the answer of verify-msisdn.
type MsisdnVerification struct {
	// Verified is true when the subscriber owning the address has the
	// given number.
	Verified bool `json:"verified"`
}

// InvalidParam is TS 29.122's InvalidParam: which member was wrong and why.
type InvalidParam struct {
	// Param is the member, as a JSON pointer-like path ("ueIpAddr/ipv4Addr").
	Param string `json:"param"`
	// Reason says what is wrong with it; it never repeats the value.
	Reason string `json:"reason,omitempty"`
}

// ProblemDetails is TS 29.122's ProblemDetails (RFC 7807), the body of every
// error response, sent as application/problem+json.
type ProblemDetails struct {
	// Type is a URI reference naming the problem type; omitted ("about:blank").
	Type string `json:"type,omitempty"`
	// Title is the HTTP status's short summary.
	Title string `json:"title,omitempty"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence, for the caller's operator.
	Detail string `json:"detail,omitempty"`
	// Instance is the request's path.
	Instance string `json:"instance,omitempty"`
	// Cause is the application error (TS 29.500 / 29.122), e.g.
	// CONTEXT_NOT_FOUND.
	Cause string `json:"cause,omitempty"`
	// InvalidParams lists the members that were wrong.
	InvalidParams []InvalidParam `json:"invalidParams,omitempty"`

	// reason is the detail for the log line only.
	reason string
}

// Error implements error; it is the log line's text, never a number.
func (p *ProblemDetails) Error() string {
	what := p.Cause
	if what == "" {
		what = http.StatusText(p.Status)
	}
	if p.reason != "" {
		return what + ": " + p.reason
	}
	return what + ": " + p.Detail
}
