package radius

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3162"

	"github.com/numgate/numgate/internal/msisdn"
)

// Config configures the RADIUS accounting feed. The zero value of every
// field but Clients has a working default.
type Config struct {
	// Listen is the UDP address of the accounting server. Default ":1813".
	Listen string
	// Clients are the packet gateways allowed to send accounting, with their
	// shared secrets (see ParseClients for the file format).
	Clients []NASClient
	// DataDir holds the write-ahead log and snapshot. Empty keeps bindings in
	// memory only (a restart forgets them until the next Interim-Updates),
	// and acknowledges as soon as an update is applied.
	DataDir string
	// IMSAPN is the APN whose sessions are ignored. Default "ims"; "-"
	// disables the filter.
	IMSAPN string
	// DefaultDomain is the routing domain (normalised APN) that Identify
	// searches for connections to the HTTP listener. Default AnyDomain ("*"):
	// every domain, answering only when exactly one subscriber owns the
	// address. Set it to the APN whose traffic reaches the listener when
	// private address pools of several APNs overlap.
	DefaultDomain string
	// TombstoneTTL is how long a stopped session is remembered. Default 5m.
	TombstoneTTL time.Duration
	// Workers is the number of packet-decoding goroutines. Default
	// GOMAXPROCS.
	Workers int
	// SnapshotMinBytes is the log size past which the table is compacted
	// into a snapshot (and at least twice the last snapshot). Default 64 MiB.
	SnapshotMinBytes int64
	// Logger receives operational logs; never a phone number. Default: discard.
	Logger *slog.Logger
	// Registerer receives the feed's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Clients) == 0 {
		errs = append(errs, errors.New("radius: no clients configured (every packet would be dropped)"))
	}
	seen := map[netip.Prefix]bool{}
	for i, cl := range c.Clients {
		if !cl.Prefix.IsValid() {
			errs = append(errs, fmt.Errorf("radius: client %d: invalid prefix", i))
		}
		if cl.Secret == "" {
			errs = append(errs, fmt.Errorf("radius: client %s: empty secret", cl.Prefix))
		}
		if seen[cl.Prefix.Masked()] {
			errs = append(errs, fmt.Errorf("radius: client %s: defined twice", cl.Prefix))
		}
		seen[cl.Prefix.Masked()] = true
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("radius: listen address: %w", err))
		}
	}
	if c.TombstoneTTL < 0 || c.Workers < 0 || c.SnapshotMinBytes < 0 {
		errs = append(errs, errors.New("radius: negative duration, worker count or size"))
	}
	return errors.Join(errs...)
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = ":1813"
	}
	switch c.IMSAPN {
	case "":
		c.IMSAPN = "ims"
	case "-":
		c.IMSAPN = ""
	}
	if c.DefaultDomain == "" {
		c.DefaultDomain = AnyDomain
	}
	if c.TombstoneTTL == 0 {
		c.TombstoneTTL = 5 * time.Minute
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.SnapshotMinBytes == 0 {
		c.SnapshotMinBytes = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server is the RADIUS accounting server and the binding table it feeds.
type Server struct {
	cfg     Config
	table   *Table
	log     *slog.Logger
	m       *metrics
	wal     *wal
	clients clientSet
	dedup   dedup
	seed    maphash.Seed

	in     chan *item
	synced chan *batch
	once   sync.Once

	// syncFile makes a log segment durable ((*os.File).Sync; a test may
	// make it fail).
	syncFile func(*os.File) error
	// rotateLog asks applyLoop to start a new log segment: a sync of the
	// current one failed, and what the kernel failed to write may be gone
	// from it while later writes succeed, a hole that replay stops at.
	rotateLog atomic.Bool
}

// New validates cfg, recovers the binding table from DataDir (snapshot plus
// write-ahead log) and registers the metrics. Put Table() in the
// identification chain, then call Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	s := &Server{
		cfg:      cfg,
		syncFile: (*os.File).Sync,
		log:      cfg.Logger,
		clients:  newClientSet(cfg.Clients),
		seed:     maphash.MakeSeed(),
		table: NewTable(TableConfig{
			DefaultDomain: cfg.DefaultDomain, IMSAPN: cfg.IMSAPN,
			TombstoneTTL: cfg.TombstoneTTL, Now: cfg.Now,
		}),
	}
	s.dedup.init(cfg.Now(), 15*time.Second)
	m, err := newMetrics(cfg.Registerer, s.table)
	if err != nil {
		return nil, fmt.Errorf("radius: metrics: %w", err)
	}
	s.m = m
	if cfg.DataDir != "" {
		w, err := openWAL(cfg.DataDir, s.table, s.log, cfg.SnapshotMinBytes)
		if err != nil {
			return nil, err
		}
		s.wal = w
	}
	return s, nil
}

// Table returns the binding table, a network.Identifier.
func (s *Server) Table() *Table { return s.table }

// Run listens on Config.Listen and serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	addr, err := net.ResolveUDPAddr("udp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("radius: listen address: %w", err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("radius: listen: %w", err)
	}
	return s.Serve(ctx, conn)
}

// Close releases the data directory of a server whose Serve never ran.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		if s.wal != nil {
			err = s.wal.f.Close()
		}
	})
	return err
}

// item is one authentic Accounting-Request on its way through the pipeline.
type item struct {
	src    netip.AddrPort
	id     byte
	auth   [16]byte
	secret []byte
	key    uint64
	r      rec
	// more holds the further CGNAT port blocks of a packet that reports
	// several (one table record each: a record carries one block).
	more []rec
}

// batch is a group of items written to the log together.
type batch struct {
	items []*item
	f     *os.File // the segment written to; nil without a log
	close *os.File // a finished segment to close after earlier batches synced
}

// Serve serves Accounting-Requests on conn until ctx is done, then closes
// conn, acknowledges what it has made durable, and closes the log.
func (s *Server) Serve(ctx context.Context, conn *net.UDPConn) error {
	_ = conn.SetReadBuffer(8 << 20)
	s.in = make(chan *item, 8192)
	s.synced = make(chan *batch, 1024)
	s.log.Info("radius: accounting server listening", "addr", conn.LocalAddr().String(), "clients", len(s.clients), "durable", s.wal != nil)

	var workers, tail sync.WaitGroup
	for range s.cfg.Workers {
		workers.Add(1)
		go func() { defer workers.Done(); s.readLoop(conn) }()
	}
	tail.Add(2)
	go func() { defer tail.Done(); s.applyLoop() }()
	go func() { defer tail.Done(); s.syncLoop(conn) }()
	sweepDone := make(chan struct{})
	go s.sweepLoop(ctx, sweepDone)

	<-ctx.Done()
	conn.Close()
	workers.Wait()
	close(s.in)
	tail.Wait()
	<-sweepDone
	if err := s.Close(); err != nil {
		return fmt.Errorf("radius: closing log: %w", err)
	}
	return nil
}

func (s *Server) sweepLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(max(s.cfg.TombstoneTTL/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.table.Sweep(s.cfg.Now())
		}
	}
}

func (s *Server) readLoop(conn *net.UDPConn) {
	buf := make([]byte, radius.MaxPacketLength)
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		it, v := s.handle(buf[:n], src)
		switch v {
		case verdictReply:
			s.reply(conn, it)
		case verdictApply:
			s.in <- it
		}
	}
}

// verdict is what handle decided about a packet.
type verdict int

const (
	verdictDrop  verdict = iota // no answer (forged, unknown client, retransmit in flight)
	verdictReply                // answer now: nothing to apply
	verdictApply                // apply, make durable, then answer
)

// handle authenticates and decodes one datagram. It is safe for concurrent
// use and is the fuzzing target.
func (s *Server) handle(b []byte, src netip.AddrPort) (*item, verdict) {
	c := s.clients.find(src.Addr())
	if c == nil {
		s.m.reject(reasonUnknownClient)
		return nil, verdictDrop
	}
	if len(b) < 20 {
		s.m.reject(reasonMalformed)
		return nil, verdictDrop
	}
	if radius.Code(b[0]) != radius.CodeAccountingRequest {
		s.m.reject(reasonNotAccounting)
		return nil, verdictDrop
	}
	secret := []byte(c.Secret)
	if !radius.IsAuthenticRequest(b, secret) {
		s.m.reject(reasonBadAuth)
		return nil, verdictDrop
	}
	pkt, err := radius.Parse(b, secret)
	if err != nil {
		s.m.reject(reasonMalformed)
		return nil, verdictDrop
	}
	it := &item{src: src, id: pkt.Identifier, auth: pkt.Authenticator, secret: secret}
	it.key = s.dedupKey(src, b[1], b[4:20])
	switch s.dedup.begin(it.key, s.cfg.Now()) {
	case dedupDone:
		s.m.duplicates.Inc()
		return it, verdictReply
	case dedupPending:
		s.m.duplicates.Inc()
		return nil, verdictDrop
	}
	r, more, reason := s.decode(pkt, c, src)
	if reason != "" {
		s.m.reject(reason)
		s.dedup.finish(it.key)
		return it, verdictReply
	}
	s.m.packet(r.status)
	switch r.status {
	case StatusStart, StatusStop, StatusInterimUpdate, StatusAccountingOn, StatusAccountingOff:
	default:
		s.dedup.finish(it.key)
		return it, verdictReply
	}
	if s.cfg.IMSAPN != "" && r.dom == s.cfg.IMSAPN && r.status != StatusAccountingOn && r.status != StatusAccountingOff {
		s.m.ignoredIMS.Inc()
		s.dedup.finish(it.key)
		return it, verdictReply
	}
	it.r, it.more = r, more
	return it, verdictApply
}

func (s *Server) dedupKey(src netip.AddrPort, id byte, auth []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	a := src.Addr().As16()
	h.Write(a[:])
	h.WriteByte(byte(src.Port() >> 8))
	h.WriteByte(byte(src.Port()))
	h.WriteByte(id)
	h.Write(auth)
	return h.Sum64()
}

// decode turns an authentic Accounting-Request into a table record (plus
// one more per further CGNAT port block), or names why it cannot be used.
func (s *Server) decode(p *radius.Packet, c *NASClient, src netip.AddrPort) (rec, []rec, string) {
	var r rec
	st, err := rfc2866.AcctStatusType_Lookup(p)
	if err != nil {
		return r, nil, reasonNoStatus
	}
	r.status = Status(st)
	if st > 255 {
		r.status = 0
	}
	r.gw = boundName(c.Name + "|" + nasIdentity(p, src))
	now := s.cfg.Now()
	at := now
	if ts, err := rfc2869.EventTimestamp_Lookup(p); err == nil && ts.Before(now) && now.Sub(ts) < 24*time.Hour {
		at = ts
	} else if d, err := rfc2866.AcctDelayTime_Lookup(p); err == nil && d < 3600 {
		at = now.Add(-time.Duration(d) * time.Second)
	}
	r.at = unixSec(at)
	r.start = r.at
	switch r.status {
	case StatusAccountingOn, StatusAccountingOff:
		return r, nil, ""
	case StatusStart, StatusStop, StatusInterimUpdate:
	default:
		return r, nil, ""
	}
	session := rfc2866.AcctSessionID_Get(p)
	if len(session) == 0 {
		return r, nil, reasonNoSession
	}
	r.session = SessionHash(string(session))
	if r.status != StatusStart {
		if d, err := rfc2866.AcctSessionTime_Lookup(p); err == nil && uint32(d) < r.at {
			r.start = r.at - uint32(d)
		}
	}
	r.dom = boundName(NormaliseAPN(rfc2865.CalledStationID_GetString(p)))
	if r.status != StatusStop {
		cs, err := rfc2865.CallingStationID_Lookup(p)
		if err != nil {
			return r, nil, reasonNoMSISDN
		}
		n, ok := normaliseMSISDN(cs)
		if !ok {
			return r, nil, reasonInvalidMSISDN
		}
		r.number = n
	}
	if a, err := rfc2865.FramedIPAddress_Lookup(p); err == nil {
		ip, ok := netip.AddrFromSlice(a)
		if !ok || !ip.Unmap().Is4() {
			return r, nil, reasonBadAddress
		}
		r.v4 = v4key(ip.Unmap())
		r.flags |= hasV4
	}
	if raw, ok := p.Lookup(rfc3162.FramedIPv6Prefix_Type); ok {
		pfx, perr := radius.IPv6Prefix(raw)
		if perr != nil {
			return r, nil, reasonBadAddress
		}
		ones, _ := pfx.Mask.Size()
		if ones >= 64 {
			ip, _ := netip.AddrFromSlice(pfx.IP)
			r.v6 = v6key(ip)
			r.flags |= hasV6
		}
	}
	ranges, err := portRanges(p)
	if err != nil {
		return r, nil, reasonBadNATAttr
	}
	more, reason := natRecs(&r, ranges)
	if reason != "" {
		return r, nil, reason
	}
	if r.flags == 0 && r.status != StatusStop {
		// A Stop naming no address still ends the session's port blocks
		// (found by session) and leaves its tombstone.
		return r, nil, reasonNoAddress
	}
	return r, more, ""
}

// natRecs turns the IP-Port-Range attributes of a Start, Interim-Update or
// Stop into table records (RFC 8045 IP-Port-Alloc semantics):
//
//   - in a Start or Interim-Update, an allocation binds the block to the
//     subscriber and a deallocation releases it, ending its binding at the
//     event's time while the session goes on (no tombstone);
//   - in a Stop every block ends with the session, whatever IP-Port-Alloc
//     says (it may be absent there; elsewhere it is required).
//
// A record holds one block, so r takes the first block and every further
// block gets a record of its own (a copy of r's session fields). Releases
// come before allocations, so that a packet which moves a subscriber from
// one block to another ends up with the new block bound. Blocks the table
// cannot key (no public IPv4 address, no port range, a protocol other than
// TCP) are skipped.
func natRecs(r *rec, ranges []portRange) ([]rec, string) {
	if len(ranges) == 0 {
		return nil, ""
	}
	var releases, binds []rec
	base := *r
	base.flags = hasNAT
	for i := range ranges {
		pr := &ranges[i]
		if pr.alloc == 0 && r.status != StatusStop {
			return nil, reasonBadNATAttr // IP-Port-Alloc is mandatory (RFC 8045)
		}
		if !pr.bindable() {
			continue
		}
		nr := base
		nr.natAddr, nr.natLo, nr.natHi = v4key32(pr.ext), pr.lo, pr.hi
		if r.status != StatusStop && pr.alloc == portDeallocation {
			nr.flags |= natRelease
			releases = append(releases, nr)
		} else {
			binds = append(binds, nr)
		}
	}
	if len(releases) == 0 && len(binds) > 0 {
		// The common case, one block: it joins r, no further record.
		r.natAddr, r.natLo, r.natHi = binds[0].natAddr, binds[0].natLo, binds[0].natHi
		r.flags |= hasNAT
		binds = binds[1:]
	}
	more := append(releases, binds...)
	if r.flags == 0 && len(more) > 0 {
		*r, more = more[0], more[1:]
	}
	if len(more) == 0 {
		more = nil
	}
	return more, ""
}

// nasIdentity names the gateway within its client: NAS-Identifier, else
// NAS-IP-Address or NAS-IPv6-Address, else the packet's source address.
func nasIdentity(p *radius.Packet, src netip.AddrPort) string {
	if id := rfc2865.NASIdentifier_Get(p); len(id) > 0 {
		return string(id)
	}
	if ip, err := rfc2865.NASIPAddress_Lookup(p); err == nil {
		return ip.String()
	}
	if ip, err := rfc3162.NASIPv6Address_Lookup(p); err == nil {
		return ip.String()
	}
	return src.Addr().Unmap().String()
}

// normaliseMSISDN turns a Calling-Station-Id into E.164 digits: TS 29.061
// sends the MSISDN in international format without the '+'; a leading '+'
// is accepted too. The result must pass msisdn.Parse.
func normaliseMSISDN(b []byte) (uint64, bool) {
	s := strings.TrimSpace(string(b))
	s = strings.TrimPrefix(s, "+")
	if _, err := msisdn.Parse("+" + s); err != nil {
		return 0, false
	}
	n, err := packNumber("+" + s)
	return n, err == nil
}

// applyLoop applies items in arrival order, writes their log records, and
// hands each batch to syncLoop. Only this goroutine changes the table (and
// the sweeper, under the same lock).
func (s *Server) applyLoop() {
	defer close(s.synced)
	var buf []byte
	for it := range s.in {
		b := &batch{items: []*item{it}}
	drain:
		for len(b.items) < 2048 {
			select {
			case it, ok := <-s.in:
				if !ok {
					break drain
				}
				b.items = append(b.items, it)
			default:
				break drain
			}
		}
		buf = buf[:0]
		kept := b.items[:0]
		for _, it := range b.items {
			applied, err := s.table.apply(&it.r)
			if err != nil {
				// Only the gateway/domain limits fail here; acknowledging
				// would lose the event, so the gateway retries. The
				// further records of the item share its gateway and
				// domain, so nothing of it was applied.
				s.m.reject(reasonTableFull)
				s.dedup.forget(it.key)
				continue
			}
			for i := range it.more {
				ok, _ := s.table.apply(&it.more[i])
				applied = applied || ok
			}
			if !applied {
				s.m.stale.Inc()
			}
			if s.wal != nil {
				buf = appendRec(buf, &it.r)
				for i := range it.more {
					buf = appendRec(buf, &it.more[i])
				}
			}
			kept = append(kept, it)
		}
		b.items = kept
		if s.wal != nil && len(buf) > 0 {
			if err := s.rotateIfAsked(); err != nil {
				s.log.Error("radius: starting a new log segment after a failed sync failed; not acknowledging", "err", err)
				for _, it := range b.items {
					s.m.reject(reasonLogWriteFailed)
					s.dedup.forget(it.key)
				}
				continue
			}
			if err := s.wal.write(buf); err != nil {
				s.log.Error("radius: write-ahead log write failed; not acknowledging", "err", err)
				for _, it := range b.items {
					s.m.reject(reasonLogWriteFailed)
					s.dedup.forget(it.key)
				}
				continue
			}
			b.f = s.wal.f
		}
		s.synced <- b
		if s.wal != nil && s.wal.wantSnapshot() {
			s.compact()
		}
	}
}

// rotateIfAsked starts a new log segment when syncLoop asked for one (a
// sync failed), and lets syncLoop close the old one; on failure it asks
// again at the next write.
func (s *Server) rotateIfAsked() error {
	if !s.rotateLog.Swap(false) {
		return nil
	}
	old := s.wal.f
	if err := s.wal.rotate(s.wal.seq + 1); err != nil {
		s.rotateLog.Store(true)
		return err
	}
	s.synced <- &batch{close: old}
	s.log.Warn("radius: new log segment after a failed sync", "segment", s.wal.seq)
	return nil
}

// compact snapshots the table with applies paused, then lets syncLoop close
// the finished segment after its pending batches are synced.
func (s *Server) compact() {
	start := time.Now()
	s.table.applyMu.Lock()
	old, err := s.wal.snapshot(s.table)
	s.table.applyMu.Unlock()
	if err != nil {
		s.log.Error("radius: snapshot failed; the log keeps growing", "err", err)
		return
	}
	s.synced <- &batch{close: old}
	s.log.Info("radius: log compacted into a snapshot", "stored", s.table.Stored(), "took", time.Since(start).String())
}

// syncLoop makes batches durable (one fsync for every batch that queued up
// meanwhile: group commit) and only then answers their requests.
func (s *Server) syncLoop(conn *net.UDPConn) {
	var pending []*batch
	var failed []*os.File // segments whose sync failed, until closed
	bw := newBatchWriter(conn)
	var replies []ipv4.Message
	for b := range s.synced {
		pending = append(pending[:0], b)
	drain:
		for {
			select {
			case b, ok := <-s.synced:
				if !ok {
					break drain
				}
				pending = append(pending, b)
			default:
				break drain
			}
		}
		var synced []*os.File
		out := replies[:0]
		for _, b := range pending {
			if b.f == nil || containsFile(synced, b.f) || containsFile(failed, b.f) {
				continue
			}
			start := time.Now()
			if err := s.syncFile(b.f); err != nil {
				// Nothing written to this segment is acknowledged any
				// more, even if a later sync succeeds: the failed pages
				// may be gone, and replay would stop there. New records
				// go to a new segment; the gateway resends the rest.
				s.log.Error("radius: write-ahead log sync failed; not acknowledging, starting a new segment", "err", err)
				failed = append(failed, b.f)
				s.rotateLog.Store(true)
			}
			s.m.syncs.Observe(time.Since(start).Seconds())
			synced = append(synced, b.f)
		}
		for _, b := range pending {
			ok := b.f == nil || !containsFile(failed, b.f)
			for _, it := range b.items {
				if !ok {
					s.dedup.forget(it.key)
					continue
				}
				// Done before the answer leaves: a retransmit racing the
				// answer must be answered again, not dropped as in flight.
				s.dedup.finish(it.key)
				out = appendReply(out, it)
			}
			if b.close != nil {
				b.close.Close()
				failed = slices.DeleteFunc(failed, func(f *os.File) bool { return f == b.close })
			}
		}
		sendReplies(bw, out)
		replies = out
	}
}

// batchWriter sends several datagrams in one system call (sendmmsg on
// Linux): after a group commit, every acknowledgement of the group leaves
// at once instead of one write each, which was a fifth of the ingest CPU.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// newBatchWriter wraps conn for its address family (ipv4.Message and
// ipv6.Message are one type). A dual-stack socket is an IPv6 one; x/net
// maps IPv4 destinations for it.
func newBatchWriter(conn *net.UDPConn) batchWriter {
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
		return ipv4.NewPacketConn(conn)
	}
	return ipv6.NewPacketConn(conn)
}

// appendReply appends the Accounting-Response to it (as reply builds it).
func appendReply(ms []ipv4.Message, it *item) []ipv4.Message {
	resp := radius.Packet{Code: radius.CodeAccountingResponse, Identifier: it.id, Authenticator: it.auth, Secret: it.secret}
	b, err := resp.Encode()
	if err != nil {
		return ms
	}
	return append(ms, ipv4.Message{Buffers: [][]byte{b}, Addr: net.UDPAddrFromAddrPort(it.src)})
}

// sendReplies sends ms, as many per system call as the kernel takes. A
// datagram the kernel refuses is skipped: like a lost answer, the NAS
// retransmits and the dedup table answers again.
func sendReplies(bw batchWriter, ms []ipv4.Message) {
	for len(ms) > 0 {
		n, err := bw.WriteBatch(ms, 0)
		if err != nil {
			n = max(n, 1)
		}
		ms = ms[n:]
	}
}

func containsFile(fs []*os.File, f *os.File) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// reply sends the Accounting-Response (RFC 2866 section 3: no attributes,
// Response Authenticator over the request's authenticator and the secret).
func (s *Server) reply(conn *net.UDPConn, it *item) {
	resp := radius.Packet{Code: radius.CodeAccountingResponse, Identifier: it.id, Authenticator: it.auth, Secret: it.secret}
	b, err := resp.Encode()
	if err != nil {
		return
	}
	conn.WriteToUDPAddrPort(b, it.src)
}

// dedup remembers recent requests by (source, identifier, authenticator),
// in two generations that rotate every ttl: an entry lives ttl to 2×ttl.
type dedup struct {
	mu        sync.Mutex
	cur, prev map[uint64]uint8
	rotated   time.Time
	ttl       time.Duration
}

const (
	dedupNew uint8 = iota
	dedupPending
	dedupDone
)

func (d *dedup) init(now time.Time, ttl time.Duration) {
	d.cur, d.prev, d.rotated, d.ttl = map[uint64]uint8{}, map[uint64]uint8{}, now, ttl
}

// begin returns dedupNew (and records the request as pending) for a request
// not seen recently, else its state.
func (d *dedup) begin(k uint64, now time.Time) uint8 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.rotated) > d.ttl {
		d.prev, d.cur, d.rotated = d.cur, make(map[uint64]uint8, len(d.cur)), now
	}
	if st, ok := d.cur[k]; ok {
		return st
	}
	if st, ok := d.prev[k]; ok {
		d.cur[k] = st
		return st
	}
	d.cur[k] = dedupPending
	return dedupNew
}

// finish marks a request answered: a retransmit is answered again.
func (d *dedup) finish(k uint64) {
	d.mu.Lock()
	d.cur[k] = dedupDone
	d.mu.Unlock()
}

// forget drops a request that was not made durable, so its retransmit is
// processed afresh.
func (d *dedup) forget(k uint64) {
	d.mu.Lock()
	delete(d.cur, k)
	delete(d.prev, k)
	d.mu.Unlock()
}
