package radius

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"layeh.com/radius"
)

// RFC 8045 ("RADIUS Extensions for IP Port Configuration and Reporting")
// puts its three attributes in the Extended-Type space of RFC 6929: a
// RADIUS attribute of type 241 (Extended-Type-1) whose value starts with an
// Extended-Type octet, followed, for these "tlv" attributes, by a list of
// TLVs (RFC 6929 section 2.3: TLV-Type, TLV-Length >= 3 counting both
// header octets, value).
//
// layeh.com/radius has no RFC 6929 support: its dictionary parser rejects
// the "extended" type that defines attribute 241 (FreeRADIUS's
// dictionary.rfc6929), it ships no RFC 8045 package, and its radius.TLV
// helper decodes one TLV of an exact length (with a copy) rather than
// walking a list. So the walk below is hand-written; it reads the packet in
// place and allocates only for the blocks it returns.
const (
	attrExtended1 radius.Type = 241

	extIPPortLimitInfo     byte = 5 // 241.5 IP-Port-Limit-Info
	extIPPortRange         byte = 6 // 241.6 IP-Port-Range
	extIPPortForwardingMap byte = 7 // 241.7 IP-Port-Forwarding-Map
)

// The TLVs of RFC 8045 section 3.4; the same numbers are used inside all
// three attributes (241.5.x, 241.6.x, 241.7.x). Integer TLVs carry 4
// octets holding a right-justified IPFIX value whose unused bits are zero.
const (
	tlvIPPortType    = 1  // protocolIdentifier (unsigned8), integer
	tlvIPPortLimit   = 2  // integer
	tlvIPPortExtIPv4 = 3  // postNATSourceIPv4Address, ipaddr
	tlvIPPortIntIPv4 = 4  // sourceIPv4Address, ipaddr
	tlvIPPortIntIPv6 = 5  // sourceIPv6Address, ipv6addr
	tlvIPPortIntPort = 6  // sourceTransportPort (unsigned16), integer
	tlvIPPortExtPort = 7  // postNAPTSourceTransportPort (unsigned16), integer
	tlvIPPortAlloc   = 8  // natEvent (unsigned8), integer
	tlvIPPortRangeLo = 9  // portRangeStart (unsigned16), integer
	tlvIPPortRangeHi = 10 // portRangeEnd (unsigned16), integer
	tlvIPPortLocalID = 11 // localID, string
)

// IP-Port-Alloc values (RFC 8045: 0 is reserved).
const (
	portAllocation   = 1
	portDeallocation = 2
)

const protoTCP = 6

var errBadNATAttr = errors.New("radius: malformed RFC 8045 attribute")

// portRange is one IP-Port-Range attribute (241.6) as far as the binding
// table cares.
type portRange struct {
	alloc    uint8      // portAllocation, portDeallocation, or 0 when absent
	proto    uint8      // IP-Port-Type; meaningful when hasProto
	hasProto bool       //
	ext      netip.Addr // IP-Port-Ext-IPv4-Addr; invalid when absent
	lo, hi   uint16     // IP-Port-Range-Start/End; meaningful when hasRange
	hasRange bool       //
}

// bindable reports whether r names a port block the table can key: a
// public IPv4 address and a port range, for TCP or for every protocol (no
// IP-Port-Type). The table is not keyed by protocol and numgate identifies
// TCP connections, so a block of another protocol (UDP, ICMP identifiers)
// must not replace the owner of the same TCP ports.
func (r *portRange) bindable() bool {
	return r.ext.IsValid() && !r.ext.IsUnspecified() && r.hasRange && (!r.hasProto || r.proto == protoTCP)
}

// portRanges decodes the RFC 8045 attributes of p. It returns the
// IP-Port-Range attributes in packet order and errBadNATAttr when any of the
// three RFC 8045 attributes is malformed: a TLV that overruns its attribute
// or is shorter than its header, a known TLV with the wrong length or an
// out-of-range value, a TLV given twice, an IP-Port-Range-Start without its
// End (or the reverse), or a Start above the End. Unknown TLV types inside a
// well-formed list are skipped (RFC 6929 section 2.8), and so are other
// Extended-Type-1 attributes.
func portRanges(p *radius.Packet) ([]portRange, error) {
	var out []portRange
	for _, avp := range p.Attributes {
		if avp.Type != attrExtended1 || len(avp.Attribute) == 0 {
			continue
		}
		ext, tlvs := avp.Attribute[0], avp.Attribute[1:]
		switch ext {
		case extIPPortLimitInfo, extIPPortRange, extIPPortForwardingMap:
		default:
			continue
		}
		pr, err := parsePortTLVs(tlvs)
		if err != nil {
			return nil, err
		}
		if ext == extIPPortRange {
			out = append(out, pr)
		}
	}
	return out, nil
}

// parsePortTLVs validates the TLV list of one RFC 8045 attribute and
// returns what it says about a port range.
func parsePortTLVs(b []byte) (portRange, error) {
	var pr portRange
	if len(b) == 0 {
		return pr, errBadNATAttr // a "tlv" attribute holds at least one TLV
	}
	var seen uint32
	var hasLo, hasHi bool
	for len(b) > 0 {
		if len(b) < 3 {
			return pr, errBadNATAttr
		}
		typ, n := b[0], int(b[1])
		if n < 3 || n > len(b) {
			return pr, errBadNATAttr
		}
		v := b[2:n]
		b = b[n:]
		if typ == 0 || typ > tlvIPPortLocalID {
			continue
		}
		if seen&(1<<typ) != 0 {
			return pr, errBadNATAttr
		}
		seen |= 1 << typ
		switch typ {
		case tlvIPPortExtIPv4, tlvIPPortIntIPv4:
			if len(v) != 4 {
				return pr, errBadNATAttr
			}
			if typ == tlvIPPortExtIPv4 {
				pr.ext = netip.AddrFrom4([4]byte(v))
			}
		case tlvIPPortIntIPv6:
			if len(v) != 16 {
				return pr, errBadNATAttr
			}
		case tlvIPPortLocalID:
			// A string of at least one octet, which n >= 3 ensures.
		default: // the integer TLVs: 4 octets, right-justified
			if len(v) != 4 {
				return pr, errBadNATAttr
			}
			x := binary.BigEndian.Uint32(v)
			switch typ {
			case tlvIPPortType:
				if x > 255 { // unsigned8, unused bits zero
					return pr, errBadNATAttr
				}
				pr.proto, pr.hasProto = uint8(x), true
			case tlvIPPortAlloc:
				if x != portAllocation && x != portDeallocation {
					return pr, errBadNATAttr // 0 is reserved, nothing else defined
				}
				pr.alloc = uint8(x)
			case tlvIPPortLimit:
				// Any value: a limit says nothing about who owns a port.
			default: // the ports: unsigned16, unused bits zero
				if x > 0xffff {
					return pr, errBadNATAttr
				}
				switch typ {
				case tlvIPPortRangeLo:
					pr.lo, hasLo = uint16(x), true
				case tlvIPPortRangeHi:
					pr.hi, hasHi = uint16(x), true
				}
			}
		}
	}
	if hasLo != hasHi || (hasLo && pr.lo > pr.hi) {
		return pr, errBadNATAttr
	}
	pr.hasRange = hasLo
	return pr, nil
}
