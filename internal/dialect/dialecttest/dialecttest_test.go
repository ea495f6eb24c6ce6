package dialecttest_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
	"github.com/numgate/numgate/internal/store"
)

func TestGateway(t *testing.T) {
	clk := dialecttest.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	for _, tls := range []bool{false, true} {
		g := dialecttest.Start(t, dialecttest.Options{Now: clk.Now, TLS: tls})
		g.Mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Got", r.Header.Get("X-Send"))
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		})
		g.Mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"a":1}`)) })

		r := g.Request(t, http.MethodPost, "/echo", "body", "X-Send", "v")
		if r.Status != http.StatusFound || r.Header.Get("X-Got") != "v" {
			t.Errorf("TLS %v: HTTP %d, X-Got %q: the redirect was followed or the header lost", tls, r.Status, r.Header.Get("X-Got"))
		}
		if m := g.Request(t, http.MethodGet, g.URL+"/json", "").JSON(t); m["a"] != 1.0 {
			t.Errorf("TLS %v: absolute URL: %v", tls, m)
		}

		g.AddClient(t, store.Client{ID: "c", RedirectURIs: []string{"https://app.example/cb"}}, "s3cret")
		c, err := g.Store.GetClient(t.Context(), "c")
		if err != nil || len(c.SecretHash) == 0 || !c.CreatedAt.Equal(clk.Now()) {
			t.Errorf("TLS %v: client %+v, %v", tls, c, err)
		}
		if n := g.OpenAttempts(t); n != 0 {
			t.Errorf("TLS %v: %d open attempts", tls, n)
		}
	}
	clk.Add(time.Minute)
	if got := clk.Now(); !got.Equal(time.Date(2026, 11, 23, 12, 1, 0, 0, time.UTC)) {
		t.Errorf("clock at %v", got)
	}
}

func TestGolden(t *testing.T) {
	t.Chdir(t.TempDir())
	dialecttest.Golden(t, "sub/x.golden", []byte("one\n"), true)
	if b, err := os.ReadFile(filepath.Join("testdata", "sub", "x.golden")); err != nil || string(b) != "one\n" {
		t.Fatalf("%q, %v", b, err)
	}
	dialecttest.Golden(t, "sub/x.golden", []byte("one\n"), false)
}
