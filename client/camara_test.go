package client

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// testNumber is the number the tests verify; no error may print it.
const testNumber = "+99012345678"

// operator is a fake CAMARA operator: discovery, authorize, token and the
// Number Verification API, each replaceable by a test.
type operator struct {
	*httptest.Server
	mux *http.ServeMux
	// iss is the iss the authorize redirect carries ("" for none).
	iss string
	// lastAPI is the last request to the Number Verification API.
	lastAPI *http.Request
	// apiBody is the body of lastAPI.
	apiBody []byte
	// tokens counts the requests to /token.
	tokens int
}

func newOperator(t *testing.T) *operator {
	t.Helper()
	op := &operator{mux: http.NewServeMux()}
	op.Server = httptest.NewServer(op.mux)
	t.Cleanup(op.Close)
	op.iss = op.URL
	op.mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": op.URL, "authorization_endpoint": op.URL + "/authorize", "token_endpoint": op.URL + "/token",
			"jwks_uri": op.URL + "/jwks", "authorization_response_iss_parameter_supported": true,
		})
	})
	op.mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		u, err := url.Parse(q.Get("redirect_uri"))
		if err != nil {
			http.Error(w, "bad redirect_uri", http.StatusBadRequest)
			return
		}
		rq := u.Query()
		rq.Set("code", "the-code")
		rq.Set("state", q.Get("state"))
		if op.iss != "" {
			rq.Set("iss", op.iss)
		}
		u.RawQuery = rq.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	op.mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		op.tokens++
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"the-token","token_type":"Bearer","expires_in":300,"scope":"openid"}`)
	})
	api := func(w http.ResponseWriter, r *http.Request) {
		op.lastAPI = r
		op.apiBody, _ = io.ReadAll(r.Body)
		if c := r.Header.Get("x-correlator"); c != "" {
			w.Header().Set("x-correlator", c)
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/device-phone-number") {
			_, _ = io.WriteString(w, `{"devicePhoneNumber":"`+testNumber+`"}`)
			return
		}
		_, _ = io.WriteString(w, `{"devicePhoneNumberVerified":true}`)
	}
	op.mux.HandleFunc("POST /number-verification/v2/verify", api)
	op.mux.HandleFunc("GET /number-verification/v2/device-phone-number", api)
	return op
}

// camara returns a client of op whose redirect URI is on a closed port.
func (op *operator) camara() *Camara {
	return &Camara{BaseURL: op.URL, ClientID: "app", ClientSecret: "secret", RedirectURI: "http://127.0.0.1:1/cb"}
}

// noNumber fails the test when err's message carries testNumber.
func noNumber(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(testNumber, "+")) {
		t.Errorf("error carries the phone number: %v", err)
	}
}

func TestNewPKCE(t *testing.T) {
	unreserved := regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`) // RFC 7636 section 4.1
	a, b := NewPKCE(), NewPKCE()
	if !unreserved.MatchString(a.Verifier) {
		t.Fatalf("verifier %q is not 43 to 128 unreserved characters", a.Verifier)
	}
	sum := sha256.Sum256([]byte(a.Verifier))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); a.Challenge != want {
		t.Errorf("challenge %q, want BASE64URL(SHA256(verifier)) %q", a.Challenge, want)
	}
	if a.Verifier == b.Verifier {
		t.Error("two verifiers are equal")
	}
	r1, r2 := NewAuthRequest("tel:"+testNumber), NewAuthRequest("")
	if r1.State == r2.State || r1.Nonce == r2.Nonce || len(r1.State) < 22 || r1.State == r1.Nonce {
		t.Errorf("state and nonce must be fresh and at least 128 bits: %+v %+v", r1, r2)
	}
}

func TestAuthorizeURL(t *testing.T) {
	c := &Camara{ClientID: "app", RedirectURI: "https://rp.example/cb"}
	ar := NewAuthRequest("tel:"+testNumber, "number-verification:verify")
	u, err := url.Parse(c.AuthorizeURL("https://op.example/authorize", ar))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"response_type": "code", "client_id": "app", "redirect_uri": "https://rp.example/cb",
		"scope": "openid " + DefaultPurpose + " number-verification:verify", "state": ar.State, "nonce": ar.Nonce,
		"code_challenge": ar.PKCE.Challenge, "code_challenge_method": "S256", "prompt": "none", "login_hint": "tel:" + testNumber,
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if u.Host != "op.example" || u.Path != "/authorize" {
		t.Errorf("endpoint %s", u)
	}
}

// client_secret_basic (RFC 6749 section 2.3.1): id and secret are
// form-encoded before Basic; a server form-decodes them back.
func TestExchangeClientSecretBasic(t *testing.T) {
	op := newOperator(t)
	c := op.camara()
	c.ClientID, c.ClientSecret = "app id:1", "s3c+r/e%t&=~* é"
	var gotID, gotSecret string
	var form url.Values
	op.mux.HandleFunc("POST /token2", func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		gotID, _ = url.QueryUnescape(id)
		gotSecret, _ = url.QueryUnescape(secret)
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", ct)
		}
		_ = r.ParseForm()
		form = r.PostForm
		_, _ = io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":300}`)
	})
	tok, err := c.Exchange(t.Context(), op.URL+"/token2", "the-code", "the-verifier")
	if err != nil || tok.AccessToken != "t" {
		t.Fatalf("Exchange: %+v, %v", tok, err)
	}
	if gotID != c.ClientID || gotSecret != c.ClientSecret {
		t.Errorf("server decoded %q:%q, want %q:%q", gotID, gotSecret, c.ClientID, c.ClientSecret)
	}
	if form.Get("grant_type") != "authorization_code" || form.Get("code") != "the-code" ||
		form.Get("code_verifier") != "the-verifier" || form.Get("redirect_uri") != c.RedirectURI {
		t.Errorf("form %v", form)
	}
}

func TestExchangeOAuthError(t *testing.T) {
	op := newOperator(t)
	op.mux.HandleFunc("POST /token2", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"code used"}`)
	})
	_, err := op.camara().Exchange(t.Context(), op.URL+"/token2", "c", "v")
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Fatalf("err = %v, want invalid_grant", err)
	}
}

func TestVerifyWire(t *testing.T) {
	op := newOperator(t)
	c := op.camara()
	ok, err := c.Verify(t.Context(), "the-token", testNumber)
	if err != nil || !ok {
		t.Fatalf("Verify: %t, %v", ok, err)
	}
	r := op.lastAPI
	if r.Header.Get("Authorization") != "Bearer the-token" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.Header)
	}
	if !regexp.MustCompile(`^[a-zA-Z0-9-_:;.\/<>{}]{1,256}$`).MatchString(r.Header.Get("x-correlator")) {
		t.Errorf("x-correlator %q does not match XCorrelator", r.Header.Get("x-correlator"))
	}
	if string(op.apiBody) != `{"phoneNumber":"`+testNumber+`"}` {
		t.Errorf("body %s", op.apiBody)
	}
	n, err := c.DevicePhoneNumber(t.Context(), "the-token")
	if err != nil || n != testNumber || op.lastAPI.Method != http.MethodGet {
		t.Errorf("DevicePhoneNumber: %q, %v", n, err)
	}
}

// A CAMARA ErrorInfo body is an *APIError with its status and code.
func TestVerifyAPIError(t *testing.T) {
	op := newOperator(t)
	op.mux.HandleFunc("POST /number-verification/v1/verify", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"status":403,"code":"NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK","message":"Client must authenticate via the mobile network to use this service"}`)
	})
	c := op.camara()
	c.Version = "v1"
	_, err := c.Verify(t.Context(), "t", testNumber)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK" {
		t.Fatalf("err = %#v", err)
	}
}

func TestOpenAsDevice(t *testing.T) {
	op := newOperator(t)
	c := op.camara()
	ar := NewAuthRequest("tel:" + testNumber)
	code, err := c.OpenAsDevice(t.Context(), c.AuthorizeURL(op.URL+"/authorize", ar), ar.State)
	if err != nil || code != "the-code" {
		t.Fatalf("OpenAsDevice: %q, %v", code, err)
	}
	if _, err := c.OpenAsDevice(t.Context(), c.AuthorizeURL(op.URL+"/authorize", ar), "other"); err == nil {
		t.Error("a redirect with another state was accepted")
	}
}

func TestOpenAsDeviceErrorRedirect(t *testing.T) {
	op := newOperator(t)
	op.mux.HandleFunc("GET /authorize2", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{
			"error": {"login_required"}, "error_description": {"device not identified"}, "state": {q.Get("state")}, "iss": {op.URL},
		}.Encode(), http.StatusFound)
	})
	c := op.camara()
	ar := NewAuthRequest("tel:" + testNumber)
	_, err := c.OpenAsDevice(t.Context(), c.AuthorizeURL(op.URL+"/authorize2", ar), ar.State)
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "login_required" {
		t.Fatalf("err = %v, want login_required", err)
	}
}

// An unreachable provider: the error names the URL, never its login_hint.
func TestOpenAsDeviceUnreachableHidesNumber(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := &Camara{ClientID: "app", RedirectURI: "http://127.0.0.1:1/cb"}
	ar := NewAuthRequest("tel:" + testNumber)
	_, err = c.OpenAsDevice(t.Context(), c.AuthorizeURL("http://"+addr+"/authorize", ar), ar.State)
	if err == nil {
		t.Fatal("no error")
	}
	noNumber(t, err)
}

func TestVerifyNumber(t *testing.T) {
	op := newOperator(t)
	var steps []string
	ok, err := op.camara().VerifyNumber(t.Context(), testNumber, func(s Step) { steps = append(steps, s.Name) })
	if err != nil || !ok {
		t.Fatalf("VerifyNumber: %t, %v", ok, err)
	}
	if strings.Join(steps, ",") != "discovery,authorize,redirect,token,verify" {
		t.Errorf("steps %v", steps)
	}
}

// Every error status is an *APIError, body or not: a 401 from a gateway in
// front of the API (RFC 6750: WWW-Authenticate, no body) must be told apart
// from a 403 or a 503 without parsing the message. The x-correlator the
// operator echoes is kept for its support desk.
func TestVerifyAPIErrorWithoutErrorInfo(t *testing.T) {
	op := newOperator(t)
	var sent string
	op.mux.HandleFunc("POST /number-verification/v1/verify", func(w http.ResponseWriter, r *http.Request) {
		sent = r.Header.Get("x-correlator")
		w.Header().Set("x-correlator", sent)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	op.mux.HandleFunc("GET /number-verification/v1/device-phone-number", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>502 Bad Gateway</html>")
	})
	c := op.camara()
	c.Version = "v1"
	_, err := c.Verify(t.Context(), "t", testNumber)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("401 without a body: err = %#v, want an *APIError with Status 401", err)
	}
	if sent == "" || ae.Correlator != sent {
		t.Errorf("Correlator %q, the request's x-correlator %q", ae.Correlator, sent)
	}
	_, err = c.DevicePhoneNumber(t.Context(), "t")
	if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway {
		t.Fatalf("502 HTML: err = %#v, want an *APIError with Status 502", err)
	}
}

// backend is the app's backend at the redirect URI: the device must stop
// before it, never be sent on to it.
func backend(t *testing.T) (*httptest.Server, *int) {
	t.Helper()
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		_, _ = io.WriteString(w, "the app's page")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// A registered redirect URI may have a query (RFC 6749 section 3.1.2),
// which the provider keeps but need not keep in the same order or encoding
// (numgate re-encodes it: url.Values.Encode sorts). The redirect is still
// to the redirect URI.
func TestOpenAsDeviceRedirectURIWithQuery(t *testing.T) {
	op := newOperator(t)
	rp, hits := backend(t)
	c := op.camara()
	c.RedirectURI = rp.URL + "/cb?tenant=a&app=b"
	ar := NewAuthRequest("tel:" + testNumber)
	code, err := c.OpenAsDevice(t.Context(), c.AuthorizeURL(op.URL+"/authorize", ar), ar.State)
	if err != nil || code != "the-code" || *hits != 0 {
		t.Fatalf("OpenAsDevice: %q, %v (backend opened %d times)", code, err, *hits)
	}
}

// A redirect to a URL that merely starts with the redirect URI is not the
// redirect to the client; its code is not the authorization code.
func TestOpenAsDeviceLookalikeRedirect(t *testing.T) {
	op := newOperator(t)
	rp, _ := backend(t)
	c := op.camara()
	c.RedirectURI = rp.URL + "/cb"
	op.mux.HandleFunc("GET /authorize2", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, rp.URL+"/cb-elsewhere?"+url.Values{"code": {"not-a-code"}, "state": {r.URL.Query().Get("state")}}.Encode(), http.StatusFound)
	})
	ar := NewAuthRequest("tel:" + testNumber)
	code, err := c.OpenAsDevice(t.Context(), c.AuthorizeURL(op.URL+"/authorize2", ar), ar.State)
	if err == nil {
		t.Fatalf("OpenAsDevice took %q from a redirect to %s/cb-elsewhere", code, rp.URL)
	}
	noNumber(t, err)
}

// RFC 9207: the redirect's iss must be the issuer the request was sent to,
// and must be there when the provider says it sends one; otherwise the code
// may be another provider's (mix-up) and must not be sent to this token
// endpoint with this client's secret.
func TestVerifyNumberChecksIss(t *testing.T) {
	for _, iss := range []string{"https://other-operator.example", ""} {
		op := newOperator(t)
		op.iss = iss
		ok, err := op.camara().VerifyNumber(t.Context(), testNumber, nil)
		if err == nil || op.tokens != 0 {
			t.Errorf("iss %q: VerifyNumber = %t, %v after %d token requests; want an error before /token", iss, ok, err, op.tokens)
		}
		noNumber(t, err)
	}
}

func TestParseCallback(t *testing.T) {
	d := Discovery{Issuer: "https://op.example", AuthorizationResponseISSParameterSupported: true}
	ok := url.Values{"code": {"c"}, "state": {"s"}, "iss": {"https://op.example"}}
	if code, err := ParseCallback(ok, "s", d); err != nil || code != "c" {
		t.Errorf("ParseCallback: %q, %v", code, err)
	}
	if code, err := ParseCallback(url.Values{"code": {"c"}, "state": {"s"}}, "s", Discovery{}); err != nil || code != "c" {
		t.Errorf("ParseCallback without an issuer to check: %q, %v", code, err)
	}
	for name, q := range map[string]url.Values{
		"other state":  {"code": {"c"}, "state": {"x"}, "iss": {"https://op.example"}},
		"other iss":    {"code": {"c"}, "state": {"s"}, "iss": {"https://evil.example"}},
		"missing iss":  {"code": {"c"}, "state": {"s"}},
		"no code":      {"state": {"s"}, "iss": {"https://op.example"}},
		"error":        {"error": {"access_denied"}, "state": {"s"}, "iss": {"https://op.example"}},
		"other iss, e": {"error": {"access_denied"}, "state": {"s"}, "iss": {"https://evil.example"}},
	} {
		code, err := ParseCallback(q, "s", d)
		var oe *OAuthError
		if err == nil || (name == "error") != errors.As(err, &oe) {
			t.Errorf("%s: %q, %v", name, code, err)
		}
	}
}

// A provider may echo the number in a page or message; the client's errors
// must still never carry it (it would reach logs and terminals).
func TestErrorsWithholdTheNumberTheProviderEchoes(t *testing.T) {
	op := newOperator(t)
	op.mux.HandleFunc("GET /authorize2", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unknown subscriber "+r.URL.Query().Get("login_hint"), http.StatusBadRequest)
	})
	op.mux.HandleFunc("POST /number-verification/v1/verify", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"status":400,"code":"INVALID_ARGUMENT","message":"phoneNumber `+testNumber+` is not ours"}`)
	})
	c := op.camara()
	ar := NewAuthRequest("tel:" + testNumber)
	_, err := c.OpenAsDevice(t.Context(), c.AuthorizeURL(op.URL+"/authorize2", ar), ar.State)
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("err = %v, want one naming HTTP 400", err)
	}
	noNumber(t, err)
	c.Version = "v1"
	_, err = c.Verify(t.Context(), "t", testNumber)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_ARGUMENT" {
		t.Errorf("err = %v, want INVALID_ARGUMENT", err)
	}
	noNumber(t, err)
}

// CAMARA's hashedPhoneNumber is the lowercase hex SHA-256 of the E.164
// number with its '+'. VerifyHashed given anything else, the clear number
// above all, must not send it.
func TestVerifyHashed(t *testing.T) {
	// printf '+123456789' | sha256sum
	if h := HashPhoneNumber("+123456789"); h != "b49f9168e8a886ffd61a090b51a26e117717f5f6fa804af49ea67043a2bfa4f0" {
		t.Errorf("HashPhoneNumber = %s", h)
	}
	op := newOperator(t)
	c := op.camara()
	ok, err := c.VerifyHashed(t.Context(), "t", HashPhoneNumber(testNumber))
	if err != nil || !ok || string(op.apiBody) != `{"hashedPhoneNumber":"`+HashPhoneNumber(testNumber)+`"}` {
		t.Fatalf("VerifyHashed: %t, %v, body %s", ok, err, op.apiBody)
	}
	op.lastAPI = nil
	_, err = c.VerifyHashed(t.Context(), "t", testNumber)
	if err == nil || op.lastAPI != nil {
		t.Errorf("VerifyHashed(the clear number): err %v, request sent: %t", err, op.lastAPI != nil)
	}
	noNumber(t, err)
}

// devicePhoneNumberVerified and devicePhoneNumber are required: a 200
// without them is not a "no" (nor an empty number) but a broken answer.
func TestAnswerWithoutTheRequiredProperty(t *testing.T) {
	op := newOperator(t)
	op.mux.HandleFunc("POST /number-verification/v1/verify", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"verified":true}`)
	})
	op.mux.HandleFunc("GET /number-verification/v1/device-phone-number", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	c := op.camara()
	c.Version = "v1"
	if ok, err := c.Verify(t.Context(), "t", testNumber); err == nil {
		t.Errorf("Verify = %t, nil; want an error", ok)
	}
	if ok, err := c.VerifyHashed(t.Context(), "t", HashPhoneNumber(testNumber)); err == nil {
		t.Errorf("VerifyHashed = %t, nil; want an error", ok)
	}
	if n, err := c.DevicePhoneNumber(t.Context(), "t"); err == nil {
		t.Errorf("DevicePhoneNumber = %q, nil; want an error", n)
	}
}

// An authorization endpoint may have a query of its own, which must be kept
// (RFC 6749 section 3.1); the request's parameters are added to it.
func TestAuthorizeURLKeepsTheEndpointQuery(t *testing.T) {
	c := &Camara{ClientID: "app", RedirectURI: "https://rp.example/cb"}
	ar := NewAuthRequest("")
	u, err := url.Parse(c.AuthorizeURL("https://op.example/authorize?tenant=nl", ar))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("tenant") != "nl" || q.Get("response_type") != "code" || q.Get("state") != ar.State {
		t.Errorf("AuthorizeURL query %v", q)
	}
}
