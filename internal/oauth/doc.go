// Package oauth is numgate's OAuth 2.0 / OpenID Connect authorization server,
// profiled for CAMARA: the authorization code flow with silent network-based
// authentication inside /authorize, PKCE (S256), client authentication by
// private_key_jwt (assertions of at most 300 s with single-use jti) or by
// client secret, the client credentials grant, pairwise ID token subjects,
// and short-lived, single-use access tokens for the resource server.
//
// It is a narrow core of its own, written on github.com/go-jose/go-jose/v4
// for every JOSE operation (see docs/design/2026-11-23-oauth-core.md for why
// it does not use zitadel/oidc's op package or fosite). Each file does one
// job:
//
//	server.go     Config, New, Mount: wiring and defaults
//	errors.go     Error, the RFC 6749 error codes, and the one renderer
//	discovery.go  the OIDC discovery document and the JWKS endpoint
//	keys.go       the server's signing keys (RS256 and ES256), persisted as a JWK set
//	authorize.go  /authorize: request checks, network login, code issuance
//	params.go     form parsing shared by both endpoints (duplicates, limits)
//	scope.go      scope and purpose (dpv:) rules
//	loginhint.go  the CAMARA login_hint formats
//	pkce.go       PKCE (RFC 7636, S256 only)
//	clientauth.go client authentication at /token (secret, private_key_jwt, none)
//	assertion.go  private_key_jwt assertion checks (RFC 7523, CAMARA ICM)
//	token.go      /token: grant dispatch, authorization_code, client_credentials
//	idtoken.go    ID token minting
//	accesstoken.go access tokens for the resource server
//	secret.go     client secret hashing
//	client.go     client registration checks
//
// Nothing in this package ever logs or renders a phone number, a secret, an
// authorization code or a token.
package oauth
