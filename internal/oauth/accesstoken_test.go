package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/randid"
)

// ccToken gets a client credentials token for clientSecret.
func (e *env) ccToken(t *testing.T) string {
	t.Helper()
	res := e.token(t, tokenReq{
		form:  url.Values{"grant_type": {"client_credentials"}, "scope": {"number-verification:verify " + purpose}},
		basic: &[2]string{clientSecret, secretOfRP},
	})
	if res.status != http.StatusOK {
		t.Fatalf("%d %s", res.status, res.body)
	}
	return res.str("access_token")
}

func TestAccessTokenExpires(t *testing.T) {
	clk := newClock()
	e := newEnv(t, clk)
	ctx := context.Background()
	tok := e.ccToken(t)

	at, err := e.srv.LookupAccessToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if life := at.ExpiresAt.Sub(at.IssuedAt); life != 300*time.Second {
		t.Errorf("lifetime %v, want 300s", life)
	}
	clk.Advance(299 * time.Second)
	if _, err := e.srv.LookupAccessToken(ctx, tok); err != nil {
		t.Fatalf("at 299 s: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := e.srv.LookupAccessToken(ctx, tok); !errors.Is(err, oauth.ErrTokenExpired) {
		t.Fatalf("Lookup at 300 s: %v, want ErrTokenExpired", err)
	}
	if _, err := e.srv.ConsumeAccessToken(ctx, tok); !errors.Is(err, oauth.ErrTokenExpired) {
		t.Fatalf("Consume at 300 s: %v, want ErrTokenExpired", err)
	}
	clk.Advance(time.Hour)
	if _, err := e.srv.LookupAccessToken(ctx, tok); !errors.Is(err, oauth.ErrInvalidToken) {
		t.Fatalf("an hour later: %v, want ErrInvalidToken", err)
	}
}

func TestAccessTokenLifetimeConfigured(t *testing.T) {
	clk := newClock()
	e := newEnv(t, clk, func(c *oauth.Config) { c.AccessTokenLifetime = 60 * time.Second })
	tok := e.ccToken(t)
	clk.Advance(60 * time.Second)
	if _, err := e.srv.LookupAccessToken(context.Background(), tok); !errors.Is(err, oauth.ErrTokenExpired) {
		t.Fatalf("%v, want ErrTokenExpired", err)
	}
}

func TestConsumeAccessTokenOnce(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	code, verifier := e.code(t, clientRSA)
	res := e.token(t, e.codeRequest(t, clientRSA, code, verifier))
	tok := res.str("access_token")

	at, err := e.srv.ConsumeAccessToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if !at.NetworkAuthenticated || at.AttemptID == "" || len(at.Scopes) != 3 {
		t.Errorf("%+v", at)
	}
	if _, err := e.srv.ConsumeAccessToken(ctx, tok); !errors.Is(err, oauth.ErrInvalidToken) {
		t.Errorf("second Consume: %v", err)
	}
	if _, err := e.srv.LookupAccessToken(ctx, tok); !errors.Is(err, oauth.ErrInvalidToken) {
		t.Errorf("Lookup after Consume: %v", err)
	}

	tok = e.ccToken(t)
	const n = 8
	ok := make(chan bool, n)
	for range n {
		go func() {
			_, err := e.srv.ConsumeAccessToken(ctx, tok)
			ok <- err == nil
		}()
	}
	wins := 0
	for range n {
		if <-ok {
			wins++
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent Consumes succeeded, want 1", wins)
	}
}

func TestLookupMalformedTokens(t *testing.T) {
	e := newEnv(t, nil)
	for _, tok := range []string{"", "abc", randid.Secret(), randid.Secret() + "x", "Bearer " + randid.Secret()} {
		if _, err := e.srv.LookupAccessToken(context.Background(), tok); !errors.Is(err, oauth.ErrInvalidToken) {
			t.Errorf("%q: %v", tok, err)
		}
	}
}

func TestCodeExpires(t *testing.T) {
	clk := newClock()
	e := newEnv(t, clk)
	code, verifier := e.code(t, clientSecret)
	clk.Advance(60 * time.Second)
	res := e.token(t, e.codeRequest(t, clientSecret, code, verifier))
	if res.str("error") != "invalid_grant" {
		t.Fatalf("a code 60 s old: %d %s", res.status, res.body)
	}
}

// TestAssertionLeeway: exp may be up to ClockLeeway past 300 s, and the jti
// is remembered for exp plus the leeway, so that no replay slips through
// while the assertion is still accepted.
func TestAssertionLeeway(t *testing.T) {
	clk := newClock()
	e := newEnv(t, clk)
	cc := func(a string) tokenResult {
		return e.token(t, tokenReq{form: url.Values{
			"grant_type": {"client_credentials"}, "scope": {"number-verification:verify " + purpose},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a},
		}})
	}
	now := clk.Now()
	a := e.assertion(t, clientRSA, func(c claims) { delete(c, "iat"); c["exp"] = now.Add(303 * time.Second).Unix() })
	if res := cc(a); res.status != http.StatusOK {
		t.Fatalf("exp 303 s ahead, within the leeway: %d %s", res.status, res.body)
	}
	clk.Advance(303*time.Second + 3*time.Second) // past exp, within the leeway
	if res := cc(a); res.str("error") != "invalid_client" {
		t.Fatalf("replay within the leeway: %d %s", res.status, res.body)
	}
	clk.Advance(2 * time.Second) // exactly exp plus the leeway: the jti's record has just expired
	if res := cc(a); res.str("error") != "invalid_client" {
		t.Fatalf("replay at exactly exp plus the leeway: %d %s", res.status, res.body)
	}
	b := e.assertion(t, clientRSA, func(c claims) { delete(c, "iat"); c["exp"] = clk.Now().Add(306 * time.Second).Unix() })
	if res := cc(b); res.str("error") != "invalid_client" {
		t.Fatalf("exp 306 s ahead: %d %s", res.status, res.body)
	}
}
