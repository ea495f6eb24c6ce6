package client

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The demo client that `numgate serve` registers when it listens on a
// loopback address. Never enable it on a public listener.
const (
	DemoClientID     = "numgate-demo"
	DemoClientSecret = "numgate-demo-secret-for-loopback-only"
	DemoRedirectURI  = "http://127.0.0.1/numgate-demo/callback"
)

// DefaultPurpose is the purpose scope sent when none is configured.
const DefaultPurpose = "dpv:FraudPreventionAndDetection"

// Camara talks to a CAMARA Number Verification provider.
type Camara struct {
	// BaseURL is the provider's API root (for numgate: its issuer).
	BaseURL string
	// ClientID, ClientSecret and RedirectURI are the registered client's.
	ClientID     string
	ClientSecret string
	RedirectURI  string
	// SigningKey, when set, authenticates the client at the token endpoint
	// with private_key_jwt (RFC 7523), which CAMARA's security profile
	// requires, instead of client_secret_basic: a private RSA (RS256) or
	// P-256 (ES256) key whose public half is registered with the operator.
	// SigningKeyID is its kid there (optional when the key set has one key).
	SigningKey   crypto.Signer
	SigningKeyID string
	// Purpose is the dpv: purpose scope; DefaultPurpose when empty.
	Purpose string
	// HTTP is the HTTP client. When nil, a client on http.DefaultTransport
	// with a 30 s timeout per request is used; give one without a Timeout
	// to let the context alone bound each request.
	HTTP *http.Client
	// Version is the API version path element, "v2" (default) or "v1".
	Version string
}

// Discovery is the part of the OpenID Provider metadata the client uses.
type Discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	// AuthorizationResponseISSParameterSupported says that the provider's
	// authorization responses carry iss (RFC 9207), which ParseCallback
	// then requires.
	AuthorizationResponseISSParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// Token is a token endpoint response.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	IDToken     string `json:"id_token,omitempty"`
}

// OAuthError is an RFC 6749 error, from a redirect or the token endpoint.
type OAuthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// Error implements error.
func (e *OAuthError) Error() string {
	if e.Description == "" {
		return "oauth: " + e.Code
	}
	return "oauth: " + e.Code + ": " + e.Description
}

// APIError is an error response of the Number Verification API: the CAMARA
// ErrorInfo of its body, or only the HTTP status when the body is none (a
// 401 from a gateway in front of the API, a 502 page from a proxy). Status
// is always the HTTP status: 401 means the access token must be obtained
// again, 403 that it may not be used for this (PERMISSION_DENIED,
// NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK, ...).
type APIError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Correlator is the request's x-correlator, as the operator echoed it
	// (or as it was sent), for the operator's support.
	Correlator string `json:"-"`
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("camara: HTTP %d", e.Status)
	}
	return fmt.Sprintf("camara: %d %s: %s", e.Status, e.Code, e.Message)
}

func (c *Camara) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *Camara) base() string { return strings.TrimSuffix(c.BaseURL, "/") }

func (c *Camara) version() string {
	if c.Version == "" {
		return "v2"
	}
	return c.Version
}

// Discover fetches the provider's OpenID configuration.
func (c *Camara) Discover(ctx context.Context) (Discovery, error) {
	var d Discovery
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base()+"/.well-known/openid-configuration", nil)
	if err != nil {
		return d, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("discovery: HTTP %d", resp.StatusCode)
	}
	return d, json.NewDecoder(resp.Body).Decode(&d)
}

// PKCE is a code verifier and its S256 challenge.
type PKCE struct {
	Verifier  string
	Challenge string
}

// NewPKCE returns a fresh PKCE pair.
func NewPKCE() PKCE {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return PKCE{Verifier: v, Challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// AuthRequest is one authorization request.
type AuthRequest struct {
	State string
	Nonce string
	PKCE  PKCE
	// LoginHint is sent as login_hint (for example "tel:+99012345678").
	LoginHint string
	// Scopes requested besides openid and the purpose.
	Scopes []string
}

// NewAuthRequest returns a request with fresh state, nonce and PKCE.
func NewAuthRequest(loginHint string, scopes ...string) AuthRequest {
	return AuthRequest{State: randString(), Nonce: randString(), PKCE: NewPKCE(), LoginHint: loginHint, Scopes: scopes}
}

func randString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuthorizeURL returns the URL the device must open, on authorizeEndpoint
// (from Discover).
func (c *Camara) AuthorizeURL(authorizeEndpoint string, ar AuthRequest) string {
	purpose := c.Purpose
	if purpose == "" {
		purpose = DefaultPurpose
	}
	scope := append([]string{"openid", purpose}, ar.Scopes...)
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ClientID},
		"redirect_uri":          {c.RedirectURI},
		"scope":                 {strings.Join(scope, " ")},
		"state":                 {ar.State},
		"nonce":                 {ar.Nonce},
		"code_challenge":        {ar.PKCE.Challenge},
		"code_challenge_method": {"S256"},
		"prompt":                {"none"},
	}
	if ar.LoginHint != "" {
		q.Set("login_hint", ar.LoginHint)
	}
	sep := "?"
	if strings.Contains(authorizeEndpoint, "?") {
		// The endpoint's own query is kept (RFC 6749 section 3.1).
		sep = "&"
		if strings.HasSuffix(authorizeEndpoint, "?") || strings.HasSuffix(authorizeEndpoint, "&") {
			sep = ""
		}
	}
	return authorizeEndpoint + sep + q.Encode()
}

// OpenAsDevice opens authURL as the device would, follows redirects inside
// the provider, and returns the authorization code from the redirect to the
// client's redirect URI. It checks state; an error redirect is an *OAuthError.
// It does not check the redirect's iss, not knowing the issuer; VerifyNumber
// does, and so does ParseCallback given the provider's Discovery.
func (c *Camara) OpenAsDevice(ctx context.Context, authURL, state string) (string, error) {
	return c.openAsDevice(ctx, authURL, state, Discovery{})
}

func (c *Camara) openAsDevice(ctx context.Context, authURL, state string, d Discovery) (string, error) {
	redirect, err := url.Parse(c.RedirectURI)
	if err != nil || !redirect.IsAbs() {
		return "", errors.New("authorize: RedirectURI is not an absolute URL")
	}
	hc := *c.http()
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if isRedirectTo(req.URL, redirect) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects inside the provider")
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", withoutQuery(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", withoutQuery(err)
	}
	defer resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return "", fmt.Errorf("authorize: HTTP %d without redirect: %s", resp.StatusCode, withhold(strings.TrimSpace(string(body)), loginHintNumber(authURL)))
	}
	if !isRedirectTo(loc, redirect) {
		return "", fmt.Errorf("authorize: HTTP %d redirects elsewhere than the redirect URI", resp.StatusCode)
	}
	return ParseCallback(loc.Query(), state, d)
}

// ParseCallback reads the query q of the redirect that brings the device
// back to the redirect URI, for the request whose state was state, sent to
// the provider described by d. It returns the authorization code; an error
// redirect is an *OAuthError. It checks state and, against mix-up attacks
// (RFC 9207), that iss is d.Issuer when present, and that it is present
// when d says the provider sends it. With a zero Discovery it checks state
// only.
func ParseCallback(q url.Values, state string, d Discovery) (string, error) {
	if q.Get("state") != state {
		return "", errors.New("authorize: the redirect's state does not match the request's")
	}
	iss, hasIss := q["iss"]
	switch {
	case d.Issuer == "":
	case hasIss && (len(iss) != 1 || iss[0] != d.Issuer):
		return "", errors.New("authorize: the redirect's iss is not the issuer the request was sent to")
	case !hasIss && d.AuthorizationResponseISSParameterSupported:
		return "", errors.New("authorize: the redirect lacks the iss its provider says it sends")
	}
	if e := q.Get("error"); e != "" {
		return "", &OAuthError{Code: e, Description: q.Get("error_description")}
	}
	code := q.Get("code")
	if code == "" {
		return "", errors.New("authorize: the redirect carries neither code nor error")
	}
	return code, nil
}

// isRedirectTo reports whether u is a redirect to the registered redirect
// URI r: the same scheme, host and path, and r's own query parameters (RFC
// 6749 section 3.1.2 lets a redirect URI have some) among u's, in any order
// or encoding, beside the code, state and iss the provider adds. A URL that
// merely starts with r is another URL.
func isRedirectTo(u, r *url.URL) bool {
	if !strings.EqualFold(u.Scheme, r.Scheme) || !strings.EqualFold(u.Host, r.Host) || u.User.String() != r.User.String() {
		return false
	}
	up, rp := u.EscapedPath(), r.EscapedPath()
	if up == "" {
		up = "/"
	}
	if rp == "" {
		rp = "/"
	}
	if up != rp {
		return false
	}
	got := u.Query()
	for k, vs := range r.Query() {
		for _, v := range vs {
			if !slices.Contains(got[k], v) {
				return false
			}
		}
	}
	return true
}

// loginHintNumber is the number in authURL's login_hint, "" for none.
func loginHintNumber(authURL string) string {
	u, err := url.Parse(authURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Query().Get("login_hint"), "tel:")
}

// withhold replaces number (its digits, with or without '+') in s, a text
// from the provider that may echo it, so that it never reaches an error.
func withhold(s, number string) string {
	digits := strings.TrimPrefix(number, "+")
	if len(digits) < 5 {
		return s
	}
	return strings.ReplaceAll(s, digits, "[number withheld]")
}

// withoutQuery removes the query from the URL an error names: the authorize
// URL's query carries login_hint, the phone number, which must never reach
// an error message (a timeout or a refused connection would print it).
func withoutQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.Fragment = "", ""
		ue.URL = u.String()
	} else {
		ue.URL = "(authorize URL)"
	}
	return err
}

// Exchange trades an authorization code for tokens at tokenEndpoint,
// authenticating with private_key_jwt when SigningKey is set, else with
// client_secret_basic.
func (c *Camara) Exchange(ctx context.Context, tokenEndpoint, code, verifier string) (Token, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {c.RedirectURI},
		"code_verifier": {verifier},
	}
	if c.SigningKey != nil {
		assertion, err := c.clientAssertion(tokenEndpoint)
		if err != nil {
			return Token{}, err
		}
		form.Set("client_id", c.ClientID)
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", assertion)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.SigningKey == nil {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return Token{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var oe OAuthError
		if json.NewDecoder(resp.Body).Decode(&oe) == nil && oe.Code != "" {
			return Token{}, &oe
		}
		return Token{}, fmt.Errorf("token: HTTP %d", resp.StatusCode)
	}
	var t Token
	return t, json.NewDecoder(resp.Body).Decode(&t)
}

// clientAssertionType is RFC 7523's client_assertion_type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: well inside
// the 300 s CAMARA's profile allows.
const assertionLifetime = time.Minute

// clientAssertion signs a private_key_jwt assertion for the token endpoint:
// iss and sub the client, aud the endpoint, a fresh jti, exp a minute
// ahead (RFC 7523 section 3, CAMARA's security profile).
func (c *Camara) clientAssertion(tokenEndpoint string) (string, error) {
	var alg jose.SignatureAlgorithm
	switch k := c.SigningKey.Public().(type) {
	case *rsa.PublicKey:
		alg = jose.RS256
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("client: the signing key is an EC key not on P-256")
		}
		alg = jose.ES256
	default:
		return "", fmt.Errorf("client: unsupported signing key %T (want RSA or P-256)", k)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if c.SigningKeyID != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), c.SigningKeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: c.SigningKey}, opts)
	if err != nil {
		return "", fmt.Errorf("client: assertion signer: %w", err)
	}
	now := time.Now()
	claims := jwt.Claims{
		Issuer: c.ClientID, Subject: c.ClientID, Audience: jwt.Audience{tokenEndpoint},
		ID: randString(), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(assertionLifetime)),
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// Verify asks whether phoneNumber (E.164) is the device's number.
func (c *Camara) Verify(ctx context.Context, accessToken, phoneNumber string) (bool, error) {
	body, _ := json.Marshal(map[string]string{"phoneNumber": phoneNumber})
	verified, err := c.verify(ctx, accessToken, body)
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Message = withhold(ae.Message, phoneNumber)
	}
	return verified, err
}

// VerifyHashed asks whether the number whose CAMARA hash is hash (see
// HashPhoneNumber) is the device's. A hash that is not 64 hexadecimal
// digits is refused without a request: it may be the clear number, passed
// here by mistake, which must not travel as a hash.
func (c *Camara) VerifyHashed(ctx context.Context, accessToken, hash string) (bool, error) {
	if len(hash) != 2*sha256.Size {
		return false, errors.New("camara: hashedPhoneNumber must be 64 hexadecimal digits (see HashPhoneNumber)")
	}
	if _, err := hex.DecodeString(hash); err != nil {
		return false, errors.New("camara: hashedPhoneNumber must be 64 hexadecimal digits (see HashPhoneNumber)")
	}
	body, _ := json.Marshal(map[string]string{"hashedPhoneNumber": strings.ToLower(hash)})
	return c.verify(ctx, accessToken, body)
}

// verify posts body to /verify and returns devicePhoneNumberVerified, which
// the answer must have: without it the answer is an error, not a "no".
func (c *Camara) verify(ctx context.Context, accessToken string, body []byte) (bool, error) {
	var out struct {
		Verified *bool `json:"devicePhoneNumberVerified"`
	}
	if err := c.api(ctx, http.MethodPost, "/verify", accessToken, body, &out); err != nil {
		return false, err
	}
	if out.Verified == nil {
		return false, errors.New("camara: the /verify answer lacks devicePhoneNumberVerified")
	}
	return *out.Verified, nil
}

// HashPhoneNumber returns CAMARA's hashedPhoneNumber of an E.164 number:
// the lowercase hexadecimal SHA-256 of the number with its leading '+'.
func HashPhoneNumber(e164 string) string {
	sum := sha256.Sum256([]byte(e164))
	return hex.EncodeToString(sum[:])
}

// DevicePhoneNumber returns the device's number.
func (c *Camara) DevicePhoneNumber(ctx context.Context, accessToken string) (string, error) {
	var out struct {
		Number string `json:"devicePhoneNumber"`
	}
	if err := c.api(ctx, http.MethodGet, "/device-phone-number", accessToken, nil, &out); err != nil {
		return "", err
	}
	if out.Number == "" {
		return "", errors.New("camara: the /device-phone-number answer lacks devicePhoneNumber")
	}
	return out.Number, nil
}

func (c *Camara) api(ctx context.Context, method, path, accessToken string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base()+"/number-verification/"+c.version()+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	correlator := randString()
	req.Header.Set("x-correlator", correlator)
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var ae APIError
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ae) != nil || ae.Code == "" {
			ae = APIError{}
		}
		ae.Status = resp.StatusCode
		ae.Correlator = correlator
		if echoed := resp.Header.Get("x-correlator"); echoed != "" {
			ae.Correlator = echoed
		}
		return &ae
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Step is one step of VerifyNumber, reported as it happens.
type Step struct {
	Name   string
	Detail string
}

// VerifyNumber runs the whole flow for number, playing both the backend and
// the device: discovery, authorize (with login_hint tel:number), token,
// /verify. Each step is passed to observe (which may be nil). It returns the
// verdict; an *OAuthError when the network could not identify the device.
func (c *Camara) VerifyNumber(ctx context.Context, number string, observe func(Step)) (bool, error) {
	if observe == nil {
		observe = func(Step) {}
	}
	d, err := c.Discover(ctx)
	if err != nil {
		return false, err
	}
	observe(Step{"discovery", "issuer " + d.Issuer})
	ar := NewAuthRequest("tel:"+number, "number-verification:verify")
	authURL := c.AuthorizeURL(d.AuthorizationEndpoint, ar)
	observe(Step{"authorize", "device opens " + d.AuthorizationEndpoint})
	code, err := c.openAsDevice(ctx, authURL, ar.State, d)
	if err != nil {
		return false, err
	}
	observe(Step{"redirect", "authorization code received, state checked"})
	tok, err := c.Exchange(ctx, d.TokenEndpoint, code, ar.PKCE.Verifier)
	if err != nil {
		return false, err
	}
	observe(Step{"token", fmt.Sprintf("access token (%s, expires in %d s), scope %q", tok.TokenType, tok.ExpiresIn, tok.Scope)})
	ok, err := c.Verify(ctx, tok.AccessToken, number)
	if err != nil {
		return false, err
	}
	observe(Step{"verify", fmt.Sprintf("devicePhoneNumberVerified=%t", ok)})
	return ok, nil
}
