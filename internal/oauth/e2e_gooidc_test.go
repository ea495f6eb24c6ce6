package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/randid"
)

// TestRelyingPartyGoOIDC runs the whole flow with golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3, unmodified: discovery, an authorization
// URL with S256 PKCE and a nonce, the device following it, the code
// exchange with a client secret, and ID token verification against the
// published JWKS.
func TestRelyingPartyGoOIDC(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name   string
		client string
		style  oauth2.AuthStyle
		scopes []string
	}{
		{name: "secret in header, auth style probed, RS256 ID token", client: clientSecret, style: oauth2.AuthStyleAutoDetect,
			scopes: []string{oidc.ScopeOpenID, "number-verification:verify", "number-verification:device-phone-number:read", purpose}},
		{name: "secret in form, ES256 ID token", client: clientLimited, style: oauth2.AuthStyleInParams,
			scopes: []string{oidc.ScopeOpenID, "number-verification:verify", purpose}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			provider, err := oidc.NewProvider(ctx, e.issuer)
			if err != nil {
				t.Fatal(err)
			}
			conf := oauth2.Config{
				ClientID: tc.client, ClientSecret: secretOfRP, RedirectURL: redirectURI,
				Endpoint: provider.Endpoint(), Scopes: tc.scopes,
			}
			conf.Endpoint.AuthStyle = tc.style

			verifier := oauth2.GenerateVerifier()
			state, nonce := randid.ID(), randid.ID()
			authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce),
				oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("login_hint", "tel:"+deviceNumber))

			resp, err := device().Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			v := e.redirected(t, resp)
			if v.Get("state") != state || v.Get("code") == "" {
				t.Fatalf("callback %v", v)
			}

			tok, err := conf.Exchange(ctx, v.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			e.remember(tok.AccessToken)
			if tok.RefreshToken != "" {
				t.Error("a refresh token was issued")
			}
			if left := time.Until(tok.Expiry); left <= 0 || left > 300*time.Second {
				t.Errorf("token expires in %v", left)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := provider.Verifier(&oidc.Config{ClientID: tc.client}).Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if idt.Nonce != nonce {
				t.Errorf("nonce %q, want %q", idt.Nonce, nonce)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			if idt.Subject == "" || strings.Contains(idt.Subject, deviceNumber[1:]) || idt.Subject != e.pseudo.Pseudonym(deviceNumber, tc.client) {
				t.Errorf("sub %q is not the pairwise pseudonym", idt.Subject)
			}

			// The resource server's view: a network-authenticated token
			// whose attempt compares with the claimed number once.
			at, err := e.srv.ConsumeAccessToken(ctx, tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if !at.NetworkAuthenticated {
				t.Error("not network authenticated")
			}
			match, err := e.core.Compare(ctx, at.AttemptID, core.Claim{Number: deviceNumber})
			if err != nil || !match {
				t.Errorf("Compare: %v %v", match, err)
			}
		})
	}
}

// TestRelyingPartyGoOIDCWiFi: the RP library sees the OIDC error redirect.
func TestRelyingPartyGoOIDCWiFi(t *testing.T) {
	e := newEnv(t, nil)
	provider, err := oidc.NewProvider(context.Background(), e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientSecret, ClientSecret: secretOfRP, RedirectURL: redirectURI, Endpoint: provider.Endpoint(), Scopes: []string{"openid", "number-verification:verify", purpose}}
	req, _ := http.NewRequest(http.MethodGet, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil)
	req.Header.Set("X-Test-Outcome", "wifi")
	resp, err := device().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	v := e.redirected(t, resp)
	if v.Get("error") != "login_required" || !strings.Contains(v.Get("error_description"), "Wi-Fi") {
		t.Errorf("callback %v", url.Values(v))
	}
}
