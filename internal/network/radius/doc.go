// Package radius learns from the operator's own signalling which subscriber
// owns which address: a RADIUS accounting server (RFC 2866, 3GPP TS 29.061
// Gi/SGi) that feeds a time-aware binding table, and the table itself, which
// is a network.Identifier.
//
// # Binding semantics
//
// Bindings are keyed per routing domain (the APN in Called-Station-Id,
// normalised by NormaliseAPN), because private address pools of different
// APNs overlap. Keys are the IPv4 Framed-IP-Address, the /64 of the
// Framed-IPv6-Prefix (any address inside it matches), and for carrier-grade
// NAT a public IPv4 address with a source-port range. A binding holds the
// MSISDN, a hash of the Acct-Session-Id, the gateway, and its start and stop
// times (seconds).
//
//   - Start and Interim-Update are upserts: a lost Start is recovered by the
//     next Interim-Update, whose Acct-Session-Time dates the session start.
//     When another session claims an address, the session that started later
//     wins; a late report of an older session changes nothing.
//   - Stop ends the binding only when session id and gateway match, and
//     leaves a tombstone (TableConfig.TombstoneTTL, default 5 minutes) so that
//     a late retransmitted Start or Interim-Update of that session cannot
//     resurrect it.
//   - Accounting-On and Accounting-Off end every binding of the gateway; a
//     report of a session that started before the restart is ignored.
//   - Sessions on the IMS APN (default "ims") are ignored.
//
// A lookup names the request's time: a binding matches only when it started
// at or before that second and had not stopped by it. A binding that stopped
// earlier, or an address that now belongs to a newer session, never matches
// the old subscriber. A CGNAT public address matches only through a port
// block that holds the request's source port; without a port it is not
// identifiable. Whatever the table cannot place is
// network.ErrNotIdentifiable: never a guess.
//
// # Memory
//
// The table is 256 shards, each an open-addressing hash table of 8-byte
// slots over a chunked slab of 40-byte pointer-free entries; gateways and
// domains are interned to small integers and numbers are stored as integers.
// That is 50 to 62 bytes per binding, so 10 million IPv4 and 10 million IPv6
// bindings fit in about 1.2 GiB, and the garbage collector never scans them.
//
// # Server
//
// Server receives Accounting-Requests over UDP from the configured clients
// (address prefix → shared secret), verifies the Request Authenticator,
// decodes the event, applies it to the table, appends it to a write-ahead
// log, and answers with an Accounting-Response only after the log is synced
// (group commit). Retransmits are answered again and applied once. See
// Config for the options and ParseClients for the clients file.
package radius
