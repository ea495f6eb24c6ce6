package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/numgate/numgate/client"
	"github.com/numgate/numgate/internal/oauth"
)

// runCLI runs one numgate command in-process with env as its environment
// and returns its stdout, stderr and error.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRoot(&stdout, &stderr, func(k string) string { return env[k] })
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

// TestVerifyErrorNeverNamesTheNumber: when the device's /authorize request
// fails (here: it outlives --timeout), the error must not print the
// authorize URL's query, whose login_hint is the phone number.
func TestVerifyErrorNeverNamesTheNumber(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{
				"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token",
			})
		case "/authorize":
			<-r.Context().Done() // a slow network: never answers in time
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	const number = "+99900000005"
	stdout, stderr, err := runCLI(t, nil, "verify", "--server", srv.URL, "--timeout", "300ms", number)
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("verify against a stalled /authorize: err %v", err)
	}
	for _, s := range []string{err.Error(), stdout, stderr} {
		if strings.Contains(s, strings.TrimPrefix(number, "+")) {
			t.Errorf("the phone number reached the output: %q", s)
		}
	}
	if !strings.Contains(err.Error(), srv.URL+"/authorize") {
		t.Errorf("the error no longer says which request failed: %v", err)
	}
}

// TestClientsRejectAnInvalidStore: the clients commands check the
// configuration as serve does. A misspelt driver used to fall back to
// SQLite (writing clients where the gateway never reads them) and postgres
// without a DSN to connect to libpq's default database and migrate there.
func TestClientsRejectAnInvalidStore(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"NUMGATE_STORE_DRIVER": "postgress"}, "store.driver"},
		{map[string]string{"NUMGATE_STORE_DRIVER": "postgres", "NUMGATE_STORE_DSN": ""}, "store.dsn"},
	} {
		for _, args := range [][]string{
			{"clients", "list", "--data", data},
			{"clients", "add", "--data", data, "--id", "shop", "--redirect-uri", "https://shop.example/cb"},
			{"clients", "remove", "--data", data, "shop"},
		} {
			_, _, err := runCLI(t, tc.env, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v with %v: err %v, want one naming %s", args, tc.env, err, tc.want)
			}
		}
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command created the data directory: %v", err)
	}
}

// TestVerifyHelpStatesTheExitCodes: the help says what the command does —
// a device the network cannot identify is "not verified", exit 1 (as the
// README and TestBinaryContract have it), not a failed flow.
func TestVerifyHelpStatesTheExitCodes(t *testing.T) {
	out, _, err := runCLI(t, nil, "verify", "--help")
	if err != nil {
		t.Fatal(err)
	}
	help := strings.Join(strings.Fields(out), " ")
	if !strings.Contains(help, "1: not verified (or the network could not identify the device") ||
		strings.Contains(help, "2: the flow failed (for example the device could not be identified)") {
		t.Errorf("verify --help misstates the exit codes:\n%s", out)
	}
}

// TestServeReportsEveryConfigProblemAtOnce: a malformed duration used to
// stop decoding, hiding the file's other problems (an unknown key, another
// duration) and every check of Validate behind the first one.
func TestServeReportsEveryConfigProblemAtOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "numgate.yml")
	yml := "bogus: 1\nidentification: {timeout: 5}\nattempts: {lifetime: forever}\nlog: {level: loud}\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	fileProblems := []string{"field bogus not found", `"5" is not a duration`, `"forever" is not a duration`}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		// serve checks everything; clients the file and its store settings.
		{[]string{"serve", "--config", path, "--data", filepath.Join(dir, "data")}, append(fileProblems, `log.level: "loud"`)},
		{[]string{"clients", "list", "--config", path, "--data", filepath.Join(dir, "data")}, fileProblems},
	} {
		args := tc.args
		_, _, err := runCLI(t, nil, args...)
		if err == nil {
			t.Fatalf("%v: no error", args)
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: error does not mention %s:\n%v", args, want, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command created the data directory: %v", err)
	}
}

// TestStoreErrorNamesTheDatabaseFile: SQLite's "unable to open database
// file" alone does not tell an operator which file to look at.
func TestStoreErrorNamesTheDatabaseFile(t *testing.T) {
	data := t.TempDir()
	db := filepath.Join(data, "numgate.db")
	if err := os.Mkdir(db, 0o700); err != nil { // a directory where the database should be
		t.Fatal(err)
	}
	_, _, err := runCLI(t, nil, "clients", "list", "--data", data)
	if err == nil || !strings.Contains(err.Error(), db) {
		t.Errorf("clients list with an unopenable database: %v; want an error naming %s", err, db)
	}
}

// TestVerifyRefusesAnUnknownAPIVersion: an --api-version numgate does not
// serve used to run discovery, /authorize and /token (an attempt started
// for nothing) and then fail with a bare "camara: HTTP 404".
func TestVerifyRefusesAnUnknownAPIVersion(t *testing.T) {
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		http.NotFound(w, r)
	}))
	defer srv.Close()
	stdout, _, err := runCLI(t, nil, "verify", "--server", srv.URL, "--api-version", "v3", "+99012345678")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--api-version") {
		t.Errorf("verify --api-version v3: err %v, want one about --api-version", err)
	}
	if requests != 0 || stdout != "" {
		t.Errorf("verify --api-version v3 ran the flow: %d requests, output %q", requests, stdout)
	}
}

// TestServeThatCannotListenLeavesTheStoreAlone: a serve that fails because
// its address is taken (the gateway already runs there) used to open the
// store first and apply its start-up changes — here, retiring the demo
// client the running gateway still serves — before it found out.
func TestServeThatCannotListenLeavesTheStoreAlone(t *testing.T) {
	data := t.TempDir()
	if _, _, err := runCLI(t, nil, "clients", "add", "--data", data, "--id", client.DemoClientID,
		"--secret", client.DemoClientSecret, "--redirect-uri", client.DemoRedirectURI); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	// Trusted proxies: not development, so a start retires the demo client.
	env := map[string]string{"NUMGATE_TRUSTED_PROXIES": "10.0.0.0/8"}
	_, _, err = runCLI(t, env, "serve", "--listen", taken.Addr().String(), "--data", data)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("serve on a taken address: %v", err)
	}
	out, _, err := runCLI(t, nil, "clients", "list", "--data", data)
	if err != nil || !strings.Contains(out, client.DemoClientID) {
		t.Errorf("the failed serve changed the clients (err %v):\n%s", err, out)
	}
}

// TestClientsListNeedsADatabase: list and remove on a data directory with
// no database (a mistyped --data) fail and create nothing, rather than
// report an empty registry; add creates the database.
func TestClientsListNeedsADatabase(t *testing.T) {
	data := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{{"clients", "list", "--data", data}, {"clients", "remove", "--data", data, "some-client"}} {
		_, _, err := runCLI(t, nil, args...)
		if err == nil || !strings.Contains(err.Error(), "no numgate database in "+data) {
			t.Errorf("%v: %v; want the missing database named", args, err)
		}
		if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v created %s (%v)", args, data, err)
		}
	}
	if _, _, err := runCLI(t, nil, "clients", "add", "--data", data, "--id", "rp", "--redirect-uri", "https://rp.example/cb"); err != nil {
		t.Fatalf("clients add on a new data directory: %v", err)
	}
	out, _, err := runCLI(t, nil, "clients", "list", "--data", data)
	if err != nil || !strings.Contains(out, "rp") {
		t.Errorf("clients list after add: %q, %v", out, err)
	}
}

// TestClientsIgnoreServingSettings: clients open the store and nothing
// else, so a serving setting that serve alone would refuse (listen with no
// host and no issuer, as a container's environment may have) does not stop
// them.
func TestClientsIgnoreServingSettings(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"NUMGATE_LISTEN": ":9091"}
	if _, _, err := runCLI(t, env, "clients", "add", "--data", data, "--id", "rp", "--redirect-uri", "https://rp.example/cb"); err != nil {
		t.Fatalf("clients add with NUMGATE_LISTEN=:9091: %v", err)
	}
	if _, _, err := runCLI(t, env, "serve", "--data", data); err == nil || !strings.Contains(err.Error(), "issuer: required") {
		t.Errorf("serve with NUMGATE_LISTEN=:9091 and no issuer: %v, want the issuer required", err)
	}
}

// TestKeysRotate: keys list names the signing pair; rotate makes a fresh
// pair sign and keeps the previous one published; on a data directory
// without a key file both say so and create nothing.
func TestKeysRotate(t *testing.T) {
	data := t.TempDir()
	if _, err := oauth.LoadOrCreateKeys(filepath.Join(data, "signing-keys.json")); err != nil { // as serve's first start does
		t.Fatal(err)
	}
	before, _, err := runCLI(t, nil, "keys", "list", "--data", data)
	if err != nil || strings.Count(before, "signs") != 2 || strings.Contains(before, "published") {
		t.Fatalf("keys list: %v\n%s", err, before)
	}
	out, _, err := runCLI(t, nil, "keys", "rotate", "--data", data)
	if err != nil || !strings.Contains(out, "new signing keys: RS256 ") || !strings.Contains(out, "SIGHUP") {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	after, _, err := runCLI(t, nil, "keys", "list", "--data", data)
	if err != nil || strings.Count(after, "signs") != 2 || strings.Count(after, "published") != 2 {
		t.Fatalf("keys list after rotate: %v\n%s", err, after)
	}
	for _, line := range strings.Split(strings.TrimSpace(before), "\n")[1:] {
		kid := strings.Fields(line)[0]
		if !strings.Contains(after, kid+"  ") || strings.Contains(after, kid+"  RS256  signs") || strings.Contains(after, kid+"  ES256  signs") {
			t.Errorf("the previous key %s is not kept as published:\n%s", kid, after)
		}
	}
	missing := filepath.Join(t.TempDir(), "typo")
	for _, sub := range []string{"list", "rotate"} {
		if _, _, err := runCLI(t, nil, "keys", sub, "--data", missing); err == nil || !strings.Contains(err.Error(), "no signing key file in "+missing) {
			t.Errorf("keys %s on a directory without keys: %v", sub, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("keys created %s", missing)
	}
}
