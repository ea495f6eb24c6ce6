package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
)

// TestBinaryContract builds numgate and drives it only through its CLI
// contract, as outside checks do: serve, verify (exit codes), clients,
// virtual-numbers, and a clean stop on SIGTERM.
func TestBinaryContract(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "numgate")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	data := filepath.Join(dir, "data")
	bindings := filepath.Join(dir, "bindings")
	if err := os.WriteFile(bindings, []byte("# none yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var logs dialecttest.LogBuffer // read while serve writes
	serve := exec.Command(bin, "serve", "--listen", addr, "--data", data, "--static-bindings", bindings)
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- serve.Wait() }()
	t.Cleanup(func() { _ = serve.Process.Kill() })
	waitHealthy(t, "http://"+addr)

	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	server := "http://" + addr
	cases := []struct {
		number string
		exit   int
		want   string
	}{
		{"+99012345678", 0, "verdict: VERIFIED"},
		{"+99012345677", 1, "verdict: NOT VERIFIED (the device has another number)"},
		{"+99011111199", 1, "temporarily_unavailable"},
		{"+99900000003", 1, "NOT VERIFIED (the network did not identify the device: oauth: login_required"},
		{"+99900000007", 1, "NOT VERIFIED (the network identified the device but refused to verify it: oauth: access_denied"},
		{"0612345678", 2, "E.164"},
	}
	for _, c := range cases {
		out, code := run("verify", "--server", server, c.number)
		if code != c.exit || !strings.Contains(out, c.want) {
			t.Errorf("verify %s: exit %d, want %d; output:\n%s", c.number, code, c.exit, out)
		}
	}
	if out, code := run("verify", "--server", server, "+99012345678"); code != 0 || !strings.Contains(out, "5. verify") {
		t.Errorf("verify does not print its steps:\n%s", out)
	}

	out, code := run("clients", "add", "--data", data, "--id", "shop", "--redirect-uri", "https://shop.example/cb")
	if code != 0 || !strings.Contains(out, "client secret (shown once): ") {
		t.Fatalf("clients add: %d\n%s", code, out)
	}
	if out, code := run("clients", "add", "--data", data, "--id", "shop", "--redirect-uri", "https://shop.example/cb"); code == 0 || !strings.Contains(out, "already exists") {
		t.Errorf("duplicate add: %d\n%s", code, out)
	}
	if out, code := run("clients", "add", "--data", data, "--id", "plain", "--redirect-uri", "http://shop.example/cb"); code == 0 || !strings.Contains(out, "https") {
		t.Errorf("http redirect on a public host accepted: %d\n%s", code, out)
	}
	if out, _ := run("clients", "list", "--data", data); !strings.Contains(out, "shop") || !strings.Contains(out, "numgate-demo") {
		t.Errorf("clients list:\n%s", out)
	}
	if out, code := run("clients", "remove", "--data", data, "shop"); code != 0 {
		t.Errorf("remove: %d %s", code, out)
	}
	if out, _ := run("clients", "list", "--data", data); strings.Contains(out, "shop") {
		t.Errorf("removed client still listed:\n%s", out)
	}
	if out, code := run("virtual-numbers"); code != 0 || !strings.Contains(out, "+99012345678") {
		t.Errorf("virtual-numbers: %d\n%s", code, out)
	}

	// SIGHUP re-reads the static bindings and leaves the gateway running.
	if err := serve.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "SIGHUP: reloaded") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if out, code := run("verify", "--server", server, "+99012345678"); code != 0 {
		t.Fatalf("verify after SIGHUP: exit %d\n%s\nlogs:\n%s", code, out, logs.String())
	}
	if !strings.Contains(logs.String(), "SIGHUP: reloaded") {
		t.Errorf("no reload logged after SIGHUP:\n%s", logs.String())
	}

	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	for _, n := range []string{"99012345678", "99012345677", "99011111199"} {
		if strings.Contains(logs.String(), n) {
			t.Fatalf("a phone number reached the gateway's log:\n%s", logs.String())
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal(fmt.Sprintf("gateway at %s never became healthy", base))
}
