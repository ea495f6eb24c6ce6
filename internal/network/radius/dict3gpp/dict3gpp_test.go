package dict3gpp

import (
	"net/netip"
	"os"
	"testing"

	"layeh.com/radius"
)

func TestRoundTrip(t *testing.T) {
	p := radius.New(radius.CodeAccountingRequest, []byte("s"))
	Add(p, IMSI, []byte("204080123456789"))
	Add(p, ChargingID, []byte{0, 0, 0x12, 0x34})
	Add(p, RATType, []byte{6})
	Add(p, GGSNAddress, []byte{192, 0, 2, 10})
	if v, err := IMSIOf(p); err != nil || v != "204080123456789" {
		t.Errorf("IMSI = %q, %v", v, err)
	}
	if v, err := ChargingIDOf(p); err != nil || v != 0x1234 {
		t.Errorf("Charging-ID = %d, %v", v, err)
	}
	if v, err := RATTypeOf(p); err != nil || v != 6 {
		t.Errorf("RAT-Type = %d, %v", v, err)
	}
	if v, err := GGSNAddressOf(p); err != nil || v != netip.MustParseAddr("192.0.2.10") {
		t.Errorf("GGSN-Address = %v, %v", v, err)
	}
	if _, err := LookupString(p, IMEISV); err != ErrNotFound {
		t.Errorf("absent attribute: %v", err)
	}
}

// TestRadclientPacket reads the 3GPP attributes FreeRADIUS's radclient
// encoded from its own dictionary.3gpp: the numbering agrees.
func TestRadclientPacket(t *testing.T) {
	b, err := os.ReadFile("../testdata/radclient-start.bin")
	if err != nil {
		t.Fatal(err)
	}
	p, err := radius.Parse(b, []byte("testing123"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := IMSIOf(p); v != "204080123456789" {
		t.Errorf("IMSI = %q", v)
	}
	if v, _ := ChargingIDOf(p); v != 4660 {
		t.Errorf("Charging-ID = %d", v)
	}
	if v, _ := RATTypeOf(p); v != 6 {
		t.Errorf("RAT-Type = %d (EUTRAN is 6)", v)
	}
	if v, _ := LookupString(p, IMSIMCCMNC); v != "20408" {
		t.Errorf("IMSI-MCC-MNC = %q", v)
	}
}
