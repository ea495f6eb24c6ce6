package radius

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// NASClient is a RADIUS client allowed to send accounting: the packet
// gateways (PGW, GGSN, SMF) or their RADIUS proxies, by source address.
type NASClient struct {
	// Prefix is the client's source address or network. When several
	// prefixes hold an address, the longest wins.
	Prefix netip.Prefix
	// Secret is the shared secret (RFC 2865 section 3).
	Secret string
	// Name names the client in logs and in gateway identities; default the
	// prefix. A gateway's bindings are keyed by client name and NAS identity,
	// so one client cannot end another client's sessions.
	Name string
}

// LoadClients reads a clients file (see ParseClients), resolving env: from
// the process environment and file: from the file system.
func LoadClients(path string) ([]NASClient, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("radius: clients file: %w", err)
	}
	defer f.Close()
	return ParseClients(f, os.LookupEnv, os.ReadFile)
}

// ParseClients parses the RADIUS clients file format: one client per line,
// blank lines and lines starting with '#' ignored,
//
//	<address or prefix> <secret> [name]
//
// e.g.
//
//	# P-GW cluster A, secret from the environment
//	10.20.0.0/16   env:NUMGATE_RADIUS_SECRET_A   pgw-a
//	192.0.2.7      file:/run/secrets/pgw7
//	2001:db8::7    literal-secret-without-spaces
//
// A secret is written literally, or as env:NAME (the value of an environment
// variable) or file:PATH (the file's contents, trailing newline removed).
// Every problem is reported, with line numbers but never a secret.
func ParseClients(r io.Reader, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) ([]NASClient, error) {
	var (
		out  []NASClient
		errs []error
		seen = map[netip.Prefix]int{}
	)
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 2 || len(f) > 3 {
			errs = append(errs, fmt.Errorf("line %d: want <prefix> <secret> [name]", line))
			continue
		}
		p, err := parsePrefix(f[0])
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %q is not an address or prefix", line, f[0]))
			continue
		}
		secret, err := resolveSecret(f[1], lookupEnv, readFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		c := NASClient{Prefix: p, Secret: secret, Name: p.String()}
		if len(f) == 3 {
			c.Name = f[2]
		}
		if prev, ok := seen[p]; ok {
			errs = append(errs, fmt.Errorf("line %d: prefix %s already defined on line %d", line, p, prev))
			continue
		}
		seen[p] = line
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("radius: clients: %w", err)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func resolveSecret(s string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	switch {
	case strings.HasPrefix(s, "env:"):
		v, ok := lookupEnv(strings.TrimPrefix(s, "env:"))
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", strings.TrimPrefix(s, "env:"))
		}
		return v, nil
	case strings.HasPrefix(s, "file:"):
		b, err := readFile(strings.TrimPrefix(s, "file:"))
		if err != nil {
			return "", fmt.Errorf("secret file: %w", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", errors.New("secret file is empty")
		}
		return v, nil
	}
	return s, nil
}

// clientSet finds the client of a source address (longest prefix first).
type clientSet []NASClient

func newClientSet(cs []NASClient) clientSet {
	out := slices.Clone(cs)
	for i := range out {
		out[i].Prefix = out[i].Prefix.Masked()
		if out[i].Name == "" {
			out[i].Name = out[i].Prefix.String()
		}
	}
	slices.SortStableFunc(out, func(a, b NASClient) int { return b.Prefix.Bits() - a.Prefix.Bits() })
	return out
}

func (cs clientSet) find(a netip.Addr) *NASClient {
	a = a.Unmap()
	for i := range cs {
		if cs[i].Prefix.Contains(a) {
			return &cs[i]
		}
	}
	return nil
}
