package directory_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/directory"
)

func TestLookup(t *testing.T) {
	d, err := directory.New(directory.Config{
		Operators: []directory.Entry{
			directory.VirtualOperator,
			{Name: "KPN", MCC: "204", MNC: "08"},
			{Name: "Odido", MCC: "204", MNC: "16", Prefixes: []string{"316123"}},
			{Name: "Lyca", Prefixes: []string{"+3164444"}},
		},
		Ported: map[string]string{"+31651234567": "odido", "31612300000": "kpn"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, number string
		want         directory.Operator
	}{
		// The KPN seed's own example: range data names KPN; the table
		// adds its MCC/MNC.
		{"range data, table adds codes", "31630000001",
			directory.Operator{Name: "KPN", Region: "NL", MCC: "204", MNC: "08", Source: directory.SourceRange}},
		{"with a plus", "+31630000001",
			directory.Operator{Name: "KPN", Region: "NL", MCC: "204", MNC: "08", Source: directory.SourceRange}},
		{"ported away from its range", "31651234567",
			directory.Operator{Name: "Odido", Region: "NL", MCC: "204", MNC: "16", Source: directory.SourcePorted}},
		{"ported wins over a table range", "31612300000",
			directory.Operator{Name: "KPN", Region: "NL", MCC: "204", MNC: "08", Source: directory.SourcePorted}},
		{"table range wins over range data", "31612345678",
			directory.Operator{Name: "Odido", Region: "NL", MCC: "204", MNC: "16", Source: directory.SourceTable}},
		{"table entry without codes", "31644441234",
			directory.Operator{Name: "Lyca", Region: "NL", Source: directory.SourceTable}},
		{"carrier not in the table: codes unknown", "33612345678",
			directory.Operator{Name: "SFR", Region: "FR", Source: directory.SourceRange}},
		{"virtual operator, no region", "+9901234567",
			directory.Operator{Name: "numgate virtual operator", MCC: "001", MNC: "01", Source: directory.SourceTable}},
		{"fixed line: region only", "31201234567",
			directory.Operator{Region: "NL"}},
		{"outside every range of a known plan: region by country code", "447700900001",
			directory.Operator{Name: "O2", Region: "GB", Source: directory.SourceRange}},
		{"unassigned country code: no region", "89612345678", directory.Operator{}},
		{"not a number", "31-20", directory.Operator{}},
		{"empty", "", directory.Operator{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := d.Lookup(c.number); got != c.want {
				t.Errorf("Lookup(%s) = %+v, want %+v", c.number, got, c.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	cases := []struct {
		name string
		cfg  directory.Config
		want string
	}{
		{"empty name", directory.Config{Operators: []directory.Entry{{MCC: "204", MNC: "08"}}}, "name is empty"},
		{"twice", directory.Config{Operators: []directory.Entry{{Name: "A"}, {Name: "a"}}}, "listed twice"},
		{"bad mcc", directory.Config{Operators: []directory.Entry{{Name: "A", MCC: "20", MNC: "08"}}}, "not 3 digits"},
		{"mcc alone", directory.Config{Operators: []directory.Entry{{Name: "A", MCC: "204"}}}, "go together"},
		{"bad prefix", directory.Config{Operators: []directory.Entry{{Name: "A", Prefixes: []string{"31x"}}}}, "not 1 to 15 digits"},
		{"shared prefix", directory.Config{Operators: []directory.Entry{{Name: "A", Prefixes: []string{"316"}}, {Name: "B", Prefixes: []string{"316"}}}}, "already belongs"},
		{"ported to unknown", directory.Config{Ported: map[string]string{"31612345678": "Nobody"}}, "not in the operator table"},
		{"ported bad number", directory.Config{Operators: []directory.Entry{{Name: "A"}}, Ported: map[string]string{"3161234567x": "A"}}, "not an E.164 number"},
		// National forms: accepted before, and never matched a lookup,
		// so the number silently got its range's (pre-porting) operator.
		{"ported national number", directory.Config{Operators: []directory.Entry{{Name: "A"}}, Ported: map[string]string{"0612345678": "A"}}, "not an E.164 number"},
		{"ported number with a trunk zero", directory.Config{Operators: []directory.Entry{{Name: "A"}}, Ported: map[string]string{"+0612345678": "A"}}, "not an E.164 number"},
		{"national prefix", directory.Config{Operators: []directory.Entry{{Name: "A", Prefixes: []string{"0612"}}}}, "no leading 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := directory.New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v, want an error containing %q", err, c.want)
			}
			for n := range c.cfg.Ported {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q repeats a phone number", err)
				}
			}
		})
	}
}

func TestReadPorted(t *testing.T) {
	var cfg directory.Config
	err := directory.ReadPorted(strings.NewReader("# ported\n+31651234567, Odido\n\n31612300000,KPN\n"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Ported) != 2 || cfg.Ported["+31651234567"] != "Odido" || cfg.Ported["31612300000"] != "KPN" {
		t.Fatalf("Ported = %v", cfg.Ported)
	}
	err = directory.ReadPorted(strings.NewReader("31651234567\n3165123456789012345,KPN\n0651234567,Odido\n"), &cfg)
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("ReadPorted: %v, want errors for lines 1, 2 and 3 (a national number)", err)
	}
	if strings.Contains(err.Error(), "31651234567") {
		t.Errorf("error %q repeats a phone number", err)
	}
}

// TestPortedErrorsNeverNameANumber: a ported list line with a field too
// many ("NUMBER,OPERATOR,PREVIOUS NUMBER", a CSV export) or a number where
// the operator belongs must be reported without repeating the number, in
// ReadPorted's line errors and in New's operator check alike.
func TestPortedErrorsNeverNameANumber(t *testing.T) {
	cfg := directory.Config{Operators: []directory.Entry{{Name: "KPN"}}}
	rerr := directory.ReadPorted(strings.NewReader(
		"+31612345670,KPN,+31612345671\n+31612345672,KPN;+31612345673\n+31612345674,+31612345675\n"), &cfg)
	_, nerr := directory.New(cfg)
	err := errors.Join(rerr, nerr)
	if err == nil {
		t.Fatal("no error for three broken lines")
	}
	for _, n := range []string{"31612345671", "31612345673", "31612345675"} {
		if strings.Contains(err.Error(), n) {
			t.Errorf("error %q repeats the phone number %s", err, n)
		}
	}
	if !strings.Contains(err.Error(), "line 1") {
		t.Errorf("error %q does not name line 1 (a field too many)", err)
	}
	// A plain misspelt operator is still named: that is what to fix.
	_, err = directory.New(directory.Config{Operators: []directory.Entry{{Name: "KPN"}}, Ported: map[string]string{"+31612345676": "KPM"}})
	if err == nil || !strings.Contains(err.Error(), `"KPM"`) {
		t.Errorf("New: %v, want the unknown operator named", err)
	}
}
