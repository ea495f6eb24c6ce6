package vonage_test

import (
	"context"
	"errors"
	"net/http"
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
