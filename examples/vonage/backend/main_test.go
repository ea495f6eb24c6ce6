package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numgate/numgate/examples/vonage/tutorial"
	"github.com/numgate/numgate/internal/dialect/vonage/vonagetest"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/store"
)

// syncBuffer collects the backend's log from its serving goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServe runs the command as configured by its flags (key file, CA
// file, API URL) on loopback against numgate, with the tutorial's client
// as the device.
func TestServe(t *testing.T) {
	gw := vonagetest.Start(t, vonagetest.Options{})
	dir := t.TempDir()
	caFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "private.key")
	if err := os.WriteFile(caFile, gw.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backendURL := "http://" + ln.Addr().String()
	app := gw.Register(t, "backend-e2e", backendURL+"/callback")
	if err := os.WriteFile(keyFile, app.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	var logs syncBuffer
	o, err := parseFlags([]string{"-api", gw.URL, "-application-id", app.ID, "-private-key", keyFile, "-ca", caFile}, &logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, o, &logs) }()

	device, err := tutorial.NewHTTPClient(caFile)
	if err != nil {
		t.Fatal(err)
	}
	authURL, err := tutorial.Login(ctx, device, backendURL, "+99012345678")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := tutorial.Auth(ctx, device, authURL); !ok || err != nil {
		t.Fatalf("Auth = %v, %v", ok, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(logs.String(), "99012345678") {
		t.Errorf("the backend logged the phone number:\n%s", logs.String())
	}
}

func TestFlags(t *testing.T) {
	t.Setenv("VONAGE_APPLICATION_ID", "")
	t.Setenv("VONAGE_PRIVATE_KEY_PATH", "")
	var stderr bytes.Buffer
	if code := run(context.Background(), nil, &stderr, &stderr); code != 2 || !strings.Contains(stderr.String(), "-application-id and -private-key are required") {
		t.Errorf("no application: exit %d, %q", code, stderr.String())
	}
	if _, err := parseFlags([]string{"-application-id", "a", "-private-key", "k", "-tls-cert", "c"}, &stderr); err == nil {
		t.Error("-tls-cert without -tls-key was accepted")
	}
	t.Setenv("VONAGE_APPLICATION_ID", "from-env")
	t.Setenv("VONAGE_PRIVATE_KEY_PATH", "/dev/null")
	if o, err := parseFlags(nil, &stderr); err != nil || o.appID != "from-env" || o.api != "https://api-eu.vonage.com" {
		t.Errorf("environment: %+v, %v", o, err)
	}
}

func TestPrintJWKS(t *testing.T) {
	gw := vonagetest.Start(t, vonagetest.Options{})
	app := gw.Register(t, "jwks-app", "http://127.0.0.1/callback")
	keyFile := filepath.Join(t.TempDir(), "private.key")
	if err := os.WriteFile(keyFile, app.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-print-jwks", "-private-key", keyFile}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(stdout.Bytes(), &set); err != nil || len(set.Keys) != 1 || !set.Keys[0].IsPublic() {
		t.Fatalf("not a public JWK Set: %v\n%s", err, stdout.String())
	}
	if err := oauth.ValidateClient(store.Client{ID: "x", JWKS: stdout.Bytes(), RedirectURIs: []string{"https://a.example/cb"}}); err != nil {
		t.Fatalf("numgate would not register it: %v", err)
	}
}
