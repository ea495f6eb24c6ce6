// Package httpx holds numgate's cross-cutting HTTP helpers. It is the one
// place that decides which address a request came from.
//
// AddrResolver turns a request into the network.Connection that identifiers
// see. The TCP peer is the device unless it is a configured trusted proxy;
// only then are the forwarding headers read (RFC 7239 Forwarded, else
// X-Forwarded-For), walking right to left past trusted hops to the first
// address a trusted proxy vouches for. Headers from anyone else cannot move
// the address, and a trusted proxy must append to (or replace) the header it
// uses: what it passes through unchanged came from the device.
//
// ParseIPPort parses the address forms of CAMARA's login_hint=ipport:.
package httpx
