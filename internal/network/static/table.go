package static

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
)

// Source is the Identity.Source of static answers.
const Source = "static"

// maxErrors bounds the problems one parse reports (a wrong file given by
// mistake would otherwise produce one per line).
const maxErrors = 20

// ParseError is one problem in a bindings file. Its message never contains
// the line's fields.
type ParseError struct {
	File string // the name given to Parse
	Line int    // 1-based
	Msg  string // what is wrong
}

// Error implements error as "file:line: msg".
func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Table is a parsed set of bindings. It is immutable and safe for concurrent
// use.
type Table struct {
	v4, v6 family
	n      int
}

// family holds one address family's bindings, by masked prefix, and the
// prefix lengths in use, longest first.
type family struct {
	bits []int
	m    map[netip.Prefix]string
}

var _ network.Identifier = (*Table)(nil)

// Parse parses the contents of a bindings file; name is used in errors. On
// failure the error joins one *ParseError per problem (up to 20) and the
// Table is nil.
func Parse(name string, data []byte) (*Table, error) {
	t := &Table{
		v4: family{m: map[netip.Prefix]string{}},
		v6: family{m: map[netip.Prefix]string{}},
	}
	firstLine := map[netip.Prefix]int{}
	var errs []error
	fail := func(line int, format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)})
		} else if len(errs) == maxErrors {
			errs = append(errs, fmt.Errorf("%s: too many errors", name))
		}
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		no := i + 1
		text := string(line)
		if j := strings.IndexByte(text, '#'); j >= 0 {
			text = text[:j]
		}
		fields := strings.Fields(text)
		switch len(fields) {
		case 0:
			continue
		case 2:
		default:
			fail(no, "want ADDRESS NUMBER, found %d fields", len(fields))
			continue
		}
		p, msg := parseAddress(fields[0])
		if msg != "" {
			if msisdn.Valid(fields[0]) {
				msg = "first field is a phone number, not an address (the format is ADDRESS NUMBER)"
			}
			fail(no, "%s", msg)
			continue
		}
		if !msisdn.Valid(fields[1]) {
			fail(no, "second field is not an E.164 number (want '+' then 5 to 15 digits)")
			continue
		}
		if prev, dup := firstLine[p]; dup {
			fail(no, "duplicate binding for %s (first on line %d)", p, prev)
			continue
		}
		firstLine[p] = no
		f := t.familyOf(p.Addr())
		if !slices.Contains(f.bits, p.Bits()) {
			f.bits = append(f.bits, p.Bits())
		}
		f.m[p] = fields[1]
		t.n++
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, f := range []*family{&t.v4, &t.v6} {
		slices.SortFunc(f.bits, func(a, b int) int { return b - a })
	}
	return t, nil
}

// parseAddress parses an address or CIDR prefix into a masked prefix, with
// IPv4-mapped IPv6 forms turned into IPv4. On failure it returns a message
// that does not repeat the field.
func parseAddress(s string) (netip.Prefix, string) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, "first field is not a CIDR prefix (want e.g. 10.0.0.0/8 or 2001:db8::/32)"
		}
		if p != p.Masked() {
			return p, fmt.Sprintf("prefix has host bits set (did you mean %s?)", p.Masked())
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, "first field is not an IP address or CIDR prefix"
		}
		if a.Zone() != "" {
			return p, "IPv6 zones are not supported"
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	// A masked prefix shorter than /96 cannot be IPv4-mapped (::ffff:0:0/96
	// ends in ones), so the mapped part is at least /96.
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, ""
}

func (t *Table) familyOf(a netip.Addr) *family {
	if a.Is4() {
		return &t.v4
	}
	return &t.v6
}

// Len returns the number of bindings.
func (t *Table) Len() int { return t.n }

// Lookup returns the number bound to the most specific prefix containing a.
// IPv4-mapped IPv6 addresses are looked up as IPv4; zones are ignored.
func (t *Table) Lookup(a netip.Addr) (string, bool) {
	if !a.IsValid() {
		return "", false
	}
	a = a.Unmap().WithZone("")
	f := t.familyOf(a)
	for _, bits := range f.bits {
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if n, ok := f.m[p]; ok {
			return n, true
		}
	}
	return "", false
}

// Identify implements network.Identifier: it looks up c.Addr and returns
// network.ErrNotIdentifiable when no binding covers it.
func (t *Table) Identify(_ context.Context, c network.Connection) (network.Identity, error) {
	if n, ok := t.Lookup(c.Addr); ok {
		return network.Identity{Number: n, Source: Source}, nil
	}
	return network.Identity{}, fmt.Errorf("static: no binding for the address: %w", network.ErrNotIdentifiable)
}
