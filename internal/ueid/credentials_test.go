package ueid

import (
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
)

func TestParseCredentials(t *testing.T) {
	const tok = "a-long-enough-literal-token-42"
	good := "# comment\n\n" +
		TokenHash("hashed-token-0123456789") + " crm verify-msisdn\n" +
		"  " + tok + "\t*  \n" +
		TokenHash("third-token-0123456789") + " fraud get-msisdn get-msisdn\n"
	cs, err := ParseCredentials(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 {
		t.Fatalf("got %d credentials, want 3", len(cs))
	}
	if cs[0].AF != "crm" || !slices.Equal(cs[0].Operations, []Operation{OpVerifyMSISDN}) {
		t.Errorf("line 3: %+v", cs[0])
	}
	if cs[1].AF != AnyAF || !cs[1].Allows(OpGetMSISDN) || !cs[1].Allows(OpVerifyMSISDN) {
		t.Errorf("line 4: %+v", cs[1])
	}
	if cs[1].Hash != sha256.Sum256([]byte(tok)) {
		t.Error("a literal token is kept as its SHA-256")
	}
	if !slices.Equal(cs[2].Operations, []Operation{OpGetMSISDN}) {
		t.Errorf("line 5 operations %v", cs[2].Operations)
	}

	if c, ok := authenticate(cs, tok); !ok || c.AF != AnyAF {
		t.Error("literal token not accepted")
	}
	if c, ok := authenticate(cs, "hashed-token-0123456789"); !ok || c.AF != "crm" {
		t.Error("hashed token not accepted")
	}
	for _, bad := range []string{"", tok[:len(tok)-1], tok + " ", TokenHash(tok)} {
		if _, ok := authenticate(cs, bad); ok {
			t.Errorf("token %q accepted", bad)
		}
	}

	for name, c := range map[string]struct{ in, want string }{
		"empty":         {"# nothing\n", "no credentials"},
		"one field":     {tok + "\n", "line 1: want TOKEN AF-ID"},
		"short":         {"short-token *\n", "line 1: token shorter than 20"},
		"bad hash":      {"sha256:abcd *\n", "line 1: sha256: must be followed by 64 hex digits"},
		"bad operation": {tok + " * retrieve\n", `line 1: unknown operation "retrieve"`},
		"duplicate":     {tok + " a\n" + TokenHash(tok) + " b\n", "line 2: same token as line 1"},
	} {
		_, err := ParseCredentials(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), tok) {
			t.Errorf("%s: error repeats the token", name)
		}
	}
	// Every problem is reported at once.
	_, err = ParseCredentials(strings.NewReader("x\nshort-token *\n"))
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("want both lines reported, got %v", err)
	}
}
