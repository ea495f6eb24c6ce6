package camara

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/store"
)

// fakeTokens knows one token, "tok", which grants scopes.
type fakeTokens struct {
	scopes []string
	used   bool
}

func (f *fakeTokens) Lookup(_ context.Context, raw string) (Token, error) {
	if raw != "tok" || f.used {
		return Token{}, ErrTokenInvalid
	}
	return Token{ClientID: "c", AttemptID: "a", Scopes: f.scopes, NetworkAuthenticated: true}, nil
}

func (f *fakeTokens) Consume(ctx context.Context, raw string) (Token, error) {
	t, err := f.Lookup(ctx, raw)
	if err == nil {
		f.used = true
	}
	return t, err
}

// fakeAttempts holds one attempt "a" whose device has deviceNumber.
type fakeAttempts struct{ taken bool }

const deviceNumber = "+99012345678"

func (f *fakeAttempts) Compare(_ context.Context, id string, c core.Claim) (bool, error) {
	if id != "a" || f.taken {
		return false, core.ErrWrongState
	}
	f.taken = true
	if c.Number != "" {
		return c.Number == deviceNumber, nil
	}
	return msisdn.MatchesHash(deviceNumber, c.Hash), nil
}

func (f *fakeAttempts) Take(_ context.Context, id string) (store.Attempt, error) {
	if id != "a" || f.taken {
		return store.Attempt{}, core.ErrWrongState
	}
	f.taken = true
	return store.Attempt{ID: id, DeviceNumber: deviceNumber}, nil
}

func newTestMux(scopes ...string) *http.ServeMux {
	mux := http.NewServeMux()
	New(Config{Tokens: &fakeTokens{scopes: scopes}, Attempts: &fakeAttempts{}}).Mount(mux)
	return mux
}

func do(mux http.Handler, method, path, body string, hdr map[string]string) (*httptest.ResponseRecorder, Error) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var e Error
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	return rec, e
}

var bearerJSON = map[string]string{"Authorization": "Bearer tok", "Content-Type": "application/json"}

func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for kk, vv := range h {
		out[kk] = vv
	}
	return out
}

// TestV1CorrelatorIsAnyString: the v1 definition (r1.3) declares x-correlator
// as a plain string, without v2's XCorrelator pattern; v1 must accept and
// echo it, while v2 still refuses what its pattern does not allow.
func TestV1CorrelatorIsAnyString(t *testing.T) {
	const corr = "order 42 (retry #2)"
	rec, e := do(newTestMux(ScopeVerify), "POST", "/number-verification/v1/verify", `{"phoneNumber":"+99012345678"}`, with(bearerJSON, "x-correlator", corr))
	if rec.Code != 200 {
		t.Fatalf("v1 with x-correlator %q: %d %+v, want 200", corr, rec.Code, e)
	}
	if got := rec.Header().Get("x-correlator"); got != corr {
		t.Errorf("v1 x-correlator echoed as %q, want %q", got, corr)
	}
	rec, e = do(newTestMux(ScopeVerify), "POST", "/number-verification/v2/verify", `{"phoneNumber":"+99012345678"}`, with(bearerJSON, "x-correlator", corr))
	if rec.Code != 400 || e.Code != codeInvalidArgument {
		t.Errorf("v2 with x-correlator %q: %d %+v, want 400 INVALID_ARGUMENT", corr, rec.Code, e)
	}
}

// TestVerifyPropertyNamesAreExact: JSON property names are case-sensitive;
// a body whose only property is "PhoneNumber" has neither phoneNumber nor
// hashedPhoneNumber (feature phone_number_verify_400.3) and must not be
// compared.
func TestVerifyPropertyNamesAreExact(t *testing.T) {
	for _, body := range []string{
		`{"PhoneNumber":"+99012345678"}`,
		`{"PHONENUMBER":"+99012345678"}`,
		`{"hashedphonenumber":"` + msisdn.Hash("+99012345678") + `"}`,
	} {
		for _, ver := range []string{"v1", "v2"} {
			rec, e := do(newTestMux(ScopeVerify), "POST", "/number-verification/"+ver+"/verify", body, bearerJSON)
			if rec.Code != 400 || e.Code != codeInvalidArgument {
				t.Errorf("%s %s: %d %s, want 400 INVALID_ARGUMENT", ver, body, rec.Code, rec.Body)
			}
		}
	}
}

// TestMethodNotAllowedNamesAllow: RFC 9110 section 15.5.6, a 405 response
// MUST carry an Allow header.
func TestMethodNotAllowedNamesAllow(t *testing.T) {
	for path, allow := range map[string]string{"/number-verification/v2/verify": "POST", "/number-verification/v1/device-phone-number": "GET"} {
		rec, e := do(newTestMux(), "DELETE", path, "", nil)
		if rec.Code != 405 || e.Code != codeMethodNotAllowed {
			t.Fatalf("DELETE %s: %d %s", path, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Allow"); got != allow {
			t.Errorf("DELETE %s: Allow %q, want %q", path, got, allow)
		}
	}
}

// TestUnauthenticatedHasBearerChallenge: RFC 6750 section 3, a 401 from a
// resource server MUST carry WWW-Authenticate with the Bearer scheme, and
// error="invalid_token" when a token was presented.
func TestUnauthenticatedHasBearerChallenge(t *testing.T) {
	cases := []struct {
		name, auth, want string
	}{
		{"no token", "", `Bearer realm="numgate"`},
		{"other scheme", "Basic Zm9vOmJhcg==", `Bearer realm="numgate"`},
		{"unknown token", "Bearer nope", `Bearer realm="numgate", error="invalid_token"`},
	}
	for _, c := range cases {
		for _, op := range []struct{ method, path, body string }{
			{"POST", "/number-verification/v2/verify", `{"phoneNumber":"+99012345678"}`},
			{"GET", "/number-verification/v1/device-phone-number", ""},
		} {
			hdr := map[string]string{"Content-Type": "application/json"}
			if c.auth != "" {
				hdr["Authorization"] = c.auth
			}
			rec, e := do(newTestMux(ScopeVerify, ScopeShare), op.method, op.path, op.body, hdr)
			if rec.Code != 401 || e.Code != codeUnauthenticated {
				t.Fatalf("%s %s: %d %s", c.name, op.path, rec.Code, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != c.want {
				t.Errorf("%s %s: WWW-Authenticate %q, want %q", c.name, op.path, got, c.want)
			}
		}
	}
	// Other statuses carry no challenge.
	rec, _ := do(newTestMux(ScopeVerify), "POST", "/number-verification/v2/verify", `{}`, bearerJSON)
	if rec.Code != 400 || rec.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("400: %d, WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// TestLogNeverCarriesNumberFromPath: a client that puts the number in the
// URL (as KPN's /insights/{msisdn} does) gets 404, and the log line does
// not record the number (DESIGN: never an MSISDN in logs).
func TestLogNeverCarriesNumberFromPath(t *testing.T) {
	var buf strings.Builder
	mux := http.NewServeMux()
	New(Config{Tokens: &fakeTokens{}, Attempts: &fakeAttempts{},
		Logger: slog.New(slog.NewTextHandler(&buf, nil))}).Mount(mux)
	for _, p := range []string{"/number-verification/v2/verify/+99012345678", "/number-verification/v1/tel:+99012345678", "/number-verification/v2/device-phone-number/99012345678"} {
		rec, _ := do(mux, "GET", p, "", nil)
		if rec.Code != 404 {
			t.Fatalf("GET %s: %d", p, rec.Code)
		}
	}
	if buf.Len() == 0 {
		t.Fatal("no log line")
	}
	if strings.Contains(buf.String(), "9012345678") {
		t.Errorf("log carries the number:\n%s", buf.String())
	}
}

// TestHeadSpendsNothing: HEAD on device-phone-number is refused (405) and
// leaves the token and the attempt as they were: a GET with the same token
// still gets the number.
func TestHeadSpendsNothing(t *testing.T) {
	mux := newTestMux("number-verification:device-phone-number:read")
	path := "/number-verification/v2/device-phone-number"
	rec, _ := do(mux, http.MethodHead, path, "", bearerJSON)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET" {
		t.Fatalf("HEAD: %d, Allow %q; want 405, Allow GET", rec.Code, rec.Header().Get("Allow"))
	}
	rec, _ = do(mux, http.MethodGet, path, "", bearerJSON)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), deviceNumber) {
		t.Fatalf("GET after HEAD: %d %s; want the number", rec.Code, rec.Body)
	}
}

// TestV1CorrelatorLogBounded: v1 takes any x-correlator, of any length a
// header may have; the log line records a bounded part of it, so an
// anonymous client cannot write a megabyte of log per request.
func TestV1CorrelatorLogBounded(t *testing.T) {
	var buf strings.Builder
	mux := http.NewServeMux()
	New(Config{Tokens: &fakeTokens{}, Attempts: &fakeAttempts{},
		Logger: slog.New(slog.NewTextHandler(&buf, nil))}).Mount(mux)
	corr := strings.Repeat("x", 64<<10)
	rec, _ := do(mux, "POST", "/number-verification/v1/verify", `{"phoneNumber":"+99012345678"}`, map[string]string{"x-correlator": corr})
	if rec.Header().Get("x-correlator") != corr {
		t.Errorf("v1 x-correlator not echoed as given")
	}
	if buf.Len() == 0 || buf.Len() > 2048 {
		t.Errorf("log of one request with a %d-byte x-correlator: %d bytes", len(corr), buf.Len())
	}
}
