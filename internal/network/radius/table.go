package radius

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
)

// Source is the Identity.Source of answers from the binding table.
const Source = "radius"

// AnyDomain as a Table's default domain makes Identify search every routing
// domain and answer only when exactly one subscriber owns the address at the
// request's time. It is safe where the addresses the HTTP listener sees are
// unique across APNs (public IPv4, IPv6); with overlapping private pools an
// ambiguous address is "not identifiable", never a guess.
const AnyDomain = "*"

// Status is an RFC 2866 Acct-Status-Type.
type Status uint8

// The accounting events the table understands (RFC 2866 values).
const (
	StatusStart         Status = 1
	StatusStop          Status = 2
	StatusInterimUpdate Status = 3
	StatusAccountingOn  Status = 7
	StatusAccountingOff Status = 8
)

// String returns the metric label of s.
func (s Status) String() string {
	switch s {
	case StatusStart:
		return "start"
	case StatusStop:
		return "stop"
	case StatusInterimUpdate:
		return "interim_update"
	case StatusAccountingOn:
		return "accounting_on"
	case StatusAccountingOff:
		return "accounting_off"
	}
	return "other"
}

// NATBlock is a carrier-grade NAT allocation: a public IPv4 address and an
// inclusive source-port range that belong to one subscriber.
type NATBlock struct {
	Addr   netip.Addr
	PortLo uint16
	PortHi uint16
}

// Event is one accounting event, already decoded: what an Accounting-Request
// says, or what a CGNAT port-block feed says.
type Event struct {
	// Status says what happened.
	Status Status
	// Gateway names the packet gateway (NAS) that reported the event. Stop
	// and Accounting-On/Off act only on bindings of the same gateway.
	Gateway string
	// Domain is the routing domain (the APN from Called-Station-Id); private
	// address pools of different domains may overlap.
	Domain string
	// Session is the Acct-Session-Id.
	Session string
	// Number is the subscriber's MSISDN in E.164. Required for Start and
	// Interim-Update.
	Number string
	// IPv4 is the Framed-IP-Address, if any.
	IPv4 netip.Addr
	// IPv6 is the Framed-IPv6-Prefix, if any; it is keyed by its /64.
	IPv6 netip.Prefix
	// NAT is a CGNAT port block, if any.
	NAT NATBlock
	// At is when the event happened at the gateway.
	At time.Time
	// SessionStart is when the session began (At minus Acct-Session-Time);
	// zero means At.
	SessionStart time.Time
}

// Errors of Table.Apply.
var (
	ErrNoAddress   = errors.New("radius: event carries no subscriber address")
	ErrBadPrefix   = errors.New("radius: IPv6 prefix shorter than /64")
	ErrNoSession   = errors.New("radius: event carries no session id")
	ErrTooMany     = errors.New("radius: too many distinct gateways or domains")
	errBadPortSpan = errors.New("radius: NAT port range is empty")
)

// TableConfig configures a Table.
type TableConfig struct {
	// DefaultDomain is the routing domain Identify looks in: the normalised
	// APN whose addresses reach the HTTP listener, "" for sessions without a
	// Called-Station-Id, or AnyDomain (the default when empty is not wanted
	// is set by Config; the zero value here means the empty domain).
	DefaultDomain string
	// IMSAPN is the APN whose sessions are ignored ("" ignores none).
	IMSAPN string
	// TombstoneTTL is how long a stopped session is remembered, so a late
	// retransmit cannot resurrect it. Default 5 minutes.
	TombstoneTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

const (
	numShards  = 256
	maxDomains = 1 << 16
	maxGWs     = 1 << 20

	kindV4 uint32 = 1
	kindV6 uint32 = 2
)

// entry is one binding: 40 bytes, no pointers. A shard stores it split in
// two (slot and session hash); port blocks and snapshots use it whole.
type entry struct {
	addr    uint64 // IPv4 address, or the upper 64 bits of an IPv6 prefix
	number  uint64 // E.164 digits as an integer (0: free)
	session uint64 // FNV-1a of the Acct-Session-Id
	gw      uint32 // interned gateway
	kdom    uint32 // kind<<30 | interned domain; 0 marks a free entry
	start   uint32 // unix seconds
	stop    uint32 // unix seconds; 0 while the session is live
}

// slot is the part of a binding that a lookup reads: 32 bytes, so that two
// fill a 64-byte cache line and none straddles two lines (a 40-byte entry
// did, one time in four, and a probe often read two lines). The session hash,
// which only updates compare, lives in the shard's parallel sess array.
type slot struct {
	addr   uint64 // IPv4 address, or the upper 64 bits of an IPv6 prefix
	number uint64 // E.164 digits as an integer
	kdom   uint32 // kind<<30 | interned domain; 0 marks a free slot
	gw     uint32 // interned gateway
	start  uint32 // unix seconds
	stop   uint32 // unix seconds; 0 while the session is live
}

// shard is an open-addressing hash table (linear probing, backward-shift
// deletion) holding its bindings inline in one flat, pointer-free array, so
// that a lookup costs one dependent memory access (plus the probe's
// neighbours, mostly on the same cache line): hash the key, read the slot,
// compare key, domain and times, return the number. There is no pointer to
// follow, no string and no allocation on the way.
//
// It is written by hand because Go's map (and the general-purpose hash
// table libraries we know of) would cost a pointer hop or a control-byte
// group per lookup and keep whole values together, where this table keeps
// the fields a lookup compares in one 32-byte slot and the rest elsewhere,
// and needs the probe loop to stop at the first key match (one binding per
// key and domain) or scan the run (AnyDomain). Its capacity grows by half when 80% full, so it stays
// between 53% and 80% full; a key's home position is fastrange(hash,
// capacity).
type shard struct {
	mu    sync.RWMutex
	tab   []slot
	sess  []uint64 // sess[i] is the session hash of the binding in tab[i]
	used  int
	tombs map[tombKey]uint32
	_     [40]byte // to 128 bytes: shards do not share cache lines
}

// get returns the binding at position i.
func (sh *shard) get(i int) entry {
	s := &sh.tab[i]
	return entry{addr: s.addr, number: s.number, session: sh.sess[i], gw: s.gw, kdom: s.kdom, start: s.start, stop: s.stop}
}

// set stores e at position i.
func (sh *shard) set(i int, e entry) {
	sh.tab[i] = slot{addr: e.addr, number: e.number, kdom: e.kdom, gw: e.gw, start: e.start, stop: e.stop}
	sh.sess[i] = e.session
}

type tombKey struct {
	gw      uint32
	session uint64
}

type natEntry struct {
	lo, hi uint16
	e      entry
}

type natShard struct {
	mu sync.RWMutex
	m  map[uint32][]natEntry
}

// Table is the time-aware binding table: which subscriber owned which
// address (per routing domain) from when to when. Apply feeds it; Identify
// and Lookup read it. Reads are safe from any number of goroutines; Apply
// and Sweep serialise themselves.
type Table struct {
	cfg     TableConfig
	applyMu sync.Mutex
	shards  [numShards]shard
	nat     [16]natShard
	gws     interner
	doms    interner
	cleared sync.Map // gateway id → uint32 unix seconds of its last Accounting-On/Off

	// natSess lists, for each (gateway, session) with live port blocks,
	// the public addresses that hold them, so that a Stop ends them all,
	// whatever addresses it names (often none). It holds exactly the live
	// blocks' sessions, so it is bounded by them and a session leaves it
	// when its last block ends. Only writers use it, under applyMu
	// (restore: before the table is shared); lookups never read it.
	natSess sessAddrs

	defaultDom uint32
	defaultAny bool

	liveV4, liveV6, liveNAT, stored atomic.Int64
	natAddrs                        atomic.Int64 // public addresses with port blocks
}

var _ network.Identifier = (*Table)(nil)

// NewTable returns an empty table.
func NewTable(cfg TableConfig) *Table {
	if cfg.TombstoneTTL <= 0 {
		cfg.TombstoneTTL = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.IMSAPN = NormaliseAPN(cfg.IMSAPN)
	t := &Table{cfg: cfg, natSess: sessAddrs{first: map[tombKey]uint32{}, more: map[tombKey][]uint32{}}}
	t.gws.init(maxGWs)
	t.doms.init(maxDomains)
	for i := range t.shards {
		t.shards[i].tab = make([]slot, 16)
		t.shards[i].sess = make([]uint64, 16)
		t.shards[i].tombs = map[tombKey]uint32{}
	}
	for i := range t.nat {
		t.nat[i].m = map[uint32][]natEntry{}
	}
	if cfg.DefaultDomain == AnyDomain {
		t.defaultAny = true
	} else {
		t.defaultDom, _ = t.doms.intern(boundName(NormaliseAPN(cfg.DefaultDomain)))
	}
	return t
}

// NormaliseAPN lower-cases an APN and strips its operator identifier
// (".mncXXX.mccYYY.gprs"), so "Internet.mnc001.mcc208.gprs" and "internet"
// name the same routing domain.
func NormaliseAPN(apn string) string {
	apn = strings.ToLower(strings.TrimSpace(apn))
	if i := strings.Index(apn, ".mnc"); i >= 0 && strings.HasSuffix(apn, ".gprs") {
		apn = apn[:i]
	}
	return apn
}

// Counts reports the live (not stopped) bindings by family.
func (t *Table) Counts() (ipv4, ipv6, nat int64) {
	return t.liveV4.Load(), t.liveV6.Load(), t.liveNAT.Load()
}

// Stored reports the entries held, live or stopped but still remembered.
func (t *Table) Stored() int64 { return t.stored.Load() }

// rec is an Event in the table's own terms; it is also the write-ahead log
// record.
type rec struct {
	status  Status
	gw, dom string
	session uint64
	number  uint64
	v4      uint32
	v6      uint64
	natAddr uint32
	natLo   uint16
	natHi   uint16
	flags   uint8 // hasV4 | hasV6 | hasNAT, natRelease
	at      uint32
	start   uint32
}

const (
	hasV4 = 1 << iota
	hasV6
	hasNAT
	// natRelease marks a record of a Start or Interim-Update that releases
	// its NAT block (RFC 8045 deallocation) while the session goes on: the
	// block's binding ends at the event's time and no tombstone is left.
	natRelease
)

// toRec validates ev and converts it.
func toRec(ev Event) (rec, error) {
	r := rec{status: ev.Status, gw: boundName(ev.Gateway), dom: boundName(NormaliseAPN(ev.Domain)), at: unixSec(ev.At)}
	r.start = r.at
	if !ev.SessionStart.IsZero() {
		r.start = unixSec(ev.SessionStart)
	}
	if ev.Status == StatusAccountingOn || ev.Status == StatusAccountingOff {
		return r, nil
	}
	if ev.Session == "" {
		return r, ErrNoSession
	}
	r.session = SessionHash(ev.Session)
	if ev.Status != StatusStop {
		n, err := packNumber(ev.Number)
		if err != nil {
			return r, err
		}
		r.number = n
	}
	if a := ev.IPv4.Unmap(); a.Is4() {
		r.v4 = v4key(a)
		r.flags |= hasV4
	}
	if p := ev.IPv6; p.IsValid() && p.Addr().Is6() && !p.Addr().Is4In6() {
		if p.Bits() < 64 {
			return r, ErrBadPrefix
		}
		r.v6 = v6key(p.Addr())
		r.flags |= hasV6
	}
	if a := ev.NAT.Addr.Unmap(); a.Is4() {
		if ev.NAT.PortHi < ev.NAT.PortLo {
			return r, errBadPortSpan
		}
		r.natAddr, r.natLo, r.natHi = v4key32(a), ev.NAT.PortLo, ev.NAT.PortHi
		r.flags |= hasNAT
	}
	if r.flags == 0 && r.status != StatusStop {
		// A Stop needs none: it ends the session's port blocks wherever
		// they are and leaves its tombstone.
		return r, ErrNoAddress
	}
	return r, nil
}

// maxName is the longest gateway or domain name the write-ahead log and
// the snapshot store (a one-octet length).
const maxName = 255

// boundName returns s, or, when s is longer than maxName, a name of maxName
// bytes that stands for it: a prefix of s and a hash of the whole. The
// table keys gateways and domains by these names, so a name reads back
// from the log exactly as it was applied; cut short there instead, a
// gateway's bindings would come back after a restart under another name
// that its Stops and Accounting-On/Off no longer match.
func boundName(s string) string {
	if len(s) <= maxName {
		return s
	}
	h := fnv.New64a()
	h.Write([]byte(s))
	return s[:maxName-17] + "#" + fmt.Sprintf("%016x", h.Sum64())
}

// Apply records one accounting event. Start and Interim-Update upsert the
// session's bindings (a lost Start is recovered from the next Interim); Stop
// ends the bindings of the same session and gateway and leaves a tombstone;
// Accounting-On/Off ends every binding of the gateway. Events on the IMS APN
// are ignored. Apply reports whether the event was recorded; a false with a
// nil error means it was stale (a late retransmit) or filtered.
func (t *Table) Apply(ev Event) (bool, error) {
	r, err := toRec(ev)
	if err != nil {
		return false, err
	}
	return t.apply(&r)
}

func (t *Table) apply(r *rec) (bool, error) {
	t.applyMu.Lock()
	defer t.applyMu.Unlock()
	if t.cfg.IMSAPN != "" && r.dom == t.cfg.IMSAPN && r.status != StatusAccountingOn && r.status != StatusAccountingOff {
		return false, nil
	}
	gw, err := t.gws.intern(r.gw)
	if err != nil {
		return false, err
	}
	switch r.status {
	case StatusAccountingOn, StatusAccountingOff:
		t.clearGateway(gw, r.at)
		return true, nil
	case StatusStart, StatusInterimUpdate, StatusStop:
	default:
		return false, nil
	}
	dom, err := t.doms.intern(r.dom)
	if err != nil {
		return false, err
	}
	tk := tombKey{gw: gw, session: r.session}
	tsh := &t.shards[mix(r.session^uint64(gw))>>56]
	if r.status == StatusStop {
		// The tombstone lasts the TTL from when the Stop reached us, not
		// from its Event-Timestamp: a Stop a gateway held back longer
		// than the TTL (accepted up to a day late) would otherwise leave
		// a tombstone that Sweep drops at once, and a late retransmit of
		// the session could resurrect it.
		exp := max(r.at, unixSec(t.cfg.Now())) + uint32(t.cfg.TombstoneTTL/time.Second)
		tsh.mu.Lock()
		tsh.tombs[tk] = max(tsh.tombs[tk], exp)
		tsh.mu.Unlock()
		if r.flags&hasV4 != 0 {
			t.stop(kindV4, dom, uint64(r.v4), gw, r)
		}
		if r.flags&hasV6 != 0 {
			t.stop(kindV6, dom, r.v6, gw, r)
		}
		// The session's port blocks end on every public address, not only
		// on one the Stop names: a BNG's Stop often carries none.
		t.natStop(tk, r.at)
		return true, nil
	}
	if r.flags&natRelease != 0 {
		// Ending a binding is safe whatever the session's state.
		return t.natRelease(dom, gw, r), nil
	}
	tsh.mu.RLock()
	_, dead := tsh.tombs[tk]
	tsh.mu.RUnlock()
	if dead {
		return false, nil
	}
	if c, ok := t.cleared.Load(gw); ok && r.start < c.(uint32) {
		return false, nil // a session from before the gateway restarted
	}
	applied := false
	if r.flags&hasV4 != 0 {
		applied = t.upsert(kindV4, dom, uint64(r.v4), gw, r) || applied
	}
	if r.flags&hasV6 != 0 {
		applied = t.upsert(kindV6, dom, r.v6, gw, r) || applied
	}
	if r.flags&hasNAT != 0 {
		applied = t.natUpsert(dom, gw, r) || applied
	}
	return applied, nil
}

// home is the position where an entry whose key hashes to h belongs.
func home(h uint64, n int) int { return int((uint64(uint32(h)) * uint64(n)) >> 32) }

// find returns the position of (kind, dom, addr) in sh, or -1. The caller
// holds sh.mu.
func (sh *shard) find(h uint64, kdom uint32, addr uint64) int {
	n := len(sh.tab)
	for i := home(h, n); ; {
		e := &sh.tab[i]
		if e.kdom == 0 {
			return -1
		}
		if e.addr == addr && e.kdom == kdom {
			return i
		}
		if i++; i == n {
			i = 0
		}
	}
}

// insert adds e, which is not in sh yet.
func (sh *shard) insert(h uint64, e entry) int {
	if (sh.used+1)*5 > len(sh.tab)*4 {
		sh.grow()
	}
	sh.used++
	return sh.place(h, e)
}

func (sh *shard) place(h uint64, e entry) int {
	n := len(sh.tab)
	i := home(h, n)
	for sh.tab[i].kdom != 0 {
		if i++; i == n {
			i = 0
		}
	}
	sh.set(i, e)
	return i
}

func (sh *shard) grow() {
	oldTab, oldSess := sh.tab, sh.sess
	n := len(oldTab) + len(oldTab)/2
	sh.tab = make([]slot, n)
	sh.sess = make([]uint64, n)
	for i := range oldTab {
		if s := &oldTab[i]; s.kdom != 0 {
			e := entry{addr: s.addr, number: s.number, session: oldSess[i], gw: s.gw, kdom: s.kdom, start: s.start, stop: s.stop}
			sh.place(hashKey(s.kdom>>30, s.addr), e)
		}
	}
}

// remove deletes the entry at position i by shifting back the entries of
// its probe run that may move.
func (sh *shard) remove(i int) {
	n := len(sh.tab)
	j := i
	for {
		if j++; j == n {
			j = 0
		}
		e := &sh.tab[j]
		if e.kdom == 0 {
			break
		}
		k := home(hashKey(e.kdom>>30, e.addr), n)
		// The entry at j stays unless its home k lies cyclically
		// outside (i, j].
		if (i <= j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue
		}
		sh.tab[i], sh.sess[i] = *e, sh.sess[j]
		i = j
	}
	sh.tab[i], sh.sess[i] = slot{}, 0
	sh.used--
}

func (t *Table) live(kind uint32) *atomic.Int64 {
	if kind == kindV4 {
		return &t.liveV4
	}
	return &t.liveV6
}

func (t *Table) upsert(kind, dom uint32, addr uint64, gw uint32, r *rec) bool {
	h := hashKey(kind, addr)
	sh := &t.shards[h>>56]
	kdom := kind<<30 | dom
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if i := sh.find(h, kdom, addr); i >= 0 {
		e := &sh.tab[i]
		if e.gw == gw && sh.sess[i] == r.session {
			if e.stop != 0 {
				return false // a stopped session never comes back
			}
			e.number = r.number
			e.start = min(e.start, r.start)
			return true
		}
		if r.start < e.start {
			return false // an older session's late report
		}
		if e.stop != 0 {
			t.live(kind).Add(1)
		}
		sh.set(i, entry{addr: addr, number: r.number, session: r.session, gw: gw, kdom: kdom, start: r.start})
		return true
	}
	sh.insert(h, entry{addr: addr, number: r.number, session: r.session, gw: gw, kdom: kdom, start: r.start})
	t.live(kind).Add(1)
	t.stored.Add(1)
	return true
}

func (t *Table) stop(kind, dom uint32, addr uint64, gw uint32, r *rec) {
	doms := uint32(t.doms.count()) // read before the shard lock: never both at once
	h := hashKey(kind, addr)
	sh := &t.shards[h>>56]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if t.stopIn(sh, h, kind<<30|dom, addr, gw, r) {
		return
	}
	// A Stop whose APN is missing or differs from its Start's (gateways
	// do not all repeat Called-Station-Id): the session's binding of the
	// address ends in whichever domain it is. Only the same gateway and
	// session match, so no other subscriber's binding can end here.
	for d := range doms {
		if d != dom && t.stopIn(sh, h, kind<<30|d, addr, gw, r) {
			return
		}
	}
}

// stopIn ends the binding of addr in kdom if the Stop's gateway and
// session own it and it is live; the caller holds sh.mu.
func (t *Table) stopIn(sh *shard, h uint64, kdom uint32, addr uint64, gw uint32, r *rec) bool {
	i := sh.find(h, kdom, addr)
	if i < 0 {
		return false
	}
	e := &sh.tab[i]
	if e.gw != gw || sh.sess[i] != r.session || e.stop != 0 {
		return false
	}
	e.stop = max(r.at, 1)
	t.live(kdom >> 30).Add(-1)
	return true
}

func (t *Table) natShard(addr uint32) *natShard { return &t.nat[mix(uint64(addr))>>60] }

func (t *Table) natUpsert(dom, gw uint32, r *rec) bool {
	ns := t.natShard(r.natAddr)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	blocks := ns.m[r.natAddr]
	ne := natEntry{lo: r.natLo, hi: r.natHi, e: entry{addr: uint64(r.natAddr), number: r.number, session: r.session, gw: gw, kdom: dom, start: r.start}}
	// First decide, then change: a stale report changes nothing.
	for _, b := range blocks {
		if b.hi < r.natLo || b.lo > r.natHi {
			continue
		}
		same := b.e.gw == gw && b.e.session == r.session
		if b.e.stop != 0 {
			// Ports whose binding ended are taken by a report made after
			// the end, owned from the report on (when they were
			// allocated in between is unknown): another session's,
			// however old that session is, from the second of the end
			// on; the same session's block it released (a stopped
			// session never gets here, its tombstone turned the report
			// away before) from the second after, so that a late report
			// of the allocation the release ended changes nothing.
			if r.at > b.e.stop || (!same && r.at == b.e.stop) {
				ne.e.start = max(ne.e.start, r.at)
				continue
			}
			if same {
				return false
			}
		}
		if same {
			ne.e.start = min(ne.e.start, b.e.start)
			continue
		}
		if b.e.stop == 0 {
			// A live block of a stopped session (a table from before
			// Stops ended every block of their session) ended with it:
			// its ports are taken as above.
			if stop, ok := t.tombStop(b.e.gw, b.e.session); ok && r.at >= stop {
				ne.e.start = max(ne.e.start, r.at)
				continue
			}
		}
		if r.start < b.e.start {
			return false // an older session's late report
		}
	}
	var gone []tombKey // other sessions whose live blocks are replaced
	out := blocks[:0]
	for _, b := range blocks {
		if b.hi < r.natLo || b.lo > r.natHi {
			out = append(out, b)
			continue
		}
		// Replaced: the same session's block, or ports that moved to a
		// newer session.
		if b.e.stop == 0 {
			t.liveNAT.Add(-1)
			if k := (tombKey{gw: b.e.gw, session: b.e.session}); k.gw != gw || k.session != r.session {
				gone = append(gone, k)
			}
		}
		t.stored.Add(-1)
	}
	if len(blocks) == 0 {
		t.natAddrs.Add(1)
	}
	blocks = append(out, ne)
	ns.m[r.natAddr] = blocks
	t.liveNAT.Add(1)
	t.stored.Add(1)
	for _, k := range gone {
		t.natUnindex(k, r.natAddr, blocks)
	}
	t.natIndex(tombKey{gw: gw, session: r.session}, r.natAddr)
	return true
}

// tombStop reports whether session (gw, session) is tombstoned and, if so,
// the second it stopped (or, for a Stop received later than its
// Event-Timestamp, the second it was received). The caller holds applyMu.
func (t *Table) tombStop(gw uint32, session uint64) (uint32, bool) {
	sh := &t.shards[mix(session^uint64(gw))>>56]
	sh.mu.RLock()
	exp, ok := sh.tombs[tombKey{gw: gw, session: session}]
	sh.mu.RUnlock()
	return exp - min(exp, uint32(t.cfg.TombstoneTTL/time.Second)), ok
}

// sessAddrs maps a session to the public addresses of its live port
// blocks. Most sessions hold blocks on one address, kept in a pointer-free
// map (24-byte slots, about 50 to 60 bytes a session); further addresses
// go to a second map.
type sessAddrs struct {
	first map[tombKey]uint32
	more  map[tombKey][]uint32
}

func (s *sessAddrs) add(k tombKey, a uint32) {
	f, ok := s.first[k]
	switch {
	case !ok:
		s.first[k] = a
	case f != a && !slices.Contains(s.more[k], a):
		s.more[k] = append(s.more[k], a)
	}
}

func (s *sessAddrs) remove(k tombKey, a uint32) {
	f, ok := s.first[k]
	if !ok {
		return
	}
	more := s.more[k]
	if f == a {
		if len(more) == 0 {
			delete(s.first, k)
			return
		}
		s.first[k], more = more[len(more)-1], more[:len(more)-1]
	} else if i := slices.Index(more, a); i >= 0 {
		more = slices.Delete(more, i, i+1)
	} else {
		return
	}
	if len(more) == 0 {
		delete(s.more, k)
	} else {
		s.more[k] = more
	}
}

// addrs returns the addresses of session k; the result is valid until the
// next change.
func (s *sessAddrs) addrs(k tombKey) (first uint32, more []uint32, ok bool) {
	first, ok = s.first[k]
	return first, s.more[k], ok
}

func (s *sessAddrs) drop(k tombKey) {
	delete(s.first, k)
	delete(s.more, k)
}

// natIndex notes that session k has a live block on the public address
// addr. The caller holds applyMu.
func (t *Table) natIndex(k tombKey, addr uint32) { t.natSess.add(k, addr) }

// natUnindex forgets addr for session k unless blocks, the address's
// blocks, still hold a live one of k. The caller holds applyMu and addr's
// natShard lock.
func (t *Table) natUnindex(k tombKey, addr uint32, blocks []natEntry) {
	for _, b := range blocks {
		if b.e.stop == 0 && b.e.gw == k.gw && b.e.session == k.session {
			return
		}
	}
	t.natSess.remove(k, addr)
}

// natRelease ends, at the event's time, the session's live blocks on the
// record's public address that lie within its port range, and reports
// whether there were any.
func (t *Table) natRelease(dom, gw uint32, r *rec) bool {
	ns := t.natShard(r.natAddr)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	released := false
	for i := range ns.m[r.natAddr] {
		b := &ns.m[r.natAddr][i]
		if b.e.gw == gw && b.e.session == r.session && b.e.kdom == dom && b.e.stop == 0 && r.natLo <= b.lo && b.hi <= r.natHi {
			b.e.stop = max(r.at, 1)
			t.liveNAT.Add(-1)
			released = true
		}
	}
	if released {
		t.natUnindex(tombKey{gw: gw, session: r.session}, r.natAddr, ns.m[r.natAddr])
	}
	return released
}

// natStop ends, at time at, every live block of the stopped session k, on
// every public address and in every routing domain (the tombstone, too,
// is per gateway and session), and forgets the session. The caller holds
// applyMu.
func (t *Table) natStop(k tombKey, at uint32) {
	first, more, ok := t.natSess.addrs(k)
	if !ok {
		return
	}
	end := func(a uint32) {
		ns := t.natShard(a)
		ns.mu.Lock()
		defer ns.mu.Unlock()
		for i := range ns.m[a] {
			b := &ns.m[a][i]
			if b.e.gw == k.gw && b.e.session == k.session && b.e.stop == 0 {
				b.e.stop = max(at, 1)
				t.liveNAT.Add(-1)
			}
		}
	}
	end(first)
	for _, a := range more {
		end(a)
	}
	t.natSess.drop(k)
}

// clearGateway ends every live binding of gw that began by time at, at
// that time: the sessions a rebooted gateway lost. One that began later
// was reported before a late Accounting-On and is live. The caller holds
// applyMu.
func (t *Table) clearGateway(gw, at uint32) {
	at = max(at, 1)
	if c, ok := t.cleared.Load(gw); ok && at <= c.(uint32) {
		// A late copy of a reboot already cleared, or an older one:
		// clearing again would end sessions begun since that reboot, and
		// remembering the older time would let pre-reboot sessions back.
		return
	}
	t.cleared.Store(gw, at)
	var wg sync.WaitGroup
	const workers = 4
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for si := w; si < numShards; si += workers {
				t.shards[si].clear(t, gw, at)
			}
		}()
	}
	wg.Wait()
	for i := range t.nat {
		ns := &t.nat[i]
		ns.mu.Lock()
		for addr, blocks := range ns.m {
			for j := range blocks {
				if e := &blocks[j].e; e.gw == gw && e.stop == 0 && e.start <= at {
					e.stop = at
					t.liveNAT.Add(-1)
					t.natUnindex(tombKey{gw: gw, session: e.session}, addr, blocks)
				}
			}
		}
		ns.mu.Unlock()
	}
}

func (sh *shard) clear(t *Table, gw, at uint32) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var v4, v6 int64
	for i := range sh.tab {
		e := &sh.tab[i]
		// A session that began after the reboot (reported before a late
		// Accounting-On, resent or delayed) is not the reboot's to end.
		if e.gw != gw || e.stop != 0 || e.kdom == 0 || e.start > at {
			continue
		}
		e.stop = at
		if e.kdom>>30 == kindV4 {
			v4++
		} else {
			v6++
		}
	}
	t.liveV4.Add(-v4)
	t.liveV6.Add(-v6)
}

// Sweep forgets stopped bindings and tombstones older than the tombstone
// TTL. The server calls it periodically. It leaves natSess alone: that
// index holds live blocks only, which Sweep never removes.
func (t *Table) Sweep(now time.Time) {
	t.applyMu.Lock()
	defer t.applyMu.Unlock()
	ttl := uint32(t.cfg.TombstoneTTL / time.Second)
	n := unixSec(now)
	for si := range t.shards {
		sh := &t.shards[si]
		sh.mu.Lock()
		for k, exp := range sh.tombs {
			if exp < n {
				delete(sh.tombs, k)
			}
		}
		var expired []slot
		for i := range sh.tab {
			e := &sh.tab[i]
			if e.kdom != 0 && e.stop != 0 && e.stop+ttl < n {
				expired = append(expired, *e)
			}
		}
		for _, e := range expired {
			sh.remove(sh.find(hashKey(e.kdom>>30, e.addr), e.kdom, e.addr))
			t.stored.Add(-1)
		}
		sh.mu.Unlock()
	}
	for i := range t.nat {
		ns := &t.nat[i]
		ns.mu.Lock()
		for a, blocks := range ns.m {
			out := blocks[:0]
			for _, b := range blocks {
				if b.e.stop != 0 && b.e.stop+ttl < n {
					t.stored.Add(-1)
					continue
				}
				out = append(out, b)
			}
			if len(out) == 0 {
				delete(ns.m, a)
				t.natAddrs.Add(-1)
			} else {
				ns.m[a] = out
			}
		}
		ns.mu.Unlock()
	}
}

// Identify implements network.Identifier: it looks the connection's address
// (and, for a CGNAT public address, its source port) up in the default
// routing domain at the connection's time. A connection the table cannot
// place is network.ErrNotIdentifiable.
func (t *Table) Identify(_ context.Context, c network.Connection) (network.Identity, error) {
	at := c.At
	if at.IsZero() {
		at = t.cfg.Now()
	}
	n, err := t.lookup(t.defaultAny, t.defaultDom, c.Addr, c.Port, unixSec(at))
	if err != nil {
		return network.Identity{}, err
	}
	return network.Identity{Number: "+" + strconv.FormatUint(n, 10), Source: Source}, nil
}

// errNoBinding is the wrapped ErrNotIdentifiable of a failed lookup; it
// names neither the address nor any number.
var errNoBinding = fmt.Errorf("radius: no binding owns the address at that time: %w", network.ErrNotIdentifiable)

// errAmbiguous is returned when AnyDomain finds several owners.
var errAmbiguous = fmt.Errorf("radius: address owned in several routing domains: %w", network.ErrNotIdentifiable)

// Lookup returns the E.164 number of the subscriber that owned addr (and,
// for a CGNAT address, port) in the routing domain at time at. domain may be
// AnyDomain. A zero at means now. The error wraps network.ErrNotIdentifiable.
func (t *Table) Lookup(domain string, addr netip.Addr, port uint16, at time.Time) (string, error) {
	if at.IsZero() {
		at = t.cfg.Now()
	}
	anyDom := domain == AnyDomain
	var dom uint32
	if !anyDom {
		var ok bool
		if dom, ok = t.doms.lookup(boundName(NormaliseAPN(domain))); !ok {
			return "", errNoBinding
		}
	}
	n, err := t.lookup(anyDom, dom, addr, port, unixSec(at))
	if err != nil {
		return "", err
	}
	return "+" + strconv.FormatUint(n, 10), nil
}

func (t *Table) lookup(anyDom bool, dom uint32, addr netip.Addr, port uint16, ts uint32) (uint64, error) {
	addr = addr.Unmap()
	var kind uint32
	var key uint64
	switch {
	case addr.Is4():
		key32 := v4key32(addr)
		if t.natAddrs.Load() > 0 {
			if n, found, err := t.natLookup(anyDom, dom, key32, port, ts); found {
				return n, err
			}
		}
		kind, key = kindV4, uint64(key32)
	case addr.Is6():
		kind, key = kindV6, v6key(addr)
	default:
		return 0, errNoBinding
	}
	return t.lookupKey(anyDom, dom, kind, key, ts)
}

// lookupKey is lookup of an address in the table's own terms.
func (t *Table) lookupKey(anyDom bool, dom, kind uint32, key uint64, ts uint32) (uint64, error) {
	h := hashKey(kind, key)
	sh := &t.shards[h>>56]
	sh.mu.RLock()
	var got uint64
	var err error
	if anyDom {
		got, err = sh.lookupAny(h, kind, key, ts)
	} else {
		got = sh.lookup(h, kind<<30|dom, key, ts)
	}
	sh.mu.RUnlock()
	if err != nil {
		return 0, err
	}
	if got == 0 {
		return 0, errNoBinding
	}
	return got, nil
}

// lookup returns the number bound to (kdom, key) at time ts, or 0. The
// caller holds sh.mu. This is the hot path: one slot read in the common
// case, the key, domain and times compared in the slot itself.
func (sh *shard) lookup(h uint64, kdom uint32, key uint64, ts uint32) uint64 {
	tab := sh.tab
	for i := home(h, len(tab)); ; {
		e := &tab[i]
		if e.addr == key && e.kdom == kdom {
			// One binding per key and domain: the current owner, or the
			// stopped binding it replaced nothing of. Outside its times
			// the answer is no one, never an earlier owner.
			if e.start <= ts && (e.stop == 0 || ts < e.stop) {
				return e.number
			}
			return 0
		}
		if e.kdom == 0 {
			return 0
		}
		if i++; i == len(tab) {
			i = 0
		}
	}
}

// lookupAny is lookup in every routing domain: it returns the number of the
// one subscriber bound to (kind, key) at ts, 0 when there is none, and
// errAmbiguous when owners in several domains differ.
func (sh *shard) lookupAny(h uint64, kind uint32, key uint64, ts uint32) (uint64, error) {
	tab := sh.tab
	var got uint64
	for i := home(h, len(tab)); ; {
		e := &tab[i]
		if e.kdom == 0 {
			return got, nil
		}
		if e.addr == key && e.kdom>>30 == kind && e.start <= ts && (e.stop == 0 || ts < e.stop) {
			if got != 0 && got != e.number {
				return 0, errAmbiguous
			}
			got = e.number
		}
		if i++; i == len(tab) {
			i = 0
		}
	}
}

// natLookup reports found when addr is a CGNAT public address: then the
// answer (a number or an error) is final, because a shared address without
// a matching port block must never fall back to a guess.
func (t *Table) natLookup(anyDom bool, dom, addr uint32, port uint16, ts uint32) (uint64, bool, error) {
	ns := t.natShard(addr)
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	blocks, ok := ns.m[addr]
	if !ok {
		return 0, false, nil
	}
	var got uint64
	for _, b := range blocks {
		if port < b.lo || port > b.hi || (!anyDom && b.e.kdom != dom) {
			continue
		}
		if b.e.start > ts || (b.e.stop != 0 && ts >= b.e.stop) {
			continue
		}
		if got != 0 && got != b.e.number {
			return 0, true, errAmbiguous
		}
		got = b.e.number
	}
	if got == 0 || port == 0 {
		return 0, true, errNoBinding
	}
	return got, true, nil
}

// SessionHash is the 64-bit FNV-1a of an Acct-Session-Id, the form in which
// the table and its log keep session ids.
func SessionHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// packNumber turns an E.164 number into its digits as an integer.
func packNumber(s string) (uint64, error) {
	if _, err := msisdn.Parse(s); err != nil {
		return 0, err
	}
	return strconv.ParseUint(s[1:], 10, 64)
}

func unixSec(t time.Time) uint32 {
	s := t.Unix()
	if s < 1 {
		return 1
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

func v4key32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func v4key(a netip.Addr) uint32 { return v4key32(a) }

// v6key returns the upper 64 bits of a (the /64 the table keys by).
//
// It reads them byte by byte from As16's result without copying the array:
// the compiler writes that result with two 8-byte stores, and `b :=
// a.As16()` copies it with one 16-byte load, which the CPU cannot forward
// from two stores, so the load waited until the stores left the store
// buffer, that is until every older instruction had retired, including the
// previous lookup's cache miss. Independent lookups then ran one after the
// other instead of overlapping: IPv6 lookups cost about twice IPv4's.
// A byte load lies within one store and is forwarded at once.
func v6key(a netip.Addr) uint64 {
	var k uint64
	for i := range 8 {
		k = k<<8 | uint64(a.As16()[i])
	}
	return k
}

func hashKey(kind uint32, addr uint64) uint64 {
	return mix(addr*0x9E3779B97F4A7C15 + uint64(kind))
}

// mix is the 64-bit finaliser of MurmurHash3.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// interner maps the few gateway and domain names to small integers.
type interner struct {
	mu    sync.RWMutex
	ids   map[string]uint32
	names []string
	limit int
}

func (in *interner) init(limit int) { in.ids, in.limit = map[string]uint32{}, limit }

func (in *interner) lookup(s string) (uint32, bool) {
	in.mu.RLock()
	id, ok := in.ids[s]
	in.mu.RUnlock()
	return id, ok
}

func (in *interner) intern(s string) (uint32, error) {
	if id, ok := in.lookup(s); ok {
		return id, nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if id, ok := in.ids[s]; ok {
		return id, nil
	}
	if len(in.names) >= in.limit {
		return 0, ErrTooMany
	}
	id := uint32(len(in.names))
	in.ids[s] = id
	in.names = append(in.names, s)
	return id, nil
}

// count returns how many names are interned (ids are 0 to count-1).
func (in *interner) count() int {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return len(in.names)
}

func (in *interner) name(id uint32) string {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.names[id]
}
