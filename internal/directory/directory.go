// Package directory names the operator that serves a phone number, for the
// dialects that report it (KPN's operator_lookup, DQE's operator).
//
// Three sources are asked, most trusted first:
//
//  1. Ported numbers: number portability overrides, one number → operator
//     name (Config.Ported, or a file of `NUMBER,OPERATOR` lines). A ported
//     number keeps its original range, so this is the only way to know it.
//  2. The operator table (Config.Operators): operators by name, with their
//     MCC/MNC and the number ranges (E.164 digit prefixes) they hold; the
//     longest matching prefix wins.
//  3. Number-range data from libphonenumber (github.com/nyaruka/phonenumbers):
//     the carrier a range was allocated to. It is only a guess after
//     porting, hence last. Its name is looked up in the table (case
//     insensitively) for MCC/MNC; a carrier the table does not list is
//     named with MCC and MNC unknown.
//
// The region (CLDR code, "NL") always comes from libphonenumber's numbering
// plan, except for the table's own ranges outside any country (the virtual
// operator's +990 and +999), which have none.
//
// A Directory holds no phone number in a log line, an error message or a
// metric: errors name the line of a ported-numbers file, never its number.
package directory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Source says where an answer came from.
type Source string

// Sources of an answer.
const (
	SourcePorted Source = "ported" // a number portability override
	SourceTable  Source = "table"  // a configured operator range
	SourceRange  Source = "range"  // libphonenumber's carrier data (a guess)
	SourceNone   Source = ""       // no operator known
)

// Operator is what the directory knows of a number's operator. Empty
// strings are unknown.
type Operator struct {
	// Name is the operator's name ("KPN").
	Name string
	// Region is the number's CLDR region code ("NL").
	Region string
	// MCC and MNC are the operator's mobile country and network codes.
	MCC, MNC string
	// Source says how Name was found.
	Source Source
}

// Entry is one operator of the table.
type Entry struct {
	// Name is the operator's name, as answered and as ported numbers name it.
	Name string `yaml:"name"`
	// MCC is the 3-digit mobile country code ("" unknown).
	MCC string `yaml:"mcc"`
	// MNC is the 2- or 3-digit mobile network code ("" unknown).
	MNC string `yaml:"mnc"`
	// Prefixes are the number ranges the operator holds, as E.164 digits
	// without "+" ("3165", "990").
	Prefixes []string `yaml:"prefixes"`
}

// VirtualOperator is the table entry of numgate's virtual operator: the
// ranges +990 and +999 (spare in the ITU plan), MCC 001 / MNC 01 (the ITU
// test network).
var VirtualOperator = Entry{Name: "numgate virtual operator", MCC: "001", MNC: "01", Prefixes: []string{"990", "999"}}

// Config configures a Directory.
type Config struct {
	// Operators is the operator table.
	Operators []Entry
	// Ported maps E.164 numbers (with or without "+") to the name of the
	// operator now serving them; every name must be in Operators.
	Ported map[string]string
}

// Directory answers operator lookups. It is immutable and safe for
// concurrent use.
type Directory struct {
	byName   map[string]Entry  // lower-cased name → entry
	prefixes map[string]string // prefix → lower-cased name
	maxLen   int               // longest prefix
	ported   map[string]string // digits → lower-cased name
}

// New checks cfg and builds a Directory, reporting every problem at once.
func New(cfg Config) (*Directory, error) {
	d := &Directory{byName: map[string]Entry{}, prefixes: map[string]string{}, ported: map[string]string{}}
	var errs []error
	for i, e := range cfg.Operators {
		key := strings.ToLower(strings.TrimSpace(e.Name))
		switch {
		case key == "":
			errs = append(errs, fmt.Errorf("operator %d: name is empty", i+1))
			continue
		case d.byName[key].Name != "":
			errs = append(errs, fmt.Errorf("operator %q: listed twice", e.Name))
			continue
		}
		if e.MCC != "" && !digits(e.MCC, 3, 3) {
			errs = append(errs, fmt.Errorf("operator %q: mcc %q is not 3 digits", e.Name, e.MCC))
		}
		if e.MNC != "" && !digits(e.MNC, 2, 3) {
			errs = append(errs, fmt.Errorf("operator %q: mnc %q is not 2 or 3 digits", e.Name, e.MNC))
		}
		if (e.MCC == "") != (e.MNC == "") {
			errs = append(errs, fmt.Errorf("operator %q: mcc and mnc go together", e.Name))
		}
		for _, p := range e.Prefixes {
			p = strings.TrimPrefix(p, "+")
			if !digits(p, 1, 15) || p[0] == '0' {
				errs = append(errs, fmt.Errorf("operator %q: prefix %q is not 1 to 15 digits of an E.164 number (country code first, no leading 0)", e.Name, p))
				continue
			}
			if other, ok := d.prefixes[p]; ok {
				errs = append(errs, fmt.Errorf("operator %q: prefix %s already belongs to %q", e.Name, p, d.byName[other].Name))
				continue
			}
			d.prefixes[p] = key
			d.maxLen = max(d.maxLen, len(p))
		}
		e.Prefixes = slices.Clone(e.Prefixes)
		d.byName[key] = e
	}
	for _, n := range slices.Sorted(maps.Keys(cfg.Ported)) {
		if err := d.addPorted(n, cfg.Ported[n]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("directory: %w", errors.Join(errs...))
	}
	return d, nil
}

// ReadPorted adds the ported numbers of r, one `NUMBER,OPERATOR` per line
// (blank lines and lines starting with # skipped), to cfg.Ported. Errors
// name the line, never the number.
func ReadPorted(r io.Reader, cfg *Config) error {
	if cfg.Ported == nil {
		cfg.Ported = map[string]string{}
	}
	sc := bufio.NewScanner(r)
	var errs []error
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		number, name, ok := strings.Cut(s, ",")
		number, name = strings.TrimSpace(number), strings.TrimSpace(name)
		if !ok || name == "" || mayHoldNumber(name) || !e164Digits(strings.TrimPrefix(number, "+")) {
			errs = append(errs, fmt.Errorf("line %d: want NUMBER,OPERATOR with an E.164 number", line))
			continue
		}
		cfg.Ported[number] = name
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (d *Directory) addPorted(number, name string) error {
	n := strings.TrimPrefix(strings.TrimSpace(number), "+")
	if !e164Digits(n) {
		return errors.New("ported number: not an E.164 number") // the value is not repeated: it may be a real number
	}
	key := strings.ToLower(strings.TrimSpace(name))
	if _, ok := d.byName[key]; !ok {
		if mayHoldNumber(name) {
			// A number where the operator belongs, or a field too many
			// ("OPERATOR;PREVIOUS NUMBER"): not repeated either.
			return errors.New("ported number: an operator name that holds a phone number is not in the operator table")
		}
		return fmt.Errorf("ported number: operator %q is not in the operator table", name)
	}
	d.ported[n] = key
	return nil
}

// Lookup returns what the directory knows of the operator serving number
// (E.164, with or without "+"). A number it cannot place has an empty Name
// and SourceNone; Region is then still filled when the numbering plan
// knows the country.
func (d *Directory) Lookup(number string) Operator {
	n := strings.TrimPrefix(number, "+")
	if !digits(n, 1, 15) {
		return Operator{}
	}
	var op Operator
	var pn *phonenumbers.PhoneNumber
	if p, err := phonenumbers.Parse("+"+n, ""); err == nil {
		pn = p
		r := phonenumbers.GetRegionCodeForNumber(p)
		if r == "" || r == "ZZ" || r == "001" {
			// Outside every range of its plan (a reserved or test range):
			// the country code still names the country's main region.
			r = phonenumbers.GetRegionCodeForCountryCode(int(p.GetCountryCode()))
		}
		if r != "" && r != "ZZ" && r != "001" {
			op.Region = r
		}
	}
	if key, ok := d.ported[n]; ok {
		return d.named(op, key, SourcePorted)
	}
	for l := min(d.maxLen, len(n)); l > 0; l-- {
		if key, ok := d.prefixes[n[:l]]; ok {
			return d.named(op, key, SourceTable)
		}
	}
	if pn != nil {
		if c, err := phonenumbers.GetCarrierForNumber(pn, "en"); err == nil && c != "" {
			if e, ok := d.byName[strings.ToLower(c)]; ok {
				op.Name, op.MCC, op.MNC = e.Name, e.MCC, e.MNC
			} else {
				op.Name = c
			}
			op.Source = SourceRange
		}
	}
	return op
}

func (d *Directory) named(op Operator, key string, src Source) Operator {
	e := d.byName[key]
	op.Name, op.MCC, op.MNC, op.Source = e.Name, e.MCC, e.MNC, src
	return op
}

// e164Digits reports whether s is the digits of a full international
// number: 8 to 15 of them, the country code first. A national form
// ("0612345678") has the length but can never be looked up: E.164 digits
// never start with 0.
func e164Digits(s string) bool { return digits(s, 8, 15) && s[0] != '0' }

// mayHoldNumber reports whether s holds a run of 5 or more digits (the
// shortest E.164 number), which an error message must not repeat.
func mayHoldNumber(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			run = 0
		} else if run++; run >= 5 {
			return true
		}
	}
	return false
}

// digits reports whether s is between lo and hi ASCII digits.
func digits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
