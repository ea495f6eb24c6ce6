package oauth

import (
	"net/netip"
	"testing"
)

func TestParseLoginHint(t *testing.T) {
	cases := []struct {
		in     string
		number string
		addr   string
		port   uint16
		bad    bool
	}{
		{in: ""},
		{in: "tel:+34666666666", number: "+34666666666"},
		{in: "+34666666666", number: "+34666666666"},
		{in: "tel:34666666666", bad: true},
		{in: "tel:+34 666 666 666", bad: true},
		{in: "tel:+34666666666;phone-context=x", bad: true},
		{in: "ipport:80.90.34.2:16790", addr: "80.90.34.2", port: 16790},
		{in: "ipport:80.90.34.2", addr: "80.90.34.2"},
		{in: "ipport:[2001:db8::1]:8080", addr: "2001:db8::1", port: 8080},
		{in: "ipport:[2001:db8::1]", addr: "2001:db8::1"},
		{in: "ipport:[::ffff:80.90.34.2]:1", addr: "80.90.34.2", port: 1},
		{in: "ipport:2001:db8::1", bad: true},
		{in: "ipport:[fe80::1%eth0]:1", bad: true},
		{in: "ipport:80.90.34.2:99999", bad: true},
		{in: "ipport:", bad: true},
		{in: "operatortoken:abc"},
		{in: "+1"},
		{in: "alice@example.com"},
	}
	for _, tc := range cases {
		h, err := parseLoginHint(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%q: error %v, want bad=%v", tc.in, err, tc.bad)
			continue
		}
		if tc.bad {
			continue
		}
		if h.number != tc.number || h.port != tc.port {
			t.Errorf("%q: number %q port %d", tc.in, h.number, h.port)
		}
		want := netip.Addr{}
		if tc.addr != "" {
			want = netip.MustParseAddr(tc.addr)
		}
		if h.addr != want {
			t.Errorf("%q: addr %v, want %v", tc.in, h.addr, want)
		}
	}
}

func TestPKCE(t *testing.T) {
	// RFC 7636 appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !validVerifier(verifier) || !validChallenge(challenge) || !verifierMatches(verifier, challenge) {
		t.Fatal("RFC 7636 appendix B example fails")
	}
	if verifierMatches(verifier+"x", challenge) {
		t.Error("a wrong verifier matches")
	}
	for _, v := range []string{"", "short", string(make([]byte, 129)), "dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk"} {
		if validVerifier(v) {
			t.Errorf("verifier %q accepted", v)
		}
	}
	for _, c := range []string{"", challenge + "A", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"} {
		if validChallenge(c) {
			t.Errorf("challenge %q accepted", c)
		}
	}
}

func TestParseScope(t *testing.T) {
	s := &Server{served: map[string]bool{"openid": true, "number-verification:verify": true}}
	good := map[string]string{
		"openid": "",
		"openid number-verification:verify dpv:FraudPreventionAndDetection": "dpv:FraudPreventionAndDetection",
		"dpv:IdentityVerification  openid openid":                           "dpv:IdentityVerification",
	}
	for in, purpose := range good {
		sc, err := s.parseScope(in)
		if err != nil || sc.purpose != purpose {
			t.Errorf("%q: %v, purpose %q", in, err, sc.purpose)
		}
	}
	for _, in := range []string{"", " ", "number-verification:verify", "openid dpv:A dpv:B", "openid dpv:", "openid dpv:a", "openid x", "openid\tdpv:A"} {
		if _, err := s.parseScope(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
