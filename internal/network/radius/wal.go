package radius

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/numgate/numgate/internal/atomicfile"
)

// The data directory holds one snapshot (radius.snap) and write-ahead log
// segments (radius-<seq>.wal). A snapshot names the first segment that is
// not in it; recovery loads the snapshot and replays that segment and every
// later one. Every record is framed as
//
//	uint32 little-endian payload length | uint32 CRC-32C of the payload | payload
//
// and replay stops at the first torn or corrupt record of a segment (the
// tail of a crash: those events were never acknowledged, so the gateway
// sends them again).
const (
	walMagic  = "NGRWAL01"
	snapMagic = "NGRSNP01"
	snapName  = "radius.snap"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// appendFrame frames payload (which starts at buf[start+8:]) in place.
func finishFrame(buf []byte, start int) {
	payload := buf[start+8:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, crcTable))
}

func appendStr(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(b, byte(len(s))), s...)
}

// appendRec appends a framed write-ahead log record of r.
func appendRec(b []byte, r *rec) []byte {
	start := len(b)
	b = append(b, make([]byte, 8)...)
	b = append(b, 'R', byte(r.status), r.flags)
	b = binary.LittleEndian.AppendUint64(b, r.session)
	b = binary.LittleEndian.AppendUint64(b, r.number)
	b = binary.LittleEndian.AppendUint32(b, r.v4)
	b = binary.LittleEndian.AppendUint64(b, r.v6)
	b = binary.LittleEndian.AppendUint32(b, r.natAddr)
	b = binary.LittleEndian.AppendUint16(b, r.natLo)
	b = binary.LittleEndian.AppendUint16(b, r.natHi)
	b = binary.LittleEndian.AppendUint32(b, r.at)
	b = binary.LittleEndian.AppendUint32(b, r.start)
	b = appendStr(b, r.gw)
	b = appendStr(b, r.dom)
	finishFrame(b, start)
	return b
}

// reader decodes little-endian fields; a short read sets err.
type reader struct {
	b   []byte
	err bool
}

func (r *reader) n(k int) []byte {
	if len(r.b) < k {
		r.err = true
		r.b = nil
		return make([]byte, k)
	}
	v := r.b[:k]
	r.b = r.b[k:]
	return v
}
func (r *reader) u8() uint8   { return r.n(1)[0] }
func (r *reader) u16() uint16 { return binary.LittleEndian.Uint16(r.n(2)) }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.n(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.n(8)) }
func (r *reader) str() string { return string(r.n(int(r.u8()))) }

func decodeRec(p []byte) (rec, bool) {
	rd := reader{b: p}
	var r rec
	if rd.u8() != 'R' {
		return r, false
	}
	r.status = Status(rd.u8())
	r.flags = rd.u8()
	r.session = rd.u64()
	r.number = rd.u64()
	r.v4 = rd.u32()
	r.v6 = rd.u64()
	r.natAddr = rd.u32()
	r.natLo = rd.u16()
	r.natHi = rd.u16()
	r.at = rd.u32()
	r.start = rd.u32()
	r.gw = rd.str()
	r.dom = rd.str()
	return r, !rd.err && len(rd.b) == 0
}

// readFrames calls fn with each intact record payload of r and reports
// whether the stream ended cleanly.
func readFrames(r *bufio.Reader, fn func([]byte) error) (clean bool, err error) {
	var hdr [8]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err == io.EOF, nil
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		if n > 1<<16 {
			return false, nil
		}
		buf = slices.Grow(buf[:0], int(n))[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return false, nil
		}
		if crc32.Checksum(buf, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return false, nil
		}
		if err := fn(buf); err != nil {
			return false, err
		}
	}
}

// wal is the durable log of a Table.
type wal struct {
	dir      string
	log      *slog.Logger
	f        *os.File
	seq      uint64
	size     int64
	snapSize int64
	minSnap  int64
	torn     bool // the segment may end in a partly written record past size
}

func segName(seq uint64) string { return fmt.Sprintf("radius-%020d.wal", seq) }

// openWAL loads the snapshot and replays the log into t, then starts a new
// segment.
func openWAL(dir string, t *Table, log *slog.Logger, minSnap int64) (*wal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("radius: data dir: %w", err)
	}
	w := &wal{dir: dir, log: log, minSnap: minSnap}
	from, err := w.loadSnapshot(t)
	if err != nil {
		return nil, err
	}
	segs, err := w.segments()
	if err != nil {
		return nil, err
	}
	var replayed int
	last := from
	for _, seq := range segs {
		if seq < from {
			continue
		}
		n, err := w.replay(t, seq)
		if err != nil {
			return nil, err
		}
		replayed += n
		last = max(last, seq+1)
	}
	if replayed > 0 || from > 0 {
		log.Info("radius: bindings recovered", "from_snapshot_segment", from, "replayed_events", replayed, "stored", t.Stored())
	}
	if err := w.rotate(last); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *wal) segments() ([]uint64, error) {
	ents, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, err
	}
	var segs []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "radius-") || !strings.HasSuffix(name, ".wal") {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "radius-"), ".wal"), 10, 64)
		if err == nil {
			segs = append(segs, seq)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

func (w *wal) replay(t *Table, seq uint64) (int, error) {
	f, err := os.Open(filepath.Join(w.dir, segName(seq)))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var magic [16]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil || string(magic[:8]) != walMagic {
		w.log.Warn("radius: skipping log segment without header", "segment", seq)
		return 0, nil
	}
	n := 0
	clean, err := readFrames(br, func(p []byte) error {
		r, ok := decodeRec(p)
		if !ok {
			return errors.New("radius: undecodable log record")
		}
		t.apply(&r)
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("radius: log segment %d: %w", seq, err)
	}
	if !clean {
		w.log.Warn("radius: log segment ends with a torn record (crash tail); the gateway resends unacknowledged events", "segment", seq, "records", n)
	}
	return n, nil
}

// rotate starts segment seq as the current one; the caller syncs and closes
// the previous file.
func (w *wal) rotate(seq uint64) error {
	f, err := os.OpenFile(filepath.Join(w.dir, segName(seq)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	hdr := binary.LittleEndian.AppendUint64([]byte(walMagic), seq)
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := atomicfile.SyncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.f, w.seq, w.size, w.torn = f, seq, int64(len(hdr)), false
	return nil
}

// write appends encoded records to the current segment (no sync).
//
// A write that fails part-way (a full disk) leaves a torn record, and
// replay stops at the first torn record of a segment: every record
// appended behind it, acknowledged or not, would be lost in recovery. So
// the torn tail is cut off before anything else is appended; while that
// fails, so does every write, and nothing more is acknowledged.
func (w *wal) write(b []byte) error {
	if w.torn {
		if err := w.f.Truncate(w.size); err != nil {
			return fmt.Errorf("cutting a torn record off the log: %w", err)
		}
		w.torn = false
	}
	n, err := w.f.Write(b)
	if err != nil {
		if n > 0 {
			w.torn = w.f.Truncate(w.size) != nil
		}
		return err
	}
	w.size += int64(n)
	return nil
}

// wantSnapshot reports whether the log has grown enough to compact: past
// the minimum and past twice the last snapshot, so that compaction costs a
// bounded share of the write bandwidth however large the table.
func (w *wal) wantSnapshot() bool {
	return w.size > w.minSnap && w.size > 2*w.snapSize
}

// snapshot writes the whole table as of now (the caller holds t.applyMu, so
// nothing changes meanwhile), starts a new segment, and removes the segments
// the snapshot covers. It returns the previous segment file, which the caller
// closes once pending syncs are done.
func (w *wal) snapshot(t *Table) (*os.File, error) {
	next := w.seq + 1
	tmp := filepath.Join(w.dir, snapName+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.Write(binary.LittleEndian.AppendUint64([]byte(snapMagic), next))
	count := t.dump(func(rec []byte) { bw.Write(rec) })
	var end []byte
	end = append(end, make([]byte, 8)...)
	end = append(end, 'E')
	end = binary.LittleEndian.AppendUint64(end, uint64(count))
	finishFrame(end, 0)
	bw.Write(end)
	if err := bw.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	st, _ := f.Stat()
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, snapName)); err != nil {
		return nil, err
	}
	old := w.f
	if err := w.rotate(next); err != nil {
		return nil, err
	}
	if st != nil {
		w.snapSize = st.Size()
	}
	segs, _ := w.segments()
	for _, s := range segs {
		if s < next {
			os.Remove(filepath.Join(w.dir, segName(s)))
		}
	}
	return old, nil
}

// loadSnapshot restores the snapshot into t and returns the first segment
// to replay.
func (w *wal) loadSnapshot(t *Table) (uint64, error) {
	f, err := os.Open(filepath.Join(w.dir, snapName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		w.snapSize = st.Size()
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var hdr [16]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || string(hdr[:8]) != snapMagic {
		return 0, errors.New("radius: snapshot has no valid header")
	}
	from := binary.LittleEndian.Uint64(hdr[8:])
	var n, want uint64
	ended := false
	_, err = readFrames(br, func(p []byte) error {
		if ended {
			return errors.New("radius: data after snapshot end")
		}
		if p[0] == 'E' {
			rd := reader{b: p[1:]}
			want = rd.u64()
			ended = true
			return nil
		}
		if err := t.restore(p); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return 0, err
	}
	if !ended || n != want {
		// rename makes a snapshot appear whole or not at all, so this is
		// damage, not a crash: refuse rather than serve a partial table.
		return 0, fmt.Errorf("radius: snapshot incomplete (%d of %d records)", n, want)
	}
	return from, nil
}

// dump emits every stored binding, tombstone and gateway clear as framed
// snapshot records and returns how many. The caller holds t.applyMu.
func (t *Table) dump(emit func([]byte)) int {
	var b []byte
	count := 0
	frame := func(fill func([]byte) []byte) {
		b = b[:0]
		b = append(b, make([]byte, 8)...)
		b = fill(b)
		finishFrame(b, 0)
		emit(b)
		count++
	}
	t.cleared.Range(func(k, v any) bool {
		frame(func(b []byte) []byte {
			b = append(b, 'C')
			b = binary.LittleEndian.AppendUint32(b, v.(uint32))
			return appendStr(b, t.gws.name(k.(uint32)))
		})
		return true
	})
	entryRec := func(b []byte, kind byte, e *entry, dom uint32) []byte {
		b = append(b, kind)
		b = binary.LittleEndian.AppendUint64(b, e.addr)
		b = binary.LittleEndian.AppendUint64(b, e.number)
		b = binary.LittleEndian.AppendUint64(b, e.session)
		b = binary.LittleEndian.AppendUint32(b, e.start)
		b = binary.LittleEndian.AppendUint32(b, e.stop)
		b = appendStr(b, t.gws.name(e.gw))
		return appendStr(b, t.doms.name(dom))
	}
	for si := range t.shards {
		sh := &t.shards[si]
		sh.mu.RLock()
		for k, exp := range sh.tombs {
			frame(func(b []byte) []byte {
				b = append(b, 'T')
				b = binary.LittleEndian.AppendUint64(b, k.session)
				b = binary.LittleEndian.AppendUint32(b, exp)
				return appendStr(b, t.gws.name(k.gw))
			})
		}
		for i := range sh.tab {
			if sh.tab[i].kdom == 0 {
				continue
			}
			e := sh.get(i)
			kind := byte('4')
			if e.kdom>>30 == kindV6 {
				kind = '6'
			}
			frame(func(b []byte) []byte { return entryRec(b, kind, &e, e.kdom&(1<<30-1)) })
		}
		sh.mu.RUnlock()
	}
	for i := range t.nat {
		ns := &t.nat[i]
		ns.mu.RLock()
		for _, blocks := range ns.m {
			for _, nb := range blocks {
				frame(func(b []byte) []byte {
					b = entryRec(b, 'N', &nb.e, nb.e.kdom)
					b = binary.LittleEndian.AppendUint16(b, nb.lo)
					return binary.LittleEndian.AppendUint16(b, nb.hi)
				})
			}
		}
		ns.mu.RUnlock()
	}
	return count
}

// restore inserts one snapshot record into t (which is being loaded and not
// yet shared).
func (t *Table) restore(p []byte) error {
	rd := reader{b: p[1:]}
	bad := errors.New("radius: corrupt snapshot record")
	switch p[0] {
	case 'C':
		at := rd.u32()
		gw, err := t.gws.intern(rd.str())
		if err != nil || rd.err {
			return bad
		}
		t.cleared.Store(gw, at)
	case 'T':
		session, exp := rd.u64(), rd.u32()
		gw, err := t.gws.intern(rd.str())
		if err != nil || rd.err {
			return bad
		}
		t.shards[mix(session^uint64(gw))>>56].tombs[tombKey{gw: gw, session: session}] = exp
	case '4', '6', 'N':
		var e entry
		e.addr, e.number, e.session, e.start, e.stop = rd.u64(), rd.u64(), rd.u64(), rd.u32(), rd.u32()
		gw, err1 := t.gws.intern(rd.str())
		dom, err2 := t.doms.intern(rd.str())
		if err1 != nil || err2 != nil {
			return bad
		}
		e.gw = gw
		if p[0] == 'N' {
			lo, hi := rd.u16(), rd.u16()
			if rd.err {
				return bad
			}
			e.kdom = dom
			ns := t.natShard(uint32(e.addr))
			if len(ns.m[uint32(e.addr)]) == 0 {
				t.natAddrs.Add(1)
			}
			ns.m[uint32(e.addr)] = append(ns.m[uint32(e.addr)], natEntry{lo: lo, hi: hi, e: e})
			if e.stop == 0 {
				t.liveNAT.Add(1)
				t.natIndex(tombKey{gw: gw, session: e.session}, uint32(e.addr))
			}
			t.stored.Add(1)
			return nil
		}
		if rd.err {
			return bad
		}
		kind := kindV4
		if p[0] == '6' {
			kind = kindV6
		}
		e.kdom = kind<<30 | dom
		h := hashKey(kind, e.addr)
		sh := &t.shards[h>>56]
		if sh.find(h, e.kdom, e.addr) >= 0 {
			return bad
		}
		sh.insert(h, e)
		if e.stop == 0 {
			t.live(kind).Add(1)
		}
		t.stored.Add(1)
	default:
		return bad
	}
	return nil
}
