package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/numgate/numgate/examples/vonage/tutorial"
	"github.com/numgate/numgate/internal/dialect/vonage/vonagetest"
)

// TestEndToEnd runs the tutorial in-process on loopback: numgate with its
// Vonage dialect and virtual operator (TLS, trusted through -ca), the
// tutorial backend, and this CLI, once per outcome.
func TestEndToEnd(t *testing.T) {
	gw := vonagetest.Start(t, vonagetest.Options{})
	caFile := filepath.Join(t.TempDir(), "numgate-ca.pem")
	if err := os.WriteFile(caFile, gw.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	backend := httptest.NewServer(mux)
	t.Cleanup(backend.Close)
	app := gw.Register(t, "cli-e2e", backend.URL+"/callback")
	hc, err := tutorial.NewHTTPClient(caFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tutorial.NewBackend(tutorial.BackendConfig{
		APIURL: gw.URL, ApplicationID: app.ID, PrivateKey: app.Key, RedirectURI: app.RedirectURI, HTTP: hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", b)

	cases := []struct {
		number string
		code   int
		out    string
	}{
		{"+99012345678", 0, "✔ +99012345678 is verified"},
		{"+99012345677", 1, "✘ +99012345677 is not verified"},
		{"+99011111199", 2, "could not be verified: temporarily_unavailable"},
		{"+99900000003", 2, "could not be verified: login_required"},
	}
	for _, c := range cases {
		t.Run(c.number, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-backend", backend.URL, "-ca", caFile, c.number}, &stdout, &stderr)
			if code != c.code || !strings.Contains(stdout.String(), c.out) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout.String(), stderr.String(), c.code, c.out)
			}
		})
	}

	t.Run("without the gateway's CA", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		// The backend trusts numgate; the device (this CLI) does not, and fails.
		if code := run(context.Background(), []string{"-backend", backend.URL, "+99012345678"}, &stdout, &stderr); code != 2 ||
			!strings.Contains(stderr.String(), "certificate") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
	})
	t.Run("usage", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
	})
	for _, n := range []string{"+99012345678", "99012345677"} {
		if strings.Contains(gw.Logs.String(), n) {
			t.Errorf("numgate logged a phone number")
		}
	}
}
