// Package dict3gpp is numgate's own dictionary of the 3GPP vendor-specific
// RADIUS attributes (vendor 10415) that 3GPP TS 29.061 defines for the Gi/SGi
// interface, with typed accessors for layeh.com/radius packets.
//
// TS 29.061 carries the subscriber's MSISDN in the standard
// Calling-Station-Id attribute (RFC 2865, type 31), not in a vendor attribute;
// the vendor attributes here describe the session (IMSI, charging id, RAT,
// location). Only the attributes numgate reads, or tests write, have
// accessors; the rest are listed as constants for reference.
package dict3gpp

import (
	"errors"
	"net/netip"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// VendorID is the IANA Private Enterprise Number of 3GPP.
const VendorID = 10415

// Type is a 3GPP vendor attribute type (the "vendor type" inside a
// Vendor-Specific attribute).
type Type byte

// The 3GPP vendor attributes of TS 29.061, section 16.4.7.
const (
	IMSI                       Type = 1  // string: IMSI of the subscriber
	ChargingID                 Type = 2  // integer: PDP context / bearer charging id
	PDPType                    Type = 3  // integer: 0 IPv4, 1 PPP, 2 IPv6, 3 IPv4v6, 4 non-IP
	ChargingGatewayAddress     Type = 4  // ipaddr
	GPRSNegotiatedQoSProfile   Type = 5  // string
	SGSNAddress                Type = 6  // ipaddr: SGSN / S-GW address
	GGSNAddress                Type = 7  // ipaddr: GGSN / P-GW address
	IMSIMCCMNC                 Type = 8  // string: MCC+MNC of the IMSI
	GGSNMCCMNC                 Type = 9  // string: MCC+MNC of the GGSN / P-GW
	NSAPI                      Type = 10 // string: bearer identifier
	SessionStopIndicator       Type = 11 // byte: last bearer of the session
	SelectionMode              Type = 12 // string: APN selection mode
	ChargingCharacteristics    Type = 13 // string
	ChargingGatewayIPv6Address Type = 14 // ipv6addr
	SGSNIPv6Address            Type = 15 // ipv6addr
	GGSNIPv6Address            Type = 16 // ipv6addr
	IPv6DNSServers             Type = 17 // octets
	SGSNMCCMNC                 Type = 18 // string
	TeardownIndicator          Type = 19 // byte
	IMEISV                     Type = 20 // string
	RATType                    Type = 21 // byte: 1 UTRAN, 2 GERAN, 6 EUTRAN, 10 NR, ...
	UserLocationInfo           Type = 22 // octets
	MSTimeZone                 Type = 23 // octets[2]
	CamelChargingInfo          Type = 24 // octets
	PacketFilter               Type = 25 // octets
	NegotiatedDSCP             Type = 26 // byte
	AllocateIPType             Type = 27 // byte
)

// ErrNotFound reports that the packet has no such 3GPP attribute.
var ErrNotFound = errors.New("dict3gpp: attribute not found")

// errMalformed reports a 3GPP attribute whose value has the wrong shape.
var errMalformed = errors.New("dict3gpp: malformed attribute")

// Lookup returns the value of the first 3GPP vendor attribute of type t in p.
// A Vendor-Specific attribute may hold several vendor attributes; all are
// searched.
func Lookup(p *radius.Packet, t Type) ([]byte, error) {
	for _, avp := range p.Attributes {
		if avp.Type != rfc2865.VendorSpecific_Type {
			continue
		}
		vendor, v, err := radius.VendorSpecific(avp.Attribute)
		if err != nil || vendor != VendorID {
			continue
		}
		for len(v) >= 2 {
			vt, vl := v[0], int(v[1])
			if vl < 2 || vl > len(v) {
				break
			}
			if Type(vt) == t {
				return v[2:vl], nil
			}
			v = v[vl:]
		}
	}
	return nil, ErrNotFound
}

// Add appends a Vendor-Specific attribute holding the 3GPP attribute t with
// the raw value v.
func Add(p *radius.Packet, t Type, v []byte) error {
	if len(v) > 247 {
		return errMalformed
	}
	inner := make([]byte, 0, len(v)+2)
	inner = append(inner, byte(t), byte(len(v)+2))
	inner = append(inner, v...)
	a, err := radius.NewVendorSpecific(VendorID, inner)
	if err != nil {
		return err
	}
	p.Add(rfc2865.VendorSpecific_Type, a)
	return nil
}

// LookupString returns a string-typed 3GPP attribute (IMSI, IMSI-MCC-MNC,
// NSAPI, Selection-Mode, Charging-Characteristics, SGSN-MCC-MNC, IMEISV).
func LookupString(p *radius.Packet, t Type) (string, error) {
	v, err := Lookup(p, t)
	return string(v), err
}

// LookupInteger returns an integer-typed 3GPP attribute (Charging-ID,
// PDP-Type).
func LookupInteger(p *radius.Packet, t Type) (uint32, error) {
	v, err := Lookup(p, t)
	if err != nil {
		return 0, err
	}
	if len(v) != 4 {
		return 0, errMalformed
	}
	return uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3]), nil
}

// LookupByte returns a byte-typed 3GPP attribute (RAT-Type,
// Session-Stop-Indicator, Negotiated-DSCP).
func LookupByte(p *radius.Packet, t Type) (byte, error) {
	v, err := Lookup(p, t)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, errMalformed
	}
	return v[0], nil
}

// LookupAddr returns an address-typed 3GPP attribute (SGSN-Address,
// GGSN-Address and their IPv6 variants).
func LookupAddr(p *radius.Packet, t Type) (netip.Addr, error) {
	v, err := Lookup(p, t)
	if err != nil {
		return netip.Addr{}, err
	}
	a, ok := netip.AddrFromSlice(v)
	if !ok {
		return netip.Addr{}, errMalformed
	}
	return a, nil
}

// IMSIOf returns the 3GPP-IMSI attribute. The IMSI identifies the SIM, not
// the phone number; numgate never uses it as an MSISDN.
func IMSIOf(p *radius.Packet) (string, error) { return LookupString(p, IMSI) }

// ChargingIDOf returns the 3GPP-Charging-ID attribute.
func ChargingIDOf(p *radius.Packet) (uint32, error) { return LookupInteger(p, ChargingID) }

// RATTypeOf returns the 3GPP-RAT-Type attribute.
func RATTypeOf(p *radius.Packet) (byte, error) { return LookupByte(p, RATType) }

// GGSNAddressOf returns the 3GPP-GGSN-Address attribute, the P-GW's (or
// GGSN's) control-plane address.
func GGSNAddressOf(p *radius.Packet) (netip.Addr, error) { return LookupAddr(p, GGSNAddress) }
