package ueid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/radius"
	"github.com/numgate/numgate/internal/ueid"
)

const (
	fullToken   = "full-access-token-0123456789abcdef"
	verifyToken = "verify-only-token-0123456789abcdef"
	number      = "+31612345678"
	digits      = "31612345678"
	other       = "+31687654321"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// fixture is an API over a RADIUS binding table, served by httptest.
type fixture struct {
	t     *testing.T
	clock *clock
	table *radius.Table
	srv   *httptest.Server
	logs  *bytes.Buffer
	reg   *prometheus.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	tab := radius.NewTable(radius.TableConfig{DefaultDomain: radius.AnyDomain, IMSAPN: "ims", Now: clk.Now})
	creds, err := ueid.ParseCredentials(strings.NewReader(
		"# test credentials\n" +
			ueid.TokenHash(fullToken) + " fraud-engine\n" +
			verifyToken + " * verify-msisdn\n"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	reg := prometheus.NewRegistry()
	api, err := ueid.New(ueid.Config{
		Credentials: creds, Identifier: tab, Domains: tab, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := &fixture{t: t, clock: clk, table: tab, srv: srv, logs: logs, reg: reg}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), digits[2:]) {
			t.Errorf("a phone number reached the log:\n%s", logs)
		}
	})
	return f
}

type lockedWriter struct{ w io.Writer }

var logMu sync.Mutex

func (l lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return l.w.Write(p)
}

func (f *fixture) apply(ev radius.Event) {
	f.t.Helper()
	if ev.Gateway == "" {
		ev.Gateway = "pgw-1"
	}
	if ev.At.IsZero() {
		ev.At = f.clock.Now()
	}
	if _, err := f.table.Apply(ev); err != nil {
		f.t.Fatal(err)
	}
}

// call posts body to the operation with token and decodes the answer.
func (f *fixture) call(op, token string, body any) (int, map[string]any, http.Header) {
	f.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+ueid.BasePath+"/"+op, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		f.t.Fatalf("%s: HTTP %d, body not JSON: %v", op, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK && resp.Header.Get("Content-Type") != "application/problem+json" {
		f.t.Errorf("%s: HTTP %d with Content-Type %q, want application/problem+json", op, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out, resp.Header
}

func v4(addr string) map[string]any { return map[string]any{"ipv4Addr": addr} }

func req(ip map[string]any, extra ...any) map[string]any {
	m := map[string]any{"afId": "fraud-engine", "ueIpAddr": ip}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

// wantMSISDN checks a get-msisdn answer.
func wantMSISDN(t *testing.T, status int, body map[string]any, n string) {
	t.Helper()
	d := strings.TrimPrefix(n, "+")
	if status != http.StatusOK || body["gpsi"] != "msisdn-"+d || body["msisdn"] != d {
		t.Fatalf("got HTTP %d %v, want 200 gpsi msisdn-… and msisdn of the bound number", status, body)
	}
}

func wantProblem(t *testing.T, status int, body map[string]any, wantStatus int, cause string) {
	t.Helper()
	if status != wantStatus || body["status"] != float64(wantStatus) || (cause != "" && body["cause"] != cause) {
		t.Fatalf("got HTTP %d %v, want %d cause %q", status, body, wantStatus, cause)
	}
	if body["title"] != http.StatusText(wantStatus) {
		t.Errorf("title %v, want %q", body["title"], http.StatusText(wantStatus))
	}
	raw, _ := json.Marshal(body)
	if strings.Contains(string(raw), digits[2:]) {
		t.Errorf("problem reveals a number: %s", raw)
	}
}

func TestUnauthenticated(t *testing.T) {
	f := newFixture(t)
	f.apply(radius.Event{Status: radius.StatusStart, Session: "s1", Number: number, IPv4: netip.MustParseAddr("10.1.2.3")})
	body := req(v4("10.1.2.3"))
	for _, tok := range []string{"", "wrong-token-0123456789abcdef", fullToken + "x", strings.TrimSuffix(fullToken, "f")} {
		for _, op := range []string{"get-msisdn", "verify-msisdn"} {
			st, b, h := f.call(op, tok, body)
			wantProblem(t, st, b, http.StatusUnauthorized, "")
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer (got %q)", h.Get("WWW-Authenticate"))
			}
		}
	}
	// Another scheme with the right token is not a bearer token.
	r, _ := http.NewRequest(http.MethodPost, f.srv.URL+ueid.BasePath+"/get-msisdn", strings.NewReader(`{}`))
	r.Header.Set("Authorization", "Basic "+fullToken)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic scheme: HTTP %d, want 401", resp.StatusCode)
	}
	if got := count(t, f.reg, "get-msisdn", "unauthenticated"); got != 5 {
		t.Errorf("unauthenticated get-msisdn counted %v, want 5", got)
	}
}

// count reads numgate_ueid_requests_total{operation, result}.
func count(t *testing.T, reg *prometheus.Registry, op, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "numgate_ueid_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["operation"] == op && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestFoundNotFoundStale(t *testing.T) {
	f := newFixture(t)
	f.apply(radius.Event{Status: radius.StatusStart, Session: "s1", Number: number, Domain: "internet", IPv4: netip.MustParseAddr("10.1.2.3")})
	f.clock.Add(time.Minute)

	st, b, _ := f.call("get-msisdn", fullToken, req(v4("10.1.2.3")))
	wantMSISDN(t, st, b, number)
	st, b, _ = f.call("get-msisdn", fullToken, req(v4("10.1.2.3"), "portNumber", 40000))
	wantMSISDN(t, st, b, number)

	st, b, _ = f.call("get-msisdn", fullToken, req(v4("10.1.2.4")))
	wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)

	// verify-msisdn: true, false, and never the number.
	for _, c := range []struct {
		claim map[string]any
		want  bool
	}{
		{map[string]any{"gpsi": "msisdn-" + digits}, true},
		{map[string]any{"msisdn": digits}, true},
		{map[string]any{"msisdn": number}, true},
		{map[string]any{"gpsi": "msisdn-31687654321"}, false},
		{map[string]any{"msisdn": other}, false},
	} {
		body := req(v4("10.1.2.3"))
		for k, v := range c.claim {
			body[k] = v
		}
		for _, tok := range []string{fullToken, verifyToken} {
			st, b, _ := f.call("verify-msisdn", tok, body)
			if st != http.StatusOK || b["verified"] != c.want || len(b) != 1 {
				t.Fatalf("verify %v: HTTP %d %v, want {verified: %v} only", c.claim, st, b, c.want)
			}
		}
	}
	body := req(v4("10.1.2.4"), "msisdn", digits)
	st, b, _ = f.call("verify-msisdn", verifyToken, body)
	wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)

	// Stop: from that second on the binding is stale and never matches.
	f.apply(radius.Event{Status: radius.StatusStop, Session: "s1", Domain: "internet", IPv4: netip.MustParseAddr("10.1.2.3")})
	st, b, _ = f.call("get-msisdn", fullToken, req(v4("10.1.2.3")))
	wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)
	st, b, _ = f.call("verify-msisdn", fullToken, req(v4("10.1.2.3"), "msisdn", digits))
	wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)

	// The address goes to another subscriber: the old one never matches.
	f.clock.Add(time.Minute)
	f.apply(radius.Event{Status: radius.StatusStart, Session: "s2", Number: other, Domain: "internet", IPv4: netip.MustParseAddr("10.1.2.3")})
	st, b, _ = f.call("get-msisdn", fullToken, req(v4("10.1.2.3")))
	wantMSISDN(t, st, b, other)
	st, b, _ = f.call("verify-msisdn", fullToken, req(v4("10.1.2.3"), "msisdn", digits))
	if st != http.StatusOK || b["verified"] != false {
		t.Fatalf("old subscriber after reuse: HTTP %d %v, want verified false", st, b)
	}

	for _, c := range []struct {
		op, result string
		want       float64
	}{
		{"get-msisdn", "found", 3}, {"get-msisdn", "not_found", 2},
		{"verify-msisdn", "verified", 6}, {"verify-msisdn", "not_verified", 5}, {"verify-msisdn", "not_found", 2},
	} {
		if got := count(t, f.reg, c.op, c.result); got != c.want {
			t.Errorf("numgate_ueid_requests_total{%s,%s} = %v, want %v", c.op, c.result, got, c.want)
		}
	}
	if !strings.Contains(f.logs.String(), "result=not_found") || strings.Contains(f.logs.String(), "result=error") {
		t.Errorf("log results wrong:\n%s", f.logs)
	}
}

func TestIPv6Prefix(t *testing.T) {
	f := newFixture(t)
	f.apply(radius.Event{Status: radius.StatusStart, Session: "s6", Number: number,
		IPv6: netip.MustParsePrefix("2001:db8:60:7::/64")})
	for _, ip := range []map[string]any{
		{"ipv6Addr": "2001:db8:60:7::1"},
		{"ipv6Addr": "2001:db8:60:7:a1b2:c3d4:e5f6:1"},
		{"ipv6Prefix": "2001:db8:60:7::/64"},
		{"ipv6Prefix": "2001:db8:60:7:1::/80"},
	} {
		st, b, _ := f.call("get-msisdn", fullToken, req(ip))
		wantMSISDN(t, st, b, number)
	}
	for _, ip := range []map[string]any{
		{"ipv6Addr": "2001:db8:60:8::1"},
		{"ipv6Prefix": "2001:db8:60:6::/64"},
	} {
		st, b, _ := f.call("get-msisdn", fullToken, req(ip))
		wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)
	}
	st, b, _ := f.call("get-msisdn", fullToken, req(map[string]any{"ipv6Prefix": "2001:db8:60::/48"}))
	wantProblem(t, st, b, http.StatusBadRequest, ueid.CauseMandatoryIEIncorrect)
}

func TestCGNATPort(t *testing.T) {
	f := newFixture(t)
	pub := netip.MustParseAddr("198.51.100.7")
	f.apply(radius.Event{Status: radius.StatusStart, Session: "nat-a", Number: number, NAT: radius.NATBlock{Addr: pub, PortLo: 1024, PortHi: 2047}})
	f.apply(radius.Event{Status: radius.StatusStart, Session: "nat-b", Number: other, NAT: radius.NATBlock{Addr: pub, PortLo: 2048, PortHi: 3071}})
	for port, want := range map[int]string{1024: number, 1500: number, 2047: number, 2048: other, 3071: other} {
		st, b, _ := f.call("get-msisdn", fullToken, req(v4("198.51.100.7"), "portNumber", port))
		wantMSISDN(t, st, b, want)
	}
	// A shared address without a port, or outside every block: not a guess.
	for _, body := range []map[string]any{req(v4("198.51.100.7")), req(v4("198.51.100.7"), "portNumber", 0), req(v4("198.51.100.7"), "portNumber", 4000)} {
		st, b, _ := f.call("get-msisdn", fullToken, body)
		wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)
	}
	st, b, _ := f.call("verify-msisdn", verifyToken, req(v4("198.51.100.7"), "portNumber", 2500, "msisdn", digits))
	if st != http.StatusOK || b["verified"] != false {
		t.Fatalf("other block: HTTP %d %v, want verified false", st, b)
	}
	st, b, _ = f.call("verify-msisdn", verifyToken, req(v4("198.51.100.7"), "portNumber", 1500, "msisdn", digits))
	if st != http.StatusOK || b["verified"] != true {
		t.Fatalf("own block: HTTP %d %v, want verified true", st, b)
	}
}

func TestDNN(t *testing.T) {
	f := newFixture(t)
	a := netip.MustParseAddr("10.9.0.1")
	f.apply(radius.Event{Status: radius.StatusStart, Session: "x1", Number: number, Domain: "internet.mnc008.mcc204.gprs", IPv4: a})
	f.apply(radius.Event{Status: radius.StatusStart, Session: "x2", Number: other, Domain: "corporate", IPv4: a})
	// Without a dnn the overlapping private address is ambiguous.
	st, b, _ := f.call("get-msisdn", fullToken, req(v4("10.9.0.1")))
	wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)
	st, b, _ = f.call("get-msisdn", fullToken, req(v4("10.9.0.1"), "dnn", "internet"))
	wantMSISDN(t, st, b, number)
	st, b, _ = f.call("get-msisdn", fullToken, req(v4("10.9.0.1"), "dnn", "Corporate"))
	wantMSISDN(t, st, b, other)
	st, b, _ = f.call("get-msisdn", fullToken, req(v4("10.9.0.1"), "ipDomain", "corporate"))
	wantMSISDN(t, st, b, other)
	st, b, _ = f.call("get-msisdn", fullToken, req(v4("10.9.0.1"), "dnn", "nope"))
	wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	f.apply(radius.Event{Status: radius.StatusStart, Session: "s1", Number: number, IPv4: netip.MustParseAddr("10.1.2.3")})
	// The verify-only credential cannot read numbers.
	st, b, _ := f.call("get-msisdn", verifyToken, req(v4("10.1.2.3")))
	wantProblem(t, st, b, http.StatusForbidden, ueid.CauseRequestNotAuthorized)
	// The full credential is bound to its afId.
	body := req(v4("10.1.2.3"))
	body["afId"] = "someone-else"
	st, b, _ = f.call("get-msisdn", fullToken, body)
	wantProblem(t, st, b, http.StatusForbidden, ueid.CauseRequestNotAuthorized)
	// The "*" credential may send any afId.
	body["msisdn"] = digits
	st, b, _ = f.call("verify-msisdn", verifyToken, body)
	if st != http.StatusOK || b["verified"] != true {
		t.Fatalf("any-AF credential: HTTP %d %v", st, b)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	port := func(p int) map[string]any { return req(v4("10.1.2.3"), "portNumber", p) }
	for name, c := range map[string]struct {
		op, param string
		body      any
		status    int
		cause     string
	}{
		"no afId":         {"get-msisdn", "afId", map[string]any{"ueIpAddr": v4("10.1.2.3")}, 400, ueid.CauseMandatoryIEMissing},
		"afId with space": {"get-msisdn", "afId", map[string]any{"afId": "a b", "ueIpAddr": v4("10.1.2.3")}, 400, ueid.CauseMandatoryIEIncorrect},
		"no address":      {"get-msisdn", "ueIpAddr", map[string]any{"afId": "fraud-engine"}, 400, ueid.CauseMandatoryIEMissing},
		"mac only":        {"get-msisdn", "ueMacAddr", map[string]any{"afId": "fraud-engine", "ueMacAddr": "00-11-22-33-44-55"}, 400, ueid.CauseMandatoryIEIncorrect},
		"two addresses":   {"get-msisdn", "ueIpAddr", req(map[string]any{"ipv4Addr": "10.1.2.3", "ipv6Addr": "2001:db8::1"}), 400, ueid.CauseMandatoryIEIncorrect},
		"empty address":   {"get-msisdn", "ueIpAddr", req(map[string]any{}), 400, ueid.CauseMandatoryIEIncorrect},
		"v6 as v4":        {"get-msisdn", "ueIpAddr/ipv4Addr", req(v4("2001:db8::1")), 400, ueid.CauseMandatoryIEIncorrect},
		"mapped v4":       {"get-msisdn", "ueIpAddr/ipv4Addr", req(v4("::ffff:10.1.2.3")), 400, ueid.CauseMandatoryIEIncorrect},
		"v4 as v6":        {"get-msisdn", "ueIpAddr/ipv6Addr", req(map[string]any{"ipv6Addr": "10.1.2.3"}), 400, ueid.CauseMandatoryIEIncorrect},
		"zone":            {"get-msisdn", "ueIpAddr/ipv6Addr", req(map[string]any{"ipv6Addr": "fe80::1%eth0"}), 400, ueid.CauseMandatoryIEIncorrect},
		"port too big":    {"get-msisdn", "portNumber", port(65536), 400, ueid.CauseOptionalIEIncorrect},
		"negative port":   {"get-msisdn", "portNumber", port(-1), 400, ueid.CauseOptionalIEIncorrect},
		"number to get":   {"get-msisdn", "gpsi", req(v4("10.1.2.3"), "msisdn", digits), 400, ueid.CauseOptionalIEIncorrect},
		"no claim":        {"verify-msisdn", "gpsi", req(v4("10.1.2.3")), 400, ueid.CauseMandatoryIEMissing},
		"two claims":      {"verify-msisdn", "gpsi", req(v4("10.1.2.3"), "msisdn", digits, "gpsi", "msisdn-"+digits), 400, ueid.CauseMandatoryIEIncorrect},
		"extid gpsi":      {"verify-msisdn", "gpsi", req(v4("10.1.2.3"), "gpsi", "extid-a@b"), 400, ueid.CauseMandatoryIEIncorrect},
		"bad msisdn":      {"verify-msisdn", "msisdn", req(v4("10.1.2.3"), "msisdn", "06-12345678"), 400, ueid.CauseMandatoryIEIncorrect},
		"not an object":   {"get-msisdn", "", []int{1}, 400, ueid.CauseInvalidMsgFormat},
		"number as json":  {"verify-msisdn", "", map[string]any{"afId": "fraud-engine", "msisdn": 31612345678}, 400, ueid.CauseInvalidMsgFormat},
	} {
		t.Run(name, func(t *testing.T) {
			st, b, _ := f.call(c.op, fullToken, c.body)
			wantProblem(t, st, b, c.status, c.cause)
			if c.param == "" {
				return
			}
			ps, _ := b["invalidParams"].([]any)
			if len(ps) == 0 || ps[0].(map[string]any)["param"] != c.param {
				t.Errorf("invalidParams %v, want first param %q", b["invalidParams"], c.param)
			}
		})
	}

	// Wrong media type, oversized body, trailing data.
	post := func(ct, body string) int {
		r, _ := http.NewRequest(http.MethodPost, f.srv.URL+ueid.BasePath+"/get-msisdn", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+fullToken)
		r.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("text/plain", `{}`); st != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: HTTP %d, want 415", st)
	}
	if st := post("application/json", `{"afId":"`+strings.Repeat("a", 20000)+`"}`); st != http.StatusRequestEntityTooLarge {
		t.Errorf("20 kB body: HTTP %d, want 413", st)
	}
	if st := post("application/json; charset=utf-8", `{"afId":"fraud-engine","ueIpAddr":{"ipv4Addr":"10.1.2.3"}} {}`); st != http.StatusBadRequest {
		t.Errorf("two objects: HTTP %d, want 400", st)
	}
	// Unknown members are ignored (TS 29.500), known ones still checked.
	st, b, _ := f.call("get-msisdn", fullToken, req(v4("10.1.2.3"), "snssai", map[string]any{"sst": 1}, "futureMember", true))
	wantProblem(t, st, b, http.StatusNotFound, ueid.CauseContextNotFound)
	// A GET is not an operation.
	resp, err := http.Get(f.srv.URL + ueid.BasePath + "/get-msisdn")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d, want 405", resp.StatusCode)
	}
}

type ctx = context.Context

func TestIdentifierErrors(t *testing.T) {
	creds, _ := ueid.ParseCredentials(strings.NewReader(fullToken + " *\n"))
	for _, c := range []struct {
		id     network.Identifier
		status int
	}{
		{network.IdentifierFunc(func(_ ctx, _ network.Connection) (network.Identity, error) {
			return network.Identity{}, network.ErrUnavailable
		}), http.StatusServiceUnavailable},
		{network.IdentifierFunc(func(_ ctx, _ network.Connection) (network.Identity, error) {
			return network.Identity{}, io.ErrUnexpectedEOF
		}), http.StatusInternalServerError},
		{network.IdentifierFunc(func(_ ctx, c network.Connection) (network.Identity, error) {
			if c.Header != nil || c.FromTrustedProxy || c.Hint != "" || c.At.IsZero() {
				t.Errorf("identifier saw more than address, port and time: %+v", c)
			}
			return network.Identity{Number: number, Source: "static"}, nil
		}), http.StatusOK},
		{network.IdentifierFunc(func(_ ctx, _ network.Connection) (network.Identity, error) {
			return network.Identity{Number: "bogus", Source: "static"}, nil
		}), http.StatusInternalServerError},
	} {
		api, err := ueid.New(ueid.Config{Credentials: creds, Identifier: c.id})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		api.Mount(mux)
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, ueid.BasePath+"/get-msisdn", strings.NewReader(`{"afId":"x","ueIpAddr":{"ipv4Addr":"10.1.2.3"}}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+fullToken)
		mux.ServeHTTP(rec, r)
		if rec.Code != c.status {
			t.Errorf("HTTP %d, want %d: %s", rec.Code, c.status, rec.Body)
		}
		if rec.Code == http.StatusInternalServerError && !strings.Contains(rec.Body.String(), "internal error ") {
			t.Errorf("500 without an error id: %s", rec.Body)
		}
		// With a dnn but no per-domain lookup: not found, never the chain.
		r = httptest.NewRequest(http.MethodPost, ueid.BasePath+"/get-msisdn", strings.NewReader(`{"afId":"x","dnn":"internet","ueIpAddr":{"ipv4Addr":"10.1.2.3"}}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+fullToken)
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		if rec.Code != http.StatusNotFound {
			t.Errorf("dnn without domain lookup: HTTP %d, want 404", rec.Code)
		}
	}
}
