package radius

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/numgate/numgate/internal/cputime"
)

// benchSize is the number of bindings per family in the table benchmarks:
// 1 million by default, NUMGATE_BENCH_BINDINGS to measure 10 million once
// by hand (needs about 1.5 GiB free).
func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("NUMGATE_BENCH_BINDINGS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// fillTable binds n IPv4 addresses and n IPv6 /64s (n sessions, dual stack)
// on gateway gw and returns the heap bytes per binding.
func fillTable(tb testing.TB, t *Table, gw string, n int) float64 {
	return fillTableAt(tb, t, gw, 0, n)
}

// fillTableAt is fillTable for sessions off..off+n-1.
func fillTableAt(tb testing.TB, t *Table, gw string, off, n int) float64 {
	before := heapInUse()
	r := rec{status: StatusStart, gw: gw, dom: "internet", at: 1000, start: 1000, number: 31600000000, flags: hasV4 | hasV6}
	for i := off; i < off+n; i++ {
		r.session = uint64(i) + 1
		r.number = 31600000000 + uint64(i)
		r.v4 = 0x0a000000 + uint32(i)
		r.v6 = 0x20010db800000000 + uint64(i)<<8
		if _, err := t.apply(&r); err != nil {
			tb.Fatal(err)
		}
	}
	after := heapInUse()
	return float64(after-before) / float64(2*n)
}

var tableOnce struct {
	sync.Once
	t        *Table
	perEntry float64
}

func benchTable(b *testing.B) (*Table, int) {
	n := benchSize()
	tableOnce.Do(func() {
		tableOnce.t = NewTable(TableConfig{DefaultDomain: "internet"})
		tableOnce.perEntry = fillTable(b, tableOnce.t, "pgw", n)
	})
	b.Cleanup(func() { b.ReportMetric(tableOnce.perEntry, "B/binding") })
	return tableOnce.t, n
}

// cpuClock starts counting the process's CPU time for reportCPU. On a
// machine shared with other work, wall-clock ns/op rises with the load;
// CPU time per lookup much less. With -cpu 1 the process's CPU time is the
// benchmark's.
func cpuClock(b *testing.B) func() {
	start := cputime.Process()
	b.ResetTimer()
	return func() {
		if start > 0 && b.N > 0 {
			b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func BenchmarkLookupIPv4(b *testing.B) {
	t, n := benchTable(b)
	defer cpuClock(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := uint64(time.Now().UnixNano())
		for pb.Next() {
			i = i*6364136223846793005 + 1442695040888963407
			a := 0x0a000000 + uint32((i>>20)%uint64(n))
			if _, err := t.lookup(false, t.defaultDom, netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 0, 2000); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLookupIPv6(b *testing.B) {
	t, n := benchTable(b)
	defer cpuClock(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := uint64(time.Now().UnixNano())
		// Each address is written 16 lookups before it is used. Read
		// back at once, the bytes just stored would come back through
		// one 16-byte load that the CPU cannot forward from the smaller
		// stores; such a load waits until the stores are written out,
		// that is until the previous lookup's cache miss has retired,
		// and the benchmark would serialise lookups that the table lets
		// overlap (the IPv4 benchmark builds its addresses in registers).
		var ring [32][16]byte
		build := func(a *[16]byte) {
			i = i*6364136223846793005 + 1442695040888963407
			binary.BigEndian.PutUint64(a[:8], 0x20010db800000000+(i>>20)%uint64(n)<<8)
			binary.BigEndian.PutUint64(a[8:], 0xdeadbeef)
		}
		for j := range ring {
			build(&ring[j])
		}
		for j := 0; pb.Next(); j++ {
			a := netip.AddrFrom16(ring[j%len(ring)])
			build(&ring[(j+len(ring)/2)%len(ring)])
			if _, err := t.lookup(false, t.defaultDom, a, 0, 2000); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLookupMiss looks up addresses nobody owns (Wi-Fi users).
func BenchmarkLookupMiss(b *testing.B) {
	t, _ := benchTable(b)
	defer cpuClock(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := uint64(time.Now().UnixNano())
		for pb.Next() {
			i = i*6364136223846793005 + 1442695040888963407
			a := 0xc0000000 | uint32(i>>40)
			t.lookup(false, t.defaultDom, netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 0, 2000)
		}
	})
}

// BenchmarkAccountingOn clears 1 million dual-stack sessions (2 million
// bindings) of one gateway, in a table that holds as many of another.
func BenchmarkAccountingOn(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		b.StopTimer()
		t := NewTable(TableConfig{})
		fillTableAt(b, t, "other", n, n/2)
		fillTableAt(b, t, "rebooting", 0, n)
		b.StartTimer()
		t.apply(&rec{status: StatusAccountingOn, gw: "rebooting", at: 2000})
		b.StopTimer()
		if v4, _, _ := t.Counts(); v4 != n/2 {
			b.Fatalf("live after clear: %d", v4)
		}
		b.StartTimer()
	}
}

// BenchmarkApply measures the single-threaded table update path.
func BenchmarkApply(b *testing.B) {
	t := NewTable(TableConfig{})
	r := rec{status: StatusInterimUpdate, gw: "pgw", dom: "internet", at: 1000, start: 1000, flags: hasV4 | hasV6}
	i := 0
	for b.Loop() {
		i++
		r.session = uint64(i % 1_000_000)
		r.number = 31600000000 + uint64(i%1_000_000)
		r.v4 = 0x0a000000 + uint32(i%1_000_000)
		r.v6 = 0x20010db800000000 + uint64(i%1_000_000)<<8
		t.apply(&r)
	}
}

// loadgen sends total Interim-Updates for distinct sessions to addr like a
// packet gateway with `sockets` source ports and up to `window` requests in
// flight per port, retransmitting after a second, and returns the
// acknowledged count and the elapsed time.
func loadgen(tb testing.TB, addr, secret string, total, sockets, window int) (int, time.Duration) {
	tmpl := acct{status: rfc2866.AcctStatusType_Value_InterimUpdate, session: "S-000000000000", calling: "31600000000", apn: "internet", v4: "10.0.0.0", sessTime: 60}.packet(secret)
	raw, err := tmpl.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	// Offsets of the fields each request varies.
	sessOff := indexOf(raw, []byte("S-000000000000")) + 2
	callOff := indexOf(raw, []byte("31600000000"))
	ipOff := indexOf(raw, []byte{10, 0, 0, 0})
	var acked atomic.Int64
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for s := range sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("udp", addr)
			if err != nil {
				tb.Error(err)
				return
			}
			defer conn.Close()
			type slot struct {
				pkt  []byte
				sent time.Time
				busy bool
			}
			var mu sync.Mutex
			slots := make([]slot, 256)
			free := make(chan byte, window)
			for id := range window {
				free <- byte(id)
			}
			done := make(chan struct{})
			go func() { // receiver
				buf := make([]byte, 4096)
				for {
					conn.SetReadDeadline(time.Now().Add(time.Second))
					n, err := conn.Read(buf)
					if err != nil {
						select {
						case <-done:
							return
						default:
						}
						// Retransmit whatever has waited a second.
						mu.Lock()
						for id := range slots {
							if slots[id].busy && time.Since(slots[id].sent) > time.Second {
								conn.Write(slots[id].pkt)
								slots[id].sent = time.Now()
							}
						}
						mu.Unlock()
						continue
					}
					if n < 20 || buf[0] != byte(radius.CodeAccountingResponse) {
						continue
					}
					id := buf[1]
					mu.Lock()
					ok := slots[id].busy && radius.IsAuthenticResponse(buf[:n], slots[id].pkt, []byte(secret))
					if ok {
						slots[id].busy = false
					}
					mu.Unlock()
					if ok {
						acked.Add(1)
						free <- id
					}
				}
			}()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					break
				}
				id := <-free
				p := make([]byte, len(raw))
				copy(p, raw)
				p[1] = id
				copy(p[sessOff:], fmt.Sprintf("%012d", i))
				copy(p[callOff+2:], fmt.Sprintf("%09d", i%1_000_000_000))
				binary.BigEndian.PutUint32(p[ipOff:], 0x0a000000+uint32(i%(1<<24)))
				signRequest(p, secret)
				mu.Lock()
				slots[id] = slot{pkt: p, sent: time.Now(), busy: true}
				mu.Unlock()
				conn.Write(p)
			}
			for range window { // wait for the last answers
				select {
				case <-free:
				case <-time.After(10 * time.Second):
					tb.Errorf("socket %d: requests unanswered", s)
				}
			}
			close(done)
		}()
	}
	wg.Wait()
	return int(acked.Load()), time.Since(start)
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	panic("loadgen: field not found in template")
}

// signRequest computes an Accounting-Request's Request Authenticator.
func signRequest(p []byte, secret string) {
	h := md5.New()
	h.Write(p[:4])
	h.Write(make([]byte, 16))
	h.Write(p[20:])
	h.Write([]byte(secret))
	h.Sum(p[4:4:20])
}

// BenchmarkIngest runs the accounting server with durability on (the
// write-ahead log in a temporary directory, fsync before every
// acknowledgement) and a Go load generator over loopback.
func BenchmarkIngest(b *testing.B) {
	dir := b.TempDir()
	if d := os.Getenv("NUMGATE_BENCH_DATADIR"); d != "" {
		dir = d
	}
	ts := startServer(b, Config{DataDir: dir})
	b.ResetTimer()
	acked, took := loadgen(b, ts.addr, testSecret, b.N, 4, 200)
	b.StopTimer()
	if acked != b.N {
		b.Fatalf("acknowledged %d of %d", acked, b.N)
	}
	b.ReportMetric(float64(acked)/took.Seconds(), "packets/s")
}

// BenchmarkIngestFreeRADIUS sends the same load to a FreeRADIUS server
// started by testdata/bench-freeradius.sh (NUMGATE_BENCH_FREERADIUS=host:port).
func BenchmarkIngestFreeRADIUS(b *testing.B) {
	addr := os.Getenv("NUMGATE_BENCH_FREERADIUS")
	if addr == "" {
		b.Skip("NUMGATE_BENCH_FREERADIUS not set: run internal/network/radius/testdata/bench-freeradius.sh")
	}
	acked, took := loadgen(b, addr, testSecret, b.N, 4, 200)
	if acked != b.N {
		b.Fatalf("acknowledged %d of %d", acked, b.N)
	}
	b.ReportMetric(float64(acked)/took.Seconds(), "packets/s")
}
