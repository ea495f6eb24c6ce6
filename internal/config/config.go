// Package config is numgate's typed configuration: defaults, a YAML file
// decoded strictly (unknown keys are errors), environment variables, and a
// Validate that reports every problem at once.
//
// Precedence, lowest first: defaults, the file, NUMGATE_* environment
// variables, command-line flags (applied by cmd/numgate).
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/numgate/numgate/internal/directory"
	"github.com/numgate/numgate/internal/ratelimit"
)

// Config is the whole configuration of `numgate serve`.
type Config struct {
	// Listen is the HTTP listen address.
	Listen string `yaml:"listen"`
	// Data is the data directory: SQLite database, signing keys, RADIUS log.
	Data string `yaml:"data"`
	// Issuer is the OAuth issuer URL; default http://LISTEN.
	Issuer string `yaml:"issuer"`
	// Store selects the storage backend.
	Store Store `yaml:"store"`
	// TrustedProxies are the networks whose X-Forwarded-For / Forwarded
	// headers name the device's address, and whose enrichment headers are
	// believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ProxyProtocol are the networks (addresses or CIDR prefixes) of load
	// balancers that open every HTTP connection with a PROXY protocol (v1
	// or v2) header naming the device's address and port: from them the
	// header is required; from anyone else it is never read.
	ProxyProtocol []string `yaml:"proxy_protocol"`
	// Identification is the identification policy.
	Identification Identification `yaml:"identification"`
	// Attempts tunes the attempt life cycle.
	Attempts Attempts `yaml:"attempts"`
	// Radius configures the RADIUS accounting feed (identifier "radius").
	Radius Radius `yaml:"radius"`
	// UEID configures the 3gpp-ueid lookup API for operator systems.
	UEID UEID `yaml:"ueid"`
	// Directory is the operator directory (KPN operator_lookup, DQE operator).
	Directory Directory `yaml:"directory"`
	// KPN configures the KPN Number Verify dialect.
	KPN KPN `yaml:"kpn"`
	// DQE configures the DQE ID Mobile dialect.
	DQE DQE `yaml:"dqe"`
	// Vonage configures the Vonage dialect.
	Vonage Vonage `yaml:"vonage"`
	// Webhooks tunes webhook delivery (KPN notifications).
	Webhooks Webhooks `yaml:"webhooks"`
	// RateLimits bounds how often attempts start.
	RateLimits RateLimits `yaml:"rate_limits"`
	// DemoClient registers the documented demo client at start-up. Default:
	// on in development (Config.Development), off otherwise.
	DemoClient *bool `yaml:"demo_client"`
	// Log configures logging.
	Log Log `yaml:"log"`
}

// Store selects the storage backend.
type Store struct {
	// Driver is "sqlite" (default; file DATA/numgate.db) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is the PostgreSQL connection string (driver postgres only).
	DSN string `yaml:"dsn"`
	// Flows says where the OAuth flow's codes and access tokens, and the
	// attempts they were issued for, are kept: "memory" (the default with
	// sqlite: a verification costs no disk write, and a restart ends the
	// flows in progress, failing closed) or "durable" (in the database,
	// surviving a restart; the only choice with postgres, whose replicas
	// share them).
	Flows string `yaml:"flows"`
}

// FlowsInMemory reports whether the OAuth flow state is kept in process
// memory (store.flows, by default memory with sqlite).
func (s Store) FlowsInMemory() bool {
	return s.Flows == FlowsMemory || (s.Flows == "" && s.Driver == "sqlite")
}

// Values of Store.Flows.
const (
	FlowsMemory  = "memory"
	FlowsDurable = "durable"
)

// Identification is the identification policy: which identifiers are asked,
// in which order. The first that names the subscriber wins; "not
// identifiable" moves on to the next; any other answer (operator
// unavailable, not eligible) ends the search.
type Identification struct {
	// Order lists identifiers by name: static, header, radius, virtual.
	// Unset, it is static, radius — plus header when Header is set, and
	// virtual in development (Config.Development), so a public gateway
	// never answers from the virtual operator, nor believes an MSISDN
	// header, unless told to.
	Order []string `yaml:"order"`
	// StaticBindings is the static bindings file (identifier "static").
	StaticBindings string `yaml:"static_bindings"`
	// Header is the MSISDN header set by a trusted enrichment proxy
	// (default X-MSISDN when "header" is named in Order). Setting it puts
	// "header" in the default Order: a trusted proxy that is only a
	// reverse proxy passes the header a device sent through unchanged, so
	// the header is believed only where an operator said a proxy sets it.
	Header string `yaml:"header"`
	// Timeout bounds one identification.
	Timeout Duration `yaml:"timeout"`
	// VirtualSlowDelay is how long the virtual operator's "slow" numbers take.
	VirtualSlowDelay Duration `yaml:"virtual_slow_delay"`
}

// Radius configures the RADIUS accounting feed from the packet gateways.
// The feed is off unless Clients names a clients file.
type Radius struct {
	// Clients is the file of packet gateways allowed to send accounting:
	// one `ADDRESS|PREFIX SECRET [NAME]` per line (SECRET literal, env:NAME
	// or file:PATH).
	Clients string `yaml:"clients"`
	// Listen is the UDP address of the accounting server.
	Listen string `yaml:"listen"`
	// DataDir holds the binding log; default DATA/radius.
	DataDir string `yaml:"data_dir"`
	// DefaultDomain is the APN searched for HTTP connections; "*" searches
	// every APN and answers only when exactly one subscriber owns the address.
	DefaultDomain string `yaml:"default_domain"`
	// IMSAPN is the APN whose sessions are ignored ("-" keeps them).
	IMSAPN string `yaml:"ims_apn"`
	// TombstoneTTL is how long a stopped session is remembered.
	TombstoneTTL Duration `yaml:"tombstone_ttl"`
}

// UEID configures the 3gpp-ueid lookup API (/3gpp-ueid/v1/get-msisdn and
// verify-msisdn). The API is not mounted unless TokenFile is set.
type UEID struct {
	// TokenFile is the credentials file: one `TOKEN AF-ID [OPERATION ...]`
	// per line, TOKEN literal or sha256:HEX (see ueid.ParseCredentials).
	TokenFile string `yaml:"token_file"`
}

// Directory is the operator directory: a table of operators with their
// MCC/MNC and number ranges, number portability overrides, and
// libphonenumber's range data behind both (see package directory).
type Directory struct {
	// Operators is the operator table; numgate's virtual operator (+990,
	// +999) is always added.
	Operators []directory.Entry `yaml:"operators"`
	// Ported maps E.164 numbers to the name of the operator now serving
	// them (a name of Operators).
	Ported map[string]string `yaml:"ported"`
	// PortedFile is a file of `NUMBER,OPERATOR` lines, for long lists.
	PortedFile string `yaml:"ported_file"`
}

// KPN configures the KPN Number Verify dialect.
type KPN struct {
	// Prefix is the path under which the dialect is served.
	Prefix string `yaml:"prefix"`
	// TokenLifetime is the access tokens' expires_in.
	TokenLifetime Duration `yaml:"token_lifetime"`
	// ResultRetention is how long after an attempt's deadline its result
	// can still be polled.
	ResultRetention Duration `yaml:"result_retention"`
}

// DQE configures the DQE ID Mobile dialect.
type DQE struct {
	// DefaultRegion is the CLDR region of numbers given in national form.
	DefaultRegion string `yaml:"default_region"`
	// ResultRetention is how long after an attempt's deadline its session
	// token can still be retrieved.
	ResultRetention Duration `yaml:"result_retention"`
	// Operators, when set, are the only operators served (by directory
	// name), each with its licences, scopes and maintenance switch.
	Operators map[string]DQEOperator `yaml:"operators"`
}

// DQEOperator says how one operator is served through DQE.
type DQEOperator struct {
	// Scopes served (default numVerify).
	Scopes []string `yaml:"scopes"`
	// Licences (client IDs) served; empty serves all.
	Licences []string `yaml:"licences"`
	// Unreachable switches the operator off (DQE error 16).
	Unreachable bool `yaml:"unreachable"`
}

// Vonage configures the Vonage dialect.
type Vonage struct {
	// MaxJWTLifetime bounds an application JWT's exp after receipt.
	MaxJWTLifetime Duration `yaml:"max_jwt_lifetime"`
}

// Webhooks tunes webhook delivery through the durable outbox.
type Webhooks struct {
	// Timeout bounds one try.
	Timeout Duration `yaml:"timeout"`
	// MaxTries is how many tries a delivery gets before it fails.
	MaxTries int `yaml:"max_tries"`
	// BaseDelay is the backoff after the first failed try (it doubles).
	BaseDelay Duration `yaml:"base_delay"`
	// MaxDelay caps the backoff.
	MaxDelay Duration `yaml:"max_delay"`
	// AllowPrivate lets webhooks reach loopback and private addresses.
	// Default: on in development (Config.Development), off otherwise.
	AllowPrivate *bool `yaml:"allow_private"`
}

// RateLimits bounds how often verification attempts start, in every
// dialect: "N/s", "N/m", "N/h", "N/DURATION" or "off". Unset, both are off
// in development (Config.Development: a developer's machine, CI) and
// DefaultPerClient / DefaultPerNumber otherwise.
type RateLimits struct {
	// PerClient limits attempts per client.
	PerClient string `yaml:"per_client"`
	// PerNumber limits attempts per claimed phone number.
	PerNumber string `yaml:"per_number"`
}

// Rate limits of a public listener when none is configured.
const (
	DefaultPerClient = "100/s"
	DefaultPerNumber = "10/m"
)

// Limits returns the rate limits in force: as configured, or the defaults
// (off in development).
func (c Config) Limits() (perClient, perNumber ratelimit.Limit, err error) {
	pc, pn := c.RateLimits.PerClient, c.RateLimits.PerNumber
	if !c.Development() {
		pc, pn = cmp.Or(pc, DefaultPerClient), cmp.Or(pn, DefaultPerNumber)
	}
	var errs []error
	if perClient, err = ratelimit.ParseLimit(pc); err != nil {
		errs = append(errs, fmt.Errorf("rate_limits.per_client: %w", err))
	}
	if perNumber, err = ratelimit.ParseLimit(pn); err != nil {
		errs = append(errs, fmt.Errorf("rate_limits.per_number: %w", err))
	}
	return perClient, perNumber, errors.Join(errs...)
}

// Attempts tunes the attempt life cycle.
type Attempts struct {
	// Lifetime is how long an attempt waits for its device.
	Lifetime Duration `yaml:"lifetime"`
	// Retain is how long finished attempts, and ended webhook deliveries,
	// are kept for audit before garbage collection.
	Retain Duration `yaml:"retain"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Identifier names known to the policy.
var identifierNames = []string{"static", "header", "radius", "virtual"}

// Default returns the configuration numgate runs with when nothing is set.
func Default() Config {
	return Config{
		Listen: "127.0.0.1:9091",
		Data:   "./numgate-data",
		Store:  Store{Driver: "sqlite"},
		Identification: Identification{
			Timeout:          Duration(5 * time.Second),
			VirtualSlowDelay: Duration(30 * time.Second),
		},
		Attempts: Attempts{Lifetime: Duration(5 * time.Minute), Retain: Duration(24 * time.Hour)},
		Radius:   Radius{Listen: ":1813", DefaultDomain: "*", IMSAPN: "ims", TombstoneTTL: Duration(5 * time.Minute)},
		KPN:      KPN{Prefix: "/kpn", TokenLifetime: Duration(time.Hour), ResultRetention: Duration(10 * time.Minute)},
		DQE:      DQE{DefaultRegion: "FR", ResultRetention: Duration(10 * time.Minute)},
		Vonage:   Vonage{MaxJWTLifetime: Duration(time.Hour)},
		Webhooks: Webhooks{Timeout: Duration(10 * time.Second), MaxTries: 12, BaseDelay: Duration(2 * time.Second), MaxDelay: Duration(10 * time.Minute)},
		Log:      Log{Level: "info", Format: "text"},
	}
}

// Load reads the file at path (if path is not empty) over the defaults,
// then applies the environment (getenv, usually os.Getenv).
//
// A file that parses but has values that do not decode (unknown keys, a
// malformed duration) still gives the rest of the configuration, with an
// error for which Partial is true: the caller can report it together with
// Validate's problems, every problem at once.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	var fileErr error
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		if err := Decode(raw, &c); err != nil {
			fileErr = fmt.Errorf("config %s: %w", path, err)
			if !Partial(fileErr) {
				return c, fileErr
			}
		}
	}
	c.ApplyEnv(getenv)
	return c, fileErr
}

// Partial reports whether err, from Load, is only about some of the file's
// values: the Config returned with it holds every other setting.
func Partial(err error) bool {
	var te *yaml.TypeError
	return errors.As(err, &te)
}

// Decode decodes YAML strictly into c: unknown keys are errors, and
// ${VAR} references are expanded from the environment first. Only the
// braced form is a reference: any other '$' (a password in a DSN, say) is
// kept as written.
func Decode(raw []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(expandEnv(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return withoutNumbers(err)
	}
	return nil
}

// digitRun is a run of digits that may be (part of) a phone number: 5 or
// more, the shortest E.164 number. A line number ("line 12") is kept.
var digitRun = regexp.MustCompile(`(line )?\+?[0-9]{5,}`)

// withoutNumbers returns a decoding error with the runs of digits its text
// quotes from the file withheld. The YAML decoder quotes keys and values
// ("mapping key \"+31612345678\" already defined", "field +31612345678
// not found", a misplaced directory.ported entry), and the error is
// printed at start: README (Privacy) allows no number in an error. A
// *yaml.TypeError stays one, so Partial still holds.
func withoutNumbers(err error) error {
	redact := func(s string) string {
		return digitRun.ReplaceAllStringFunc(s, func(m string) string {
			if strings.HasPrefix(m, "line ") {
				return m
			}
			return "(digits withheld)"
		})
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := &yaml.TypeError{Errors: make([]string, len(te.Errors))}
		for i, e := range te.Errors {
			out.Errors[i] = redact(e)
		}
		return out
	}
	if s := err.Error(); digitRun.MatchString(s) {
		return errors.New(redact(s))
	}
	return err
}

// envRef is a ${VAR} reference in a configuration file.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces each ${VAR} in raw with the variable's value (empty
// when unset).
func expandEnv(raw []byte) []byte {
	return envRef.ReplaceAllFunc(raw, func(m []byte) []byte {
		return []byte(os.Getenv(string(envRef.FindSubmatch(m)[1])))
	})
}

// ApplyEnv overrides settings from NUMGATE_* environment variables.
func (c *Config) ApplyEnv(getenv func(string) string) {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("NUMGATE_LISTEN", &c.Listen)
	set("NUMGATE_DATA", &c.Data)
	set("NUMGATE_ISSUER", &c.Issuer)
	set("NUMGATE_STORE_DRIVER", &c.Store.Driver)
	set("NUMGATE_STORE_DSN", &c.Store.DSN)
	set("NUMGATE_STORE_FLOWS", &c.Store.Flows)
	set("NUMGATE_STATIC_BINDINGS", &c.Identification.StaticBindings)
	set("NUMGATE_LOG_LEVEL", &c.Log.Level)
	set("NUMGATE_RADIUS_CLIENTS", &c.Radius.Clients)
	set("NUMGATE_RADIUS_LISTEN", &c.Radius.Listen)
	set("NUMGATE_RADIUS_DATA_DIR", &c.Radius.DataDir)
	set("NUMGATE_RADIUS_DEFAULT_DOMAIN", &c.Radius.DefaultDomain)
	set("NUMGATE_RADIUS_IMS_APN", &c.Radius.IMSAPN)
	set("NUMGATE_LOG_FORMAT", &c.Log.Format)
	set("NUMGATE_UEID_TOKEN_FILE", &c.UEID.TokenFile)
	set("NUMGATE_KPN_PREFIX", &c.KPN.Prefix)
	set("NUMGATE_RATE_LIMIT_PER_CLIENT", &c.RateLimits.PerClient)
	set("NUMGATE_RATE_LIMIT_PER_NUMBER", &c.RateLimits.PerNumber)
	set("NUMGATE_DIRECTORY_PORTED_FILE", &c.Directory.PortedFile)
	if v := getenv("NUMGATE_PROXY_PROTOCOL"); v != "" {
		c.ProxyProtocol = splitList(v)
	}
	if v := getenv("NUMGATE_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxies = splitList(v)
	}
	if v := getenv("NUMGATE_IDENTIFICATION_ORDER"); v != "" {
		c.Identification.Order = splitList(v)
	}
}

func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

// RadiusDataDir returns the RADIUS binding log directory.
func (c Config) RadiusDataDir() string {
	if c.Radius.DataDir != "" {
		return c.Radius.DataDir
	}
	return filepath.Join(c.Data, "radius")
}

// IssuerURL returns the issuer, defaulting to http://LISTEN.
func (c Config) IssuerURL() string {
	if c.Issuer != "" {
		return strings.TrimSuffix(c.Issuer, "/")
	}
	return "http://" + c.Listen
}

// IdentifierOrder returns the identification policy's order: as configured,
// or by default static, header (only when identification.header names the
// enrichment header), radius, and virtual only in development (a
// developer's machine or CI).
func (c Config) IdentifierOrder() []string {
	if len(c.Identification.Order) > 0 {
		return c.Identification.Order
	}
	order := []string{"static"}
	if c.Identification.Header != "" {
		order = append(order, "header")
	}
	order = append(order, "radius")
	if c.Development() {
		order = append(order, "virtual")
	}
	return order
}

// WebhooksAllowPrivate reports whether webhooks may reach loopback and
// private addresses.
func (c Config) WebhooksAllowPrivate() bool {
	if c.Webhooks.AllowPrivate != nil {
		return *c.Webhooks.AllowPrivate
	}
	return c.Development()
}

// DemoClientEnabled reports whether the demo client is registered.
func (c Config) DemoClientEnabled() bool {
	if c.DemoClient != nil {
		return *c.DemoClient
	}
	return c.Development()
}

// Development reports whether the defaults of a developer's machine (or
// CI) apply: the demo client, the virtual operator, webhooks to private
// addresses, no rate limits. That is when Listen is a loopback address and
// nothing is set up to relay outside traffic to it — no trusted proxies,
// no PROXY protocol: numgate on 127.0.0.1 behind a reverse proxy on the
// same host is a production deployment.
func (c Config) Development() bool {
	return c.loopback() && len(c.TrustedProxies) == 0 && len(c.ProxyProtocol) == 0
}

// loopback reports whether Listen is a loopback address.
func (c Config) loopback() bool {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// TrustedPrefixes parses TrustedProxies (addresses or CIDR prefixes).
func (c Config) TrustedPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("trusted_proxies", c.TrustedProxies)
}

// ProxyProtocolPrefixes parses ProxyProtocol (addresses or CIDR prefixes).
func (c Config) ProxyProtocolPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("proxy_protocol", c.ProxyProtocol)
}

// parsePrefixes parses a list of addresses and CIDR prefixes, named key in
// errors. IPv4-mapped IPv6 forms (::ffff:10.0.0.1, ::ffff:10.0.0.0/104) are
// taken as the IPv4 address or prefix they map, as connections' addresses
// are unmapped before they are compared.
func parsePrefixes(key string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is neither an address nor a CIDR prefix", key, s))
			continue
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, errors.Join(errs...)
}

// ValidateStore checks only what opening the store needs (data directory,
// store driver and DSN): for commands such as `numgate clients` that never
// serve, so that a problem in the serving settings does not stop them.
func (c Config) ValidateStore() error { return errors.Join(c.storeProblems()...) }

// storeProblems lists the problems of the store settings.
func (c Config) storeProblems() []error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("data: must not be empty"))
	}
	switch c.Store.Driver {
	case "sqlite":
		// A DSN meant for PostgreSQL with the driver left at its default
		// would run every replica on a private SQLite file.
		if c.Store.DSN != "" {
			errs = append(errs, errors.New("store.dsn: set, but store.driver is sqlite (file DATA/numgate.db); for PostgreSQL set store.driver: postgres"))
		}
	case "postgres":
		if c.Store.DSN == "" {
			errs = append(errs, errors.New("store.dsn: required with driver postgres"))
		}
	default:
		errs = append(errs, fmt.Errorf("store.driver: %q is not sqlite or postgres", c.Store.Driver))
	}
	switch c.Store.Flows {
	case "", FlowsDurable:
	case FlowsMemory:
		if c.Store.Driver == "postgres" {
			errs = append(errs, errors.New("store.flows: memory needs store.driver sqlite: PostgreSQL replicas must share the flows, so they are kept durable"))
		}
	default:
		errs = append(errs, fmt.Errorf("store.flows: %q is not memory or durable", c.Store.Flows))
	}
	return errs
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if host, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen: %q is not HOST:PORT", c.Listen)
	} else if a, aerr := netip.ParseAddr(host); c.Issuer == "" && (host == "" || aerr == nil && a.IsUnspecified()) {
		// The default issuer, http://LISTEN, would name no host a client
		// can reach (no host, or 0.0.0.0 / ::).
		add("issuer: required when listen (%q) names no single host; for example https://nv.example.net or http://127.0.0.1:%s", c.Listen, port)
	}
	errs = append(errs, c.storeProblems()...)
	if c.Issuer != "" {
		u, err := url.Parse(c.Issuer)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			add("issuer: %q must be an http(s) URL with a host and no query or fragment", c.Issuer)
		}
	}
	if _, err := c.TrustedPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.ProxyProtocolPrefixes(); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for _, n := range c.Identification.Order {
		if !slices.Contains(identifierNames, n) {
			add("identification.order: unknown identifier %q (known: %s)", n, strings.Join(identifierNames, ", "))
		}
		if seen[n] {
			add("identification.order: %q listed twice", n)
		}
		seen[n] = true
	}
	if c.Identification.Timeout <= 0 {
		add("identification.timeout: must be positive")
	}
	if c.Attempts.Lifetime < Duration(10*time.Second) || c.Attempts.Lifetime > Duration(time.Hour) {
		add("attempts.lifetime: must be between 10s and 1h")
	}
	if c.Radius.Clients != "" {
		if _, _, err := net.SplitHostPort(c.Radius.Listen); err != nil {
			add("radius.listen: %q is not HOST:PORT", c.Radius.Listen)
		}
		if c.Radius.TombstoneTTL < 0 {
			add("radius.tombstone_ttl: must not be negative")
		}
	}
	if c.Attempts.Retain < 0 {
		add("attempts.retain: must not be negative")
	}
	if p := c.KPN.Prefix; !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, "?#{} ") {
		add("kpn.prefix: %q must start with / and not end with one (for example /kpn)", p)
	}
	if c.KPN.TokenLifetime < Duration(time.Minute) || c.KPN.TokenLifetime > Duration(24*time.Hour) {
		add("kpn.token_lifetime: must be between 1m and 24h")
	}
	if c.KPN.ResultRetention < 0 || c.DQE.ResultRetention < 0 {
		add("kpn.result_retention, dqe.result_retention: must not be negative")
	}
	// Garbage collection deletes attempts attempts.retain past their
	// deadline: a shorter retain would delete results the dialects
	// promise to keep readable (polls and retrievals would find nothing).
	if keep := max(c.KPN.ResultRetention, c.DQE.ResultRetention); c.Attempts.Retain >= 0 && c.Attempts.Retain < keep {
		add("attempts.retain: %s is shorter than the results' retention (kpn/dqe result_retention, %s): results would be deleted while clients may still read them",
			c.Attempts.Retain.D(), keep.D())
	}
	if len(c.DQE.DefaultRegion) != 2 || strings.ToUpper(c.DQE.DefaultRegion) != c.DQE.DefaultRegion {
		add("dqe.default_region: %q is not a two-letter region code like FR", c.DQE.DefaultRegion)
	}
	if c.Vonage.MaxJWTLifetime <= 0 {
		add("vonage.max_jwt_lifetime: must be positive")
	}
	if c.Webhooks.Timeout <= 0 || c.Webhooks.BaseDelay <= 0 || c.Webhooks.MaxDelay < c.Webhooks.BaseDelay {
		add("webhooks: timeout and base_delay must be positive, max_delay at least base_delay")
	}
	if _, _, err := c.Limits(); err != nil {
		errs = append(errs, err)
	}
	if c.Webhooks.MaxTries < 1 || c.Webhooks.MaxTries > 100 {
		add("webhooks.max_tries: must be between 1 and 100")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		add("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format: %q is not text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration written as "5s", "2m" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		// A *yaml.TypeError: the decoder notes it and goes on, so every
		// problem of the file is reported at once.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration like 5s or 2m", n.Line, s)}}
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
