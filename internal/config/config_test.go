package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	if got := c.IssuerURL(); got != "http://127.0.0.1:9091" {
		t.Errorf("IssuerURL = %q", got)
	}
	if !c.DemoClientEnabled() {
		t.Error("demo client should be on for a loopback listener")
	}
	if !c.WebhooksAllowPrivate() {
		t.Error("webhooks to loopback receivers should be allowed on a loopback listener")
	}
	if pc, pn, err := c.Limits(); err != nil || !pc.Unlimited() || !pn.Unlimited() {
		t.Errorf("rate limits on loopback: %s %s %v, want off", pc, pn, err)
	}
	c.Listen = "0.0.0.0:443"
	if pc, pn, _ := c.Limits(); pc.String() != DefaultPerClient || pn.String() != DefaultPerNumber {
		t.Errorf("rate limits on a public listener: %s %s, want the defaults", pc, pn)
	}
	if c.WebhooksAllowPrivate() {
		t.Error("a public gateway must not send webhooks to private addresses by default")
	}
}

func TestGoodFile(t *testing.T) {
	c, err := Load("testdata/full.good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Store.Driver != "postgres" || c.Identification.Timeout.D() != 3*time.Second || c.Attempts.Lifetime.D() != 2*time.Minute {
		t.Errorf("decoded wrongly: %+v", c)
	}
	if c.IssuerURL() != "https://nv.example.net" || c.DemoClientEnabled() {
		t.Errorf("issuer %q demo %v", c.IssuerURL(), c.DemoClientEnabled())
	}
	p, err := c.TrustedPrefixes()
	if err != nil || len(p) != 2 || p[1].String() != "192.0.2.7/32" {
		t.Errorf("prefixes %v %v", p, err)
	}
	if len(c.Directory.Operators) != 1 || c.Directory.Operators[0].MNC != "08" || c.Directory.Ported["+31612345678"] != "KPN" {
		t.Errorf("directory decoded wrongly: %+v", c.Directory)
	}
	if c.KPN.Prefix != "/communication/kpn/numberverify" || c.KPN.TokenLifetime.D() != 30*time.Minute || c.KPN.ResultRetention.D() != 10*time.Minute {
		t.Errorf("kpn decoded wrongly (defaults kept?): %+v", c.KPN)
	}
	if c.DQE.DefaultRegion != "NL" || len(c.DQE.Operators["KPN"].Licences) != 1 || c.Vonage.MaxJWTLifetime.D() != 10*time.Minute {
		t.Errorf("dqe/vonage decoded wrongly: %+v %+v", c.DQE, c.Vonage)
	}
	pc, pn, err := c.Limits()
	if err != nil || pc.String() != DefaultPerClient || pn.String() != "5/h" {
		t.Errorf("limits on a public listener: %s %s %v, want the default per client and 5/h per number", pc, pn, err)
	}
	if c.Webhooks.MaxTries != 5 || c.Webhooks.BaseDelay.D() != 2*time.Second || !c.WebhooksAllowPrivate() {
		t.Errorf("webhooks decoded wrongly: %+v", c.Webhooks)
	}
}

// TestBadFiles checks that each bad fixture fails with every expected
// problem named, at load or at validation.
func TestBadFiles(t *testing.T) {
	cases := map[string][]string{
		"unknown-key.bad.yml":           {"field lisen not found"},
		"bad-duration.bad.yml":          {`"soon" is not a duration`},
		"dsn-without-driver.bad.yml":    {"store.dsn: set, but store.driver is sqlite"},
		"flows-memory-postgres.bad.yml": {"store.flows: memory needs store.driver sqlite"},
		"flows-unknown.bad.yml":         {`store.flows: "ram" is not memory or durable`},
		"many.bad.yml": {
			`listen: "nowhere" is not HOST:PORT`,
			`store.driver: "mysql"`,
			`"not-a-network" is neither`,
			`unknown identifier "magic"`,
			`"virtual" listed twice`,
			"attempts.lifetime",
			`log.level: "loud"`,
			`kpn.prefix: "kpn/"`,
			"kpn.token_lifetime",
			`dqe.default_region: "france"`,
			"webhooks.max_tries",
			`rate_limits.per_client: rate limit "lots"`,
		},
	}
	files, _ := filepath.Glob("testdata/*.bad.yml")
	if len(files) != len(cases) {
		t.Fatalf("%d bad fixtures, %d expectations", len(files), len(cases))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", name), noEnv)
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not mention %q", err, w)
				}
			}
		})
	}
}

func TestEnvOverridesFile(t *testing.T) {
	env := map[string]string{
		"NUMGATE_LISTEN":          "127.0.0.1:7000",
		"NUMGATE_DATA":            "/tmp/x",
		"NUMGATE_STATIC_BINDINGS": "/etc/bindings",
		"NUMGATE_TRUSTED_PROXIES": "10.0.0.0/8, 10.1.0.0/16",
	}
	c, err := Load("testdata/full.good.yml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7000" || c.Data != "/tmp/x" || c.Identification.StaticBindings != "/etc/bindings" || len(c.TrustedProxies) != 2 {
		t.Errorf("env not applied: %+v", c)
	}
}

func TestFileExpandsEnvironment(t *testing.T) {
	t.Setenv("NUMGATE_TEST_DSN", "postgres://x@y/z")
	path := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(path, []byte("store:\n  driver: postgres\n  dsn: ${NUMGATE_TEST_DSN}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.DSN != "postgres://x@y/z" {
		t.Errorf("dsn %q", c.Store.DSN)
	}
}

// TestDevelopmentDefaultsFollowListener: the demo client, the virtual
// operator, private webhooks and the absence of rate limits are defaults
// only on a loopback listener that no proxy relays outside traffic to.
func TestDevelopmentDefaultsFollowListener(t *testing.T) {
	for _, tc := range []struct {
		listen  string
		proxies func(*Config)
		want    bool
	}{
		{"127.0.0.1:1", nil, true},
		{"[::1]:1", nil, true},
		{"localhost:1", nil, true},
		{"0.0.0.0:1", nil, false},
		{"10.0.0.1:1", nil, false},
		{"127.0.0.1:1", func(c *Config) { c.TrustedProxies = []string{"127.0.0.1"} }, false}, // behind nginx on the same host
		{"127.0.0.1:1", func(c *Config) { c.ProxyProtocol = []string{"10.0.0.0/8"} }, false},
	} {
		c := Default()
		c.Listen = tc.listen
		name := tc.listen
		if tc.proxies != nil {
			tc.proxies(&c)
			name += " behind a proxy"
		}
		if got := c.DemoClientEnabled(); got != tc.want {
			t.Errorf("%s: demo client %v, want %v", name, got, tc.want)
		}
		if got := slices.Contains(c.IdentifierOrder(), "virtual"); got != tc.want {
			t.Errorf("%s: virtual operator in default order %v, want %v", name, got, tc.want)
		}
		if got := c.WebhooksAllowPrivate(); got != tc.want {
			t.Errorf("%s: webhooks to private addresses %v, want %v", name, got, tc.want)
		}
		if pc, pn, err := c.Limits(); err != nil || pc.Unlimited() != tc.want || pn.Unlimited() != tc.want {
			t.Errorf("%s: rate limits %s, %s (%v); want off: %v", name, pc, pn, err, tc.want)
		}
	}
	c := Default()
	c.Listen = "0.0.0.0:1"
	c.Identification.Order = []string{"virtual"}
	if got := c.IdentifierOrder(); !slices.Equal(got, []string{"virtual"}) {
		t.Errorf("explicit order not honoured: %v", got)
	}
}

// TestFileKeepsOtherDollars: only ${VAR} is a reference. A '$' written in
// a value (a DSN's password, a path) used to be taken for $VAR or $$ and
// silently removed with what followed it.
func TestFileKeepsOtherDollars(t *testing.T) {
	t.Setenv("NUMGATE_TEST_HOST", "db.example")
	path := filepath.Join(t.TempDir(), "c.yml")
	yml := "data: /srv/ng$1\nissuer: \"https://nv.example.net/a$$b\"\nstore:\n  driver: postgres\n  dsn: \"postgres://u:pa$word$@${NUMGATE_TEST_HOST}/ng\"\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.DSN != "postgres://u:pa$word$@db.example/ng" {
		t.Errorf("dsn %q", c.Store.DSN)
	}
	if c.Data != "/srv/ng$1" || c.Issuer != "https://nv.example.net/a$$b" {
		t.Errorf("data %q, issuer %q", c.Data, c.Issuer)
	}
}

// TestIssuerNeededWithoutListenHost: with listen ":PORT", "0.0.0.0:PORT"
// or "[::]:PORT" the default issuer, http://LISTEN, names no host a client
// can reach, and it would be published in the discovery document: an
// explicit issuer is required. A single host needs none.
func TestIssuerNeededWithoutListenHost(t *testing.T) {
	for _, listen := range []string{":9091", "0.0.0.0:9091", "[::]:9091"} {
		c := Default()
		c.Listen = listen
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "issuer: required") {
			t.Errorf("listen %s without issuer: %v", listen, err)
		}
		c.Issuer = "https://nv.example.net"
		if err := c.Validate(); err != nil {
			t.Errorf("listen %s with an issuer: %v", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:9091", "192.0.2.1:80", "[2001:db8::1]:443", "nv.example.net:80"} {
		c := Default()
		c.Listen = listen
		if err := c.Validate(); err != nil {
			t.Errorf("listen %s without issuer: %v", listen, err)
		}
	}
}

// TestValidateStore checks only the store settings: a serving problem
// (here the issuer) does not fail it, a store problem does.
func TestValidateStore(t *testing.T) {
	c := Default()
	c.Listen = ":9091"
	if err := c.ValidateStore(); err != nil {
		t.Errorf("ValidateStore with a serving problem only: %v", err)
	}
	c.Store.Driver = "postgres"
	if err := c.ValidateStore(); err == nil || !strings.Contains(err.Error(), "store.dsn") {
		t.Errorf("ValidateStore with postgres and no DSN: %v", err)
	}
}

// TestPrefixesUnmapped: trusted_proxies and proxy_protocol written in
// IPv4-mapped IPv6 form match the IPv4 connections they mean (addresses
// are unmapped before they are compared).
func TestPrefixesUnmapped(t *testing.T) {
	c := Default()
	list := []string{"::ffff:10.0.0.0/104", "::ffff:192.0.2.7", "2001:db8::/32", "198.51.100.0/24"}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "198.51.100.0/24"}
	c.TrustedProxies, c.ProxyProtocol = list, list
	for name, parse := range map[string]func() ([]netip.Prefix, error){"trusted_proxies": c.TrustedPrefixes, "proxy_protocol": c.ProxyProtocolPrefixes} {
		got, err := parse()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, p := range got {
			if p.String() != want[i] {
				t.Errorf("%s %q = %s, want %s", name, list[i], p, want[i])
			}
		}
		if !got[0].Contains(netip.MustParseAddr("10.1.2.3")) {
			t.Errorf("%s: %s does not contain 10.1.2.3", name, got[0])
		}
	}
}

// TestHeaderEnrichmentIsOptIn: trusted_proxies alone (numgate behind a
// TLS-terminating reverse proxy) must not make X-MSISDN believed. Such a
// proxy passes the header a device sent through unchanged, and the header
// identifier would then name whatever number the device wrote: a
// verification of any number passes. Only an operator who says its
// enrichment proxy sets a header (identification.header, or "header" in
// the order) turns the identifier on.
func TestHeaderEnrichmentIsOptIn(t *testing.T) {
	c := Default()
	c.Listen = "127.0.0.1:9091"
	c.TrustedProxies = []string{"127.0.0.1"} // nginx on the same host
	if got := c.IdentifierOrder(); slices.Contains(got, "header") {
		t.Errorf("default order %v believes an MSISDN header behind a plain reverse proxy", got)
	}
	c.Identification.Header = "X-Nokia-Msisdn"
	if got := c.IdentifierOrder(); !slices.Equal(got, []string{"static", "header", "radius"}) {
		t.Errorf("with identification.header set: order %v, want static, header, radius", got)
	}
	c = Default()
	c.Identification.Order = []string{"header"}
	if got := c.IdentifierOrder(); !slices.Equal(got, []string{"header"}) {
		t.Errorf("explicit order not honoured: %v", got)
	}
}

// TestRetainCoversResultRetention: attempts.retain shorter than the time
// the KPN and DQE dialects keep results readable would let garbage
// collection delete results that clients may still poll.
func TestRetainCoversResultRetention(t *testing.T) {
	c := Default()
	c.Attempts.Retain = Duration(5 * time.Minute) // results are kept 10m by default
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "attempts.retain: 5m0s is shorter than the results' retention") {
		t.Errorf("retain 5m with 10m result retention: %v", err)
	}
	c.KPN.ResultRetention, c.DQE.ResultRetention = Duration(5*time.Minute), Duration(time.Minute)
	if err := c.Validate(); err != nil {
		t.Errorf("retain 5m with 5m result retention: %v", err)
	}
}

// TestDecodeErrorsNeverRepeatANumber: the YAML decoder quotes keys and
// values in its errors (a duplicate or misplaced directory.ported entry,
// a number where a duration belongs), and numgate serve prints them. They
// must keep saying what and where, without the number.
func TestDecodeErrorsNeverRepeatANumber(t *testing.T) {
	docs := map[string]string{
		"duplicate ported entry":   "directory:\n  ported: {\"+31612345678\": KPN, \"+31612345678\": Odido}\n",
		"misindented ported entry": "directory:\n  ported:\n  \"+31612345678\": KPN\n",
		"number for a map":         "directory:\n  ported: \"+31612345678\"\n",
		"number for a duration":    "attempts: {lifetime: \"31612345678\"}\n",
	}
	digits := regexp.MustCompile(`[0-9]{5,}`)
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			c := Default()
			err := Decode([]byte(doc), &c)
			if err == nil {
				t.Fatal("no error")
			}
			if d := digits.FindString(err.Error()); d != "" {
				t.Errorf("error %q repeats digits of the number (%s)", err, d)
			}
			if !Partial(err) || !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q: want a partial decoding error that names the line", err)
			}
		})
	}
}

// TestFlowsInMemory: flows are kept in memory by default with SQLite only,
// and store.flows (or NUMGATE_STORE_FLOWS) says otherwise.
func TestFlowsInMemory(t *testing.T) {
	for _, tc := range []struct {
		driver, flows string
		want          bool
	}{
		{"sqlite", "", true},
		{"sqlite", FlowsMemory, true},
		{"sqlite", FlowsDurable, false},
		{"postgres", "", false},
		{"postgres", FlowsDurable, false},
	} {
		s := Store{Driver: tc.driver, Flows: tc.flows}
		if got := s.FlowsInMemory(); got != tc.want {
			t.Errorf("driver %q flows %q: in memory %v, want %v", tc.driver, tc.flows, got, tc.want)
		}
	}
	c := Default()
	c.ApplyEnv(func(k string) string {
		if k == "NUMGATE_STORE_FLOWS" {
			return FlowsDurable
		}
		return ""
	})
	if c.Store.FlowsInMemory() {
		t.Error("NUMGATE_STORE_FLOWS=durable: flows still in memory")
	}
}
