package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3162"

	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/radius/dict3gpp"
)

const testSecret = "t3st-s3cret-for-numgate"

// testClock is a settable clock.
type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock { c := &testClock{}; c.ns.Store(t.UnixNano()); return c }
func (c *testClock) Now() time.Time   { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Set(t time.Time)  { c.ns.Store(t.UnixNano()) }

type testServer struct {
	*Server
	addr   string
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startServer runs a server on a random loopback port until the test ends.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return startServerOn(t, cfg, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
}

// startServerOn runs a server listening on laddr until the test ends.
func startServerOn(t testing.TB, cfg Config, laddr *net.UDPAddr) *testServer {
	t.Helper()
	if cfg.Clients == nil {
		cfg.Clients = []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: testSecret, Name: "lab"}}
	}
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: s, addr: conn.LocalAddr().String(), reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- s.Serve(ctx, conn) }()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	<-ts.done
	ts.cancel = nil
}

// metric returns the value of a counter or gauge with the given label.
func (ts *testServer) metric(t testing.TB, name, label, value string) float64 {
	t.Helper()
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// acct builds an Accounting-Request as a 3GPP P-GW sends it.
type acct struct {
	status    rfc2866.AcctStatusType
	session   string
	calling   string
	apn       string
	v4        string
	v6        string
	sessTime  uint32
	nasID     string
	eventTime time.Time
}

func (a acct) packet(secret string) *radius.Packet {
	p := radius.New(radius.CodeAccountingRequest, []byte(secret))
	rfc2866.AcctStatusType_Set(p, a.status)
	if a.session != "" {
		rfc2866.AcctSessionID_SetString(p, a.session)
	}
	if a.calling != "" {
		rfc2865.CallingStationID_SetString(p, a.calling)
	}
	if a.apn != "" {
		rfc2865.CalledStationID_SetString(p, a.apn)
	}
	if a.v4 != "" {
		rfc2865.FramedIPAddress_Set(p, net.ParseIP(a.v4))
	}
	if a.v6 != "" {
		_, n, _ := net.ParseCIDR(a.v6)
		rfc3162.FramedIPv6Prefix_Set(p, n)
	}
	if a.sessTime != 0 {
		rfc2866.AcctSessionTime_Set(p, rfc2866.AcctSessionTime(a.sessTime))
	}
	nas := a.nasID
	if nas == "" {
		nas = "pgw-1"
	}
	rfc2865.NASIdentifier_SetString(p, nas)
	rfc2865.NASIPAddress_Set(p, net.IPv4(192, 0, 2, 10))
	if !a.eventTime.IsZero() {
		rfc2869.EventTimestamp_Set(p, a.eventTime)
	}
	dict3gpp.Add(p, dict3gpp.IMSI, []byte("204080123456789"))
	dict3gpp.Add(p, dict3gpp.RATType, []byte{6})
	dict3gpp.Add(p, dict3gpp.ChargingID, []byte{0, 0, 0x12, 0x34})
	return p
}

// exchange sends p and waits up to d for the response.
func exchange(t testing.TB, addr string, p *radius.Packet, d time.Duration) (*radius.Packet, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c := radius.Client{Retry: 0}
	return c.Exchange(ctx, p, addr)
}

func mustAck(t testing.TB, addr string, p *radius.Packet) {
	t.Helper()
	resp, err := exchange(t, addr, p, 5*time.Second)
	if err != nil {
		t.Fatalf("no Accounting-Response: %v", err)
	}
	if resp.Code != radius.CodeAccountingResponse {
		t.Fatalf("response code %v", resp.Code)
	}
}

func identify(tab *Table, addr string, at time.Time) (string, error) {
	id, err := tab.Identify(context.Background(), network.Connection{Addr: netip.MustParseAddr(addr), At: at})
	return id.Number, err
}

func TestServerLifecycle(t *testing.T) {
	clock := newClock(t0)
	ts := startServer(t, Config{DataDir: t.TempDir(), Now: clock.Now})
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: "sess-1", calling: "31612345678", apn: "internet", v4: "10.1.2.3", v6: "2001:db8:aa:bb::/64"}.packet(testSecret))

	clock.Set(t0.Add(10 * time.Second))
	for _, addr := range []string{"10.1.2.3", "2001:db8:aa:bb:1:2:3:4"} {
		if n, err := identify(ts.Table(), addr, clock.Now()); err != nil || n != alice {
			t.Fatalf("after Start, %s = %q, %v", addr, n, err)
		}
	}
	// An Interim-Update with '+' in Calling-Station-Id changes nothing.
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_InterimUpdate, session: "sess-1", calling: "+31612345678", apn: "internet", v4: "10.1.2.3", sessTime: 10}.packet(testSecret))
	clock.Set(t0.Add(20 * time.Second))
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Stop, session: "sess-1", apn: "internet", v4: "10.1.2.3", v6: "2001:db8:aa:bb::/64", sessTime: 20}.packet(testSecret))
	if _, err := identify(ts.Table(), "10.1.2.3", t0.Add(21*time.Second)); !errors.Is(err, network.ErrNotIdentifiable) {
		t.Fatalf("after Stop: %v", err)
	}
	if n, _ := identify(ts.Table(), "10.1.2.3", t0.Add(15*time.Second)); n != alice {
		t.Fatalf("a request made before the Stop still matches: %q", n)
	}
	if got := ts.metric(t, "numgate_radius_packets_total", "type", "start"); got != 1 {
		t.Errorf("start packets = %v", got)
	}
	if got := ts.metric(t, "numgate_radius_packets_total", "type", "stop"); got != 1 {
		t.Errorf("stop packets = %v", got)
	}
}

// TestServerDualStack: on the default listen address (":1813", one
// dual-stack IPv6 socket) the acknowledgements, sent in batches after each
// group commit, reach gateways over IPv4 and over IPv6, and what they
// acknowledge is applied.
func TestServerDualStack(t *testing.T) {
	clock := newClock(t0)
	ts := startServerOn(t, Config{DataDir: t.TempDir(), Now: clock.Now, Clients: []NASClient{
		{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: testSecret, Name: "v4"},
		{Prefix: netip.MustParsePrefix("::1/128"), Secret: testSecret, Name: "v6"},
	}}, &net.UDPAddr{})
	port := ts.addr[strings.LastIndex(ts.addr, ":")+1:]
	if !strings.HasPrefix(ts.addr, "[::]:") {
		t.Skipf("no dual-stack socket here (listening on %s)", ts.addr)
	}
	for i, gw := range []string{"127.0.0.1", "[::1]"} {
		v4 := fmt.Sprintf("10.9.0.%d", i+1)
		mustAck(t, gw+":"+port, acct{status: rfc2866.AcctStatusType_Value_Start, session: "ds-" + v4, calling: "31612345678", apn: "internet", v4: v4}.packet(testSecret))
		if n, err := identify(ts.Table(), v4, clock.Now()); err != nil || n != alice {
			t.Errorf("Start from %s: %s = %q, %v; want it applied", gw, v4, n, err)
		}
	}
}

func TestServerRejects(t *testing.T) {
	ts := startServer(t, Config{})
	good := acct{status: rfc2866.AcctStatusType_Value_Start, session: "s", calling: "31612345678", v4: "10.9.9.9"}

	// Wrong secret: dropped, no answer, counted.
	if _, err := exchange(t, ts.addr, good.packet("wrong-secret"), 300*time.Millisecond); err == nil {
		t.Fatal("a packet with the wrong secret was answered")
	}
	if got := ts.metric(t, "numgate_radius_rejected_packets_total", "reason", "bad_authenticator"); got != 1 {
		t.Errorf("bad_authenticator = %v", got)
	}
	// Authentic but unusable: acknowledged, counted, no binding.
	for reason, a := range map[string]acct{
		"invalid_msisdn":  {status: rfc2866.AcctStatusType_Value_Start, session: "s1", calling: "0612345678x", v4: "10.9.9.1"},
		"missing_msisdn":  {status: rfc2866.AcctStatusType_Value_Start, session: "s2", v4: "10.9.9.2"},
		"missing_address": {status: rfc2866.AcctStatusType_Value_Start, session: "s3", calling: "31612345678"},
		"missing_session": {status: rfc2866.AcctStatusType_Value_Start, calling: "31612345678", v4: "10.9.9.4"},
	} {
		mustAck(t, ts.addr, a.packet(testSecret))
		if got := ts.metric(t, "numgate_radius_rejected_packets_total", "reason", reason); got != 1 {
			t.Errorf("%s = %v", reason, got)
		}
	}
	// IMS APN: acknowledged and ignored.
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: "s5", calling: "31612345678", apn: "ims", v4: "10.9.9.5"}.packet(testSecret))
	if got := ts.metric(t, "numgate_radius_ignored_packets_total", "reason", "ims_apn"); got != 1 {
		t.Errorf("ims_apn = %v", got)
	}
	if v4, v6, n := ts.Table().Counts(); v4+v6+n != 0 {
		t.Errorf("rejected packets created bindings: %d %d %d", v4, v6, n)
	}
	// Not an Accounting-Request: dropped.
	ar := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	if _, err := exchange(t, ts.addr, ar, 300*time.Millisecond); err == nil {
		t.Fatal("an Access-Request was answered")
	}
}

func TestServerUnknownClient(t *testing.T) {
	ts := startServer(t, Config{Clients: []NASClient{{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Secret: testSecret}}})
	p := acct{status: rfc2866.AcctStatusType_Value_Start, session: "s", calling: "31612345678", v4: "10.9.9.9"}.packet(testSecret)
	if _, err := exchange(t, ts.addr, p, 300*time.Millisecond); err == nil {
		t.Fatal("a packet from an unknown client was answered")
	}
	if got := ts.metric(t, "numgate_radius_rejected_packets_total", "reason", "unknown_client"); got != 1 {
		t.Errorf("unknown_client = %v", got)
	}
}

func TestServerDuplicates(t *testing.T) {
	ts := startServer(t, Config{DataDir: t.TempDir()})
	p := acct{status: rfc2866.AcctStatusType_Value_Start, session: "dup", calling: "31612345678", v4: "10.7.7.7"}.packet(testSecret)
	raw, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var answers int
	buf := make([]byte, 4096)
	for range 3 {
		conn.Write(raw)
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("retransmit not answered: %v", err)
		}
		if !radius.IsAuthenticResponse(buf[:n], raw, []byte(testSecret)) {
			t.Fatal("response authenticator does not verify")
		}
		answers++
	}
	if got := ts.metric(t, "numgate_radius_packets_total", "type", "start"); got != 1 {
		t.Errorf("applied %v times, want once", got)
	}
	if got := ts.metric(t, "numgate_radius_duplicate_packets_total", "", ""); got != 2 {
		t.Errorf("duplicates = %v", got)
	}
}

func TestServerAccountingOn(t *testing.T) {
	clock := newClock(t0)
	ts := startServer(t, Config{Now: clock.Now})
	for i, a := range []string{"10.0.0.1", "10.0.0.2"} {
		mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: "s" + a, calling: "3161234567" + string(rune('0'+i)), v4: a}.packet(testSecret))
	}
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: "other", calling: "31687654321", v4: "10.0.0.3", nasID: "pgw-2"}.packet(testSecret))
	clock.Set(t0.Add(time.Minute))
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_AccountingOn}.packet(testSecret))
	if v4, _, _ := ts.Table().Counts(); v4 != 1 {
		t.Fatalf("after Accounting-On %d bindings live, want 1 (the other gateway's)", v4)
	}
	if n, _ := identify(ts.Table(), "10.0.0.3", clock.Now()); n != bob {
		t.Fatalf("other gateway's binding = %q", n)
	}
	if got := ts.metric(t, "numgate_radius_active_bindings", "family", "ipv4"); got != 1 {
		t.Errorf("active_bindings{ipv4} = %v", got)
	}
}

func TestServerRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newClock(t0)
	for round := range 2 {
		// Round 1 compacts after every few records, to test snapshots too.
		ts := startServer(t, Config{DataDir: dir, Now: clock.Now, SnapshotMinBytes: int64(1 + round*400)})
		for i := range 20 {
			a := netip.AddrFrom4([4]byte{10, byte(round), 0, byte(i)})
			mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: a.String(), calling: "31612345678", v4: a.String()}.packet(testSecret))
		}
		mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Stop, session: "10.0.0.5", v4: "10.0.0.5"}.packet(testSecret))
		ts.stop()
	}
	s, err := New(Config{DataDir: dir, Now: clock.Now, Clients: []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: "x"}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v4, _, _ := s.Table().Counts(); v4 != 39 {
		t.Fatalf("after restart %d live bindings, want 39", v4)
	}
	if n, err := identify(s.Table(), "10.1.0.19", clock.Now()); n != alice {
		t.Fatalf("after restart: %q, %v", n, err)
	}
	if _, err := identify(s.Table(), "10.0.0.5", clock.Now()); err == nil {
		t.Fatal("stopped binding came back after restart")
	}
	// The tombstone survived too: a late Interim of the stopped session
	// does not resurrect it.
	r, _ := toRec(Event{Status: StatusInterimUpdate, Gateway: "lab|pgw-1", Session: "10.0.0.5", Number: alice, IPv4: netip.MustParseAddr("10.0.0.5"), At: t0})
	if ok, _ := s.Table().apply(&r); ok {
		t.Fatal("tombstone lost in restart")
	}
}

func TestServerTornLog(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, Config{DataDir: dir})
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: "a", calling: "31612345678", v4: "10.0.0.1"}.packet(testSecret))
	ts.stop()
	// Simulate a crash mid-write: a torn record at the tail.
	w := &wal{dir: dir}
	segs, _ := w.segments()
	appendFile(t, dir, segName(segs[len(segs)-1]), []byte{40, 0, 0, 0, 1, 2})
	s, err := New(Config{DataDir: dir, Clients: []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: "x"}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v4, _, _ := s.Table().Counts(); v4 != 1 {
		t.Fatalf("recovered %d bindings, want 1", v4)
	}
}

func TestConfigValidate(t *testing.T) {
	err := (&Config{Listen: "nonsense", Clients: []NASClient{{Prefix: netip.MustParsePrefix("10.0.0.0/8")}, {Prefix: netip.MustParsePrefix("10.0.0.0/8"), Secret: "x"}}}).Validate()
	for _, want := range []string{"listen address", "empty secret", "defined twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to mention %q", err, want)
		}
	}
	if err := (&Config{}).Validate(); err == nil {
		t.Error("no clients validated")
	}
}

func TestParseClients(t *testing.T) {
	env := map[string]string{"PGW_SECRET": "from-env"}
	files := map[string]string{"/run/s": "from-file\n"}
	lookupEnv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	readFile := func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, errors.New("no such file")
	}
	good := `# comment
10.20.0.0/16  env:PGW_SECRET  pgw-a

192.0.2.7     file:/run/s
2001:db8::7   literal
`
	cs, err := ParseClients(strings.NewReader(good), lookupEnv, readFile)
	if err != nil {
		t.Fatal(err)
	}
	want := []NASClient{
		{Prefix: netip.MustParsePrefix("10.20.0.0/16"), Secret: "from-env", Name: "pgw-a"},
		{Prefix: netip.MustParsePrefix("192.0.2.7/32"), Secret: "from-file", Name: "192.0.2.7/32"},
		{Prefix: netip.MustParsePrefix("2001:db8::7/128"), Secret: "literal", Name: "2001:db8::7/128"},
	}
	if len(cs) != len(want) {
		t.Fatalf("got %d clients", len(cs))
	}
	for i := range want {
		if cs[i] != want[i] {
			t.Errorf("client %d = %+v, want %+v", i, cs[i], want[i])
		}
	}
	bad := "10.0.0.0/8\nnot-an-ip s\n10.1.0.0/16 env:MISSING\n10.2.0.0/16 file:/nope\n10.3.0.0/16 a\n10.3.0.0/16 b\n"
	_, err = ParseClients(strings.NewReader(bad), lookupEnv, readFile)
	for _, want := range []string{"line 1", "line 2", "line 3", "line 4", "line 6"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseClients(bad) = %v; want it to mention %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "from-env") {
		t.Error("error leaks a secret")
	}
	// Longest prefix wins.
	set := newClientSet([]NASClient{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Secret: "wide"}, {Prefix: netip.MustParsePrefix("10.1.2.3/32"), Secret: "narrow"}})
	if c := set.find(netip.MustParseAddr("10.1.2.3")); c == nil || c.Secret != "narrow" {
		t.Errorf("find = %+v", c)
	}
	if c := set.find(netip.MustParseAddr("::ffff:10.9.9.9")); c == nil || c.Secret != "wide" {
		t.Errorf("find mapped = %+v", c)
	}
}

func TestNormaliseMSISDN(t *testing.T) {
	for in, want := range map[string]uint64{"31612345678": 31612345678, "+31612345678": 31612345678, " 4915112345678 ": 4915112345678} {
		if got, ok := normaliseMSISDN([]byte(in)); !ok || got != want {
			t.Errorf("%q = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "0612345678", "++316", "31 6123", "abc", "1234", "1234567890123456"} {
		if _, ok := normaliseMSISDN([]byte(in)); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func appendFile(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestServerRestartLongGateway: a gateway identity longer than the log's
// 255-byte string field (client name, '|', a NAS-Identifier of up to 253
// bytes) must name the same gateway after a restart, or its Stop no longer
// matches the recovered binding and the stale binding keeps answering.
func TestServerRestartLongGateway(t *testing.T) {
	dir := t.TempDir()
	clock := newClock(t0)
	nas := strings.Repeat("n", 253)
	ts := startServer(t, Config{DataDir: dir, Now: clock.Now})
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: "s1", calling: "31612345678", v4: "10.0.0.7", nasID: nas}.packet(testSecret))
	ts.stop()

	clock.Set(t0.Add(time.Minute))
	ts = startServer(t, Config{DataDir: dir, Now: clock.Now})
	if n, err := identify(ts.Table(), "10.0.0.7", clock.Now()); n != alice {
		t.Fatalf("after restart: %q, %v", n, err)
	}
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Stop, session: "s1", v4: "10.0.0.7", nasID: nas}.packet(testSecret))
	clock.Set(t0.Add(2 * time.Minute))
	if n, err := identify(ts.Table(), "10.0.0.7", clock.Now()); err == nil {
		t.Fatalf("the gateway's Stop after a restart did not end the binding: still %q", n)
	}
	// Accounting-On of that gateway after another restart clears as well.
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: "s2", calling: "31612345678", v4: "10.0.0.8", nasID: nas}.packet(testSecret))
	ts.stop()
	ts = startServer(t, Config{DataDir: dir, Now: clock.Now})
	mustAck(t, ts.addr, acct{status: rfc2866.AcctStatusType_Value_AccountingOn, nasID: nas}.packet(testSecret))
	clock.Set(t0.Add(3 * time.Minute))
	if n, err := identify(ts.Table(), "10.0.0.8", clock.Now()); err == nil {
		t.Fatalf("Accounting-On after a restart did not end the binding: still %q", n)
	}
}

// TestServerSyncFailure: when a log sync fails, nothing written to that
// segment is acknowledged (the failed pages may be gone while later syncs
// succeed, a hole replay would stop at); the next record starts a new
// segment and is acknowledged once synced, and the gateway's resend of the
// unacknowledged one is too. Both survive a restart.
func TestServerSyncFailure(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Logger: testLogger(t), Registerer: prometheus.NewRegistry(),
		Clients: []NASClient{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: testSecret, Name: "lab"}}}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var failures atomic.Int32
	failures.Store(1)
	s.syncFile = func(f *os.File) error {
		if failures.Add(-1) >= 0 {
			return errors.New("injected: EIO")
		}
		return f.Sync()
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	addr := conn.LocalAddr().String()
	w := &wal{dir: dir}
	before, _ := w.segments()

	a := acct{status: rfc2866.AcctStatusType_Value_Start, session: "a", calling: "31612345678", v4: "10.0.0.1"}.packet(testSecret)
	if resp, err := exchange(t, addr, a, time.Second); err == nil {
		t.Fatalf("acknowledged (%v) although its sync failed", resp.Code)
	}
	mustAck(t, addr, acct{status: rfc2866.AcctStatusType_Value_Start, session: "b", calling: "31687654321", v4: "10.0.0.2"}.packet(testSecret))
	mustAck(t, addr, a) // the gateway resends
	after, _ := w.segments()
	if len(after) <= len(before) {
		t.Errorf("segments %v after the failed sync, %v before: want a new one", after, before)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s2, err := New(Config{DataDir: dir, Clients: cfg.Clients, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for addr, want := range map[string]string{"10.0.0.1": "+31612345678", "10.0.0.2": "+31687654321"} {
		if n, err := identify(s2.Table(), addr, time.Now()); n != want {
			t.Errorf("after restart %s: %q, %v; want %s", addr, n, err, want)
		}
	}
}
