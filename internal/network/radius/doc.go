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
// # Carrier-grade NAT (RFC 8045)
//
// A CGNAT or BNG that reports its port blocks in accounting sends the RFC
// 8045 attributes, Extended-Type-1 (RFC 6929) attributes holding TLVs:
// IP-Port-Range (241.6) with IP-Port-Alloc (natEvent: 1 allocation, 2
// deallocation), IP-Port-Ext-IPv4-Addr (the public address) and
// IP-Port-Range-Start/End; IP-Port-Limit-Info (241.5) and
// IP-Port-Forwarding-Map (241.7) are validated but bind nothing. The
// subscriber is named as for any session (Calling-Station-Id), and so are
// the gateway, domain, session and times.
//
//   - In a Start or Interim-Update, an allocated block binds the public
//     address's ports Start..End to the subscriber; a deallocated block
//     ends that binding at the event's time while the session goes on.
//   - A Stop ends every live block of the session (same gateway and
//     Acct-Session-Id), on every public address and whatever its
//     IP-Port-Alloc (which may be absent there), also when it names no
//     block at all, as a BNG's Stop with only Framed-IP-Address does; it
//     leaves the session's tombstone as usual. A live block whose session
//     is tombstoned (a table from before this rule) counts as ended from
//     the Stop on when another session reports its ports.
//   - A packet may carry several IP-Port-Range attributes; each block is its
//     own binding (and write-ahead log record). Deallocations are applied
//     before allocations.
//   - A block is keyed only with a public IPv4 address and both range
//     bounds, for TCP or for every protocol (IP-Port-Type absent): the
//     table is not keyed by protocol and the HTTP listener sees TCP, so a
//     UDP or ICMP block must not replace the owner of the same TCP ports.
//     Blocks without these are skipped; internal addresses in the TLVs
//     are not bound (Framed-IP-Address is).
//
// A malformed RFC 8045 attribute (a TLV shorter than its header or
// overrunning the attribute, a known TLV of the wrong length, a port above
// 65535, IP-Port-Alloc other than 1 or 2 or missing outside a Stop, a TLV
// given twice, a range bound without the other or Start above End) makes
// the whole packet unusable: it is acknowledged, since a retransmit cannot
// fix it, applies nothing, and is counted as
// numgate_radius_rejected_packets_total{reason="bad_nat_attribute"}.
//
// # Memory
//
// The table is 256 shards, each an open-addressing hash table holding its
// bindings inline and pointer-free: 32-byte slots with what a lookup
// compares (address, kind and domain, start and stop, number, gateway),
// two to a cache line, and the 8-byte session hash in a parallel array
// that only updates read. Gateways and domains are interned to small
// integers and numbers are stored as integers. That is 50 to 62 bytes per
// binding, so 10 million IPv4 and 10 million IPv6 bindings fit in about
// 1.2 GiB, and the garbage collector never scans them. A lookup costs one
// dependent memory access in the common case.
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
