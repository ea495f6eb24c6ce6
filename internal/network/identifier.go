// Package network turns an observed device connection into a subscriber: the
// Identifier interface, the errors that say why it could not, and Chain, the
// identification policy that tries several identifiers in order.
//
// Implementations live in sub-packages: virtual (deterministic test numbers),
// static (bindings from a file), header (MSISDN header enrichment from trusted
// proxies) and radius (RADIUS accounting from the packet gateway).
package network

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"
)

// Errors an Identifier returns when it cannot name the subscriber. They map
// onto the core's outcomes; test them with errors.Is.
var (
	// ErrNotIdentifiable: this identifier does not know the connection (Wi-Fi,
	// unknown or stale address). A Chain tries the next identifier.
	ErrNotIdentifiable = errors.New("network: connection not identifiable")
	// ErrNotEligible: the subscriber is known but the number is not served.
	ErrNotEligible = errors.New("network: number not eligible for verification")
	// ErrUnavailable: the operator's systems could not answer.
	ErrUnavailable = errors.New("network: operator unavailable")
	// ErrInvalidNumber: the claimed number cannot exist.
	ErrInvalidNumber = errors.New("network: invalid number")
	// ErrConsentDeclined: the subscriber has opted out of this service.
	ErrConsentDeclined = errors.New("network: consent declined")
)

// Connection is what numgate observed of the device's request.
type Connection struct {
	// Addr and Port are the device's address as seen by the operator's
	// network: after trusted proxies (X-Forwarded-For, Forwarded, PROXY
	// protocol) or a backend's login_hint=ipport: are taken into account.
	Addr netip.Addr
	Port uint16
	// At is when the request was received.
	At time.Time
	// Header holds the request headers. Identifiers that trust headers must
	// check FromTrustedProxy first.
	Header http.Header
	// FromTrustedProxy reports that the TCP peer is a configured proxy.
	FromTrustedProxy bool
	// TrustedRequester reports that a trusted proxy made the request on
	// its own account: no untrusted party stands behind it in the
	// forwarding chain (Addr is itself trusted). Only such a request may
	// name a device address of its own (login_hint=ipport:); a device's
	// request relayed by the proxy never may, or any device could claim
	// another subscriber's address.
	TrustedRequester bool
	// Hint is the number the backend claims (login_hint tel:, or the number
	// given when the attempt started), in E.164, or empty. Real identifiers
	// ignore it; the virtual operator derives its outcome from it.
	Hint string
}

// Identity is a subscriber named by the network.
type Identity struct {
	// Number is the subscriber's MSISDN in E.164.
	Number string
	// Source names the identifier that answered (virtual, static, header, radius).
	Source string
}

// Identifier names the subscriber behind a connection, or returns one of the
// errors above (possibly wrapped) to say why it cannot.
type Identifier interface {
	Identify(ctx context.Context, c Connection) (Identity, error)
}

// IdentifierFunc adapts a function to Identifier.
type IdentifierFunc func(ctx context.Context, c Connection) (Identity, error)

// Identify calls f.
func (f IdentifierFunc) Identify(ctx context.Context, c Connection) (Identity, error) {
	return f(ctx, c)
}

// Chain is an identification policy: it asks each identifier in order and
// returns the first identity. ErrNotIdentifiable moves on to the next
// identifier; any other error stops the chain and is returned. When none
// answers, the result is ErrNotIdentifiable: never a guess.
type Chain []Identifier

// Identify implements Identifier.
func (ch Chain) Identify(ctx context.Context, c Connection) (Identity, error) {
	for _, id := range ch {
		got, err := id.Identify(ctx, c)
		if err == nil {
			return got, nil
		}
		if !errors.Is(err, ErrNotIdentifiable) {
			return Identity{}, err
		}
	}
	return Identity{}, ErrNotIdentifiable
}
