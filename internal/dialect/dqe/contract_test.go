package dqe_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/dialect/dialecttest"
	"github.com/numgate/numgate/internal/dialect/dqe"
)

// sameAsSeed checks a response body byte for byte (keys, order, values)
// against a seed example.
func sameAsSeed(t *testing.T, r reply, name string) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Errorf("HTTP %d, want 200", r.Status)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if got, want := bytes.TrimSpace(r.Body), dialecttest.SeedBody(t, name); !bytes.Equal(got, want) {
		t.Errorf("body differs from the seed's example %s:\ngot  %s\nwant %s", name, got, want)
	}
}

var deviceURLPattern = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/IDMOBILE/device/[A-Za-z0-9_-]{43}$`)

// TestContractInitiate sends step 1 exactly as the seed writes it, by GET
// query and by form POST, and compares the answer with the seed's example.
func TestContractInitiate(t *testing.T) {
	h := newHarness(t, func(c *dqe.Config) {
		c.Operator = func(string) string { return "SFR" }
	})
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			// GET /IDMOBILE/?number={NUM}&token={TOKEN}&name={NAME}&licence={LICENCE_CODE}&scope=numVerify&redirect_uri={URL_REDIRECT}
			p := initiateParams("+33612345671")
			var r reply
			if method == http.MethodGet {
				r = h.get("/IDMOBILE/", p)
			} else {
				r = h.post("/IDMOBILE/", p)
			}
			m := r.JSON(t)
			u, _ := m["url"].(string)
			if !deviceURLPattern.MatchString(u) {
				t.Fatalf("url %q is not a device URL", u)
			}
			// The seed masks its url; compare everything else exactly.
			masked := bytes.Replace(r.Body, []byte(u), []byte("htt***fr.fr/api/a**l8ET6UMbsaG0AOm5FsakgyKu*"), 1)
			sameAsSeed(t, reply{Status: r.Status, Header: r.Header, Body: masked}, "initiate_success.json")
			noNumberIn(t, "the device url", u, "+33612345671")
		})
	}
}

// TestContractRetrieve walks step 2 through the seed's three example
// bodies: pending, success, and the error example (20).
func TestContractRetrieve(t *testing.T) {
	h := newHarness(t, nil)

	t.Run("pending then success", func(t *testing.T) {
		dev := h.initiate("+33612345671") // virtual operator: ...1 is verified
		tok := sessionToken(dev)
		// GET /GET/?token={TOKEN}&Licence={LICENCE_CODE}&scope=numVerify
		sameAsSeed(t, h.get("/GET/", retrieveParams(tok)), "retrieve_pending.json")
		sameAsSeed(t, h.post("/GET/", retrieveParams(tok)), "retrieve_pending.json")
		if r := h.open(dev); r.Status != http.StatusFound {
			t.Fatalf("device: HTTP %d %s", r.Status, r.Body)
		}
		sameAsSeed(t, h.post("/GET/", retrieveParams(tok)), "retrieve_success.json")
	})

	t.Run("error 20", func(t *testing.T) {
		dev := h.initiate("+99900000003") // virtual operator: not identifiable
		h.open(dev)
		sameAsSeed(t, h.get("/GET/", retrieveParams(sessionToken(dev))), "retrieve_error.json")
	})
}

// TestRedirectCarriesTokenAndStatus checks the redirect of the device:
// redirect_uri with its own query kept, plus token and status.
func TestRedirectCarriesTokenAndStatus(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.initiate("+33612345671")
	r := h.open(dev)
	if r.Status != http.StatusFound {
		t.Fatalf("HTTP %d %s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if loc.Scheme+"://"+loc.Host+loc.Path != "https://partner.example/dqe/return" || q.Get("from") != "numgate" {
		t.Errorf("Location %s does not keep the redirect_uri", loc)
	}
	if q.Get("token") != sessionToken(dev) || q.Get("status") != "success" {
		t.Errorf("Location %s: want token=<session token>&status=success", loc)
	}
	if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q", got)
	}
}

// TestPathsWithoutSlash: /IDMOBILE and /GET answer like /IDMOBILE/ and
// /GET/, by POST too (a redirect would turn a POST into a GET).
func TestPathsWithoutSlash(t *testing.T) {
	h := newHarness(t, nil)
	r := h.post("/IDMOBILE", initiateParams("+33612345671"))
	dev, _ := r.JSON(t)["url"].(string)
	if !deviceURLPattern.MatchString(dev) {
		t.Fatalf("POST /IDMOBILE: HTTP %d %s", r.Status, r.Body)
	}
	sameAsSeed(t, h.post("/GET", retrieveParams(sessionToken(dev))), "retrieve_pending.json")
}
