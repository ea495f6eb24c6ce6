// Package header identifies devices by MSISDN header enrichment: the
// operator's proxy on the mobile data path adds a header (by default
// X-MSISDN) naming the subscriber.
//
// The header is believed only on connections from a configured proxy
// (network.Connection.FromTrustedProxy, set by httpx.AddrResolver); from
// anyone else it is what a device chose to send, and is ignored. The value
// may be an E.164 number ("+31612345678"), the same digits without the plus
// ("31612345678"), or a tel URI ("tel:+31612345678"). A missing, empty,
// malformed or repeated header is not identifiable, so an identification
// chain moves on to its next identifier.
package header

import (
	"context"
	"fmt"
	"log/slog"
	"net/textproto"
	"strings"

	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
)

// Source is the Identity.Source of header answers.
const Source = "header"

// DefaultHeader is the header read when Options.Header is empty.
const DefaultHeader = "X-MSISDN"

// Options configures an Enrichment.
type Options struct {
	// Header is the header the trusted proxy sets (default DefaultHeader).
	Header string
	// Logger receives warnings about headers from a trusted proxy that
	// cannot be used (default: discard). It never sees the header's value.
	Logger *slog.Logger
}

// Enrichment reads the subscriber's number from a header set by a trusted
// proxy. It is safe for concurrent use.
type Enrichment struct {
	name string // canonical header key
	log  *slog.Logger
}

var _ network.Identifier = (*Enrichment)(nil)

// New returns an Enrichment, or an error if the header name is not a valid
// HTTP field name.
func New(opts Options) (*Enrichment, error) {
	name := opts.Header
	if name == "" {
		name = DefaultHeader
	}
	if !validToken(name) {
		return nil, fmt.Errorf("header: %q is not a valid HTTP header name", name)
	}
	e := &Enrichment{name: textproto.CanonicalMIMEHeaderKey(name), log: opts.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// Header returns the canonical name of the header read.
func (e *Enrichment) Header() string { return e.name }

// Identify implements network.Identifier. It returns network.ErrNotIdentifiable
// unless the connection comes from a trusted proxy and carries exactly one
// well-formed number in the header.
func (e *Enrichment) Identify(ctx context.Context, c network.Connection) (network.Identity, error) {
	if !c.FromTrustedProxy {
		return network.Identity{}, fmt.Errorf("header: connection not from a trusted proxy: %w", network.ErrNotIdentifiable)
	}
	var values []string
	for _, line := range c.Header[e.name] {
		for v := range strings.SplitSeq(line, ",") {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
	}
	switch len(values) {
	case 0:
		return network.Identity{}, fmt.Errorf("header: no %s header: %w", e.name, network.ErrNotIdentifiable)
	case 1:
	default:
		// The proxy appended to a value the device sent: it does not strip
		// the header, and one of the values is forged.
		e.log.LogAttrs(ctx, slog.LevelWarn, "MSISDN header has several values; does the proxy remove the header from device requests?",
			slog.String("header", e.name), slog.Int("values", len(values)))
		return network.Identity{}, fmt.Errorf("header: %s has %d values: %w", e.name, len(values), network.ErrNotIdentifiable)
	}
	n, ok := parseNumber(values[0])
	if !ok {
		e.log.LogAttrs(ctx, slog.LevelWarn, "MSISDN header from a trusted proxy is not a phone number",
			slog.String("header", e.name))
		return network.Identity{}, fmt.Errorf("header: %s is not a phone number: %w", e.name, network.ErrNotIdentifiable)
	}
	return network.Identity{Number: n, Source: Source}, nil
}

// parseNumber accepts "+E164", "E164" (digits without the plus) and
// "tel:+E164" (scheme in any case) and returns the E.164 form.
func parseNumber(v string) (string, bool) {
	if len(v) > 4 && strings.EqualFold(v[:4], "tel:") {
		v = v[4:]
		if !strings.HasPrefix(v, "+") {
			return "", false // a local tel URI, not a global number
		}
	}
	if !strings.HasPrefix(v, "+") {
		v = "+" + v
	}
	return v, msisdn.Valid(v)
}

// validToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
