package vonage_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/dialect/camara"
	"github.com/numgate/numgate/internal/dialect/dqe"
	"github.com/numgate/numgate/internal/dialect/vonage/vonagetest"
	"github.com/numgate/numgate/internal/oauth"
)

// TestMountsBesideTheOthers mounts the Vonage and DQE dialects on one mux
// with the OAuth server and the CAMARA API, as the gateway does: no route
// conflicts (ServeMux panics on one), and each path reaches its owner.
func TestMountsBesideTheOthers(t *testing.T) {
	g := vonagetest.Start(t, vonagetest.Options{}) // OAuth server and Vonage dialect already mounted
	camara.New(camara.Config{Tokens: camaraTokens{g.OAuth}, Attempts: g.Core}).Mount(g.Mux)
	d, err := dqe.New(dqe.Config{Store: g.Store, Core: g.Core, BaseURL: g.URL})
	if err != nil {
		t.Fatal(err)
	}
	d.Mount(g.Mux)
	g.Mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	g.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})

	for path, wantType := range map[string]string{
		"/IDMOBILE/":                            "application/json; charset=utf-8",
		"/GET/":                                 "application/json; charset=utf-8",
		"/oauth2/token":                         "application/problem+json",
		"/v0.1/network-enablement":              "application/problem+json",
		"/camara/number-verification/v031/none": "application/problem+json",
		"/token":                                "application/json;charset=UTF-8",
	} {
		req, _ := http.NewRequest(http.MethodPost, g.URL+path, nil)
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != wantType {
			t.Errorf("POST %s: Content-Type %q, want %q (the wrong owner answered)", path, ct, wantType)
		}
	}

	// A Vonage access token does not open CAMARA's /verify.
	e := &env{Gateway: g, t: t, app: g.Register(t, appID, callback)}
	tok := e.accessToken(e.code(verified))
	r := e.do(http.MethodPost, "/number-verification/v2/verify", tok, "application/json", `{"phoneNumber":"`+verified+`"}`)
	if r.Status != http.StatusForbidden {
		t.Fatalf("CAMARA /verify with a Vonage token: HTTP %d %s", r.Status, r.Body)
	}
	if vr := e.verifyNumber(tok, `{"phoneNumber":"`+verified+`"}`); vr.Status != http.StatusOK {
		t.Fatalf("the refusal spent the token: HTTP %d %s", vr.Status, vr.Body)
	}
}

// camaraTokens adapts the OAuth server to the CAMARA API, as the gateway does.
type camaraTokens struct{ o *oauth.Server }

func (c camaraTokens) Lookup(ctx context.Context, raw string) (camara.Token, error) {
	return convert(c.o.LookupAccessToken(ctx, raw))
}

func (c camaraTokens) Consume(ctx context.Context, raw string) (camara.Token, error) {
	return convert(c.o.ConsumeAccessToken(ctx, raw))
}

func convert(at oauth.AccessToken, err error) (camara.Token, error) {
	switch {
	case errors.Is(err, oauth.ErrTokenExpired):
		return camara.Token{}, camara.ErrTokenExpired
	case errors.Is(err, oauth.ErrInvalidToken):
		return camara.Token{}, camara.ErrTokenInvalid
	case err != nil:
		return camara.Token{}, err
	}
	return camara.Token{ClientID: at.ClientID, AttemptID: at.AttemptID, Scopes: at.Scopes, NetworkAuthenticated: at.NetworkAuthenticated}, nil
}

// TestRefusalsNameTheRoute: a 405 names the allowed method (RFC 9110), and
// no refusal repeats the request's path, where a client may have put a
// phone number.
func TestRefusalsNameTheRoute(t *testing.T) {
	g := vonagetest.Start(t, vonagetest.Options{})
	for _, tc := range []struct {
		method, path, allow string
		status              int
	}{
		{http.MethodGet, "/v0.1/network-enablement", "POST", http.StatusMethodNotAllowed},
		{http.MethodPut, "/oauth2/auth", "GET", http.StatusMethodNotAllowed},
		{http.MethodGet, "/camara/number-verification/v031/verify", "POST", http.StatusMethodNotAllowed},
		{http.MethodPost, "/camara/number-verification/v031/lookup/+99012345678", "", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, g.URL+tc.path, nil)
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.status, tc.allow)
		}
		if strings.Contains(string(body), "99012345678") {
			t.Errorf("%s %s: the refusal repeats the path's number: %s", tc.method, tc.path, body)
		}
	}
}
