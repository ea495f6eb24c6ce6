// Package vonage serves the Vonage Number Verification dialect (Network
// Enablement + CAMARA Number Verification v0.3.1) over numgate's one core
// attempt, with the OAuth server's authorization codes and access tokens.
//
// # Flow
//
//	backend  POST /v0.1/network-enablement    Authorization: Bearer <application JWT>
//	         {"phone_number":"+…","scopes":["dpv:FraudPreventionAndDetection#number-verification-verify-read"],"state":"…"}
//	      ←  {"scopes":{"<scope>":{"auth_url":"…/oauth2/auth?…"}}}
//	device   GET auth_url                      over mobile data: numgate identifies the device
//	      ←  302 to the application's redirect URI with code and state
//	         (or error, error_description and state)
//	backend  POST /oauth2/token                Bearer <application JWT>; grant_type=authorization_code, code, redirect_uri
//	      ←  {"access_token":"…","token_type":"Bearer","expires_in":<minutes>}
//	backend  POST /camara/number-verification/v031/verify   Bearer <access token>; {"phoneNumber":"+…"}
//	      ←  {"devicePhoneNumberVerified":true|false}
//
// # Applications
//
// A Vonage application is a numgate client (store.Client): its ID is the
// application_id, its JWKS holds the application's RSA public key, and
// its first redirect URI is its "Number Verification Redirect", where the
// device is sent. Client.Scopes, when not empty, restricts the scopes it
// may ask for as the client registry writes them: number-verification:verify
// for the API and dpv:<Purpose> values for the purposes (see allowedScope).
//
// # Application JWTs
//
// The Network Enablement and token calls are authenticated by an RS256 JWT
// signed with the application's private key, as Vonage's own libraries make
// it: header {"alg":"RS256","typ":"JWT"}; claims application_id, iat, exp
// and jti (a UUID), and optionally sub, acl (ignored) and nbf. The JWT is
// verified with go-jose against the application's registered keys (a kid,
// when present, picks the key), its times with a leeway of JWTLeeway, its
// exp at most Config.MaxJWTLifetime ahead, and its jti is single-use: it is
// recorded (a store grant) until the JWT expires, after the request has been
// validated, so a refused request leaves it usable; a JWT already used is
// refused before the rate limits count anything. Make a new JWT per
// request, as the SDKs do.
//
// # The auth_url
//
// The Network Enablement call starts the attempt with the claimed number
// and answers numgate's /oauth2/auth with the parameters Vonage's SDKs use
// — client_id, redirect_uri, response_type=code, scope, state, login_hint —
// but login_hint is operatortoken:<reference>, an opaque, single-use
// reference to the attempt (CAMARA's form for an opaque subscriber token),
// never the phone number: the number stays in the attempt. The request
// must repeat the call's redirect_uri, scope and state.
//
// The direct form that the SDKs build themselves,
// /oauth2/auth?client_id=…&redirect_uri=…&response_type=code&scope=…&state=…&login_hint=+E164,
// is served too: it starts its attempt when the device opens it.
//
// The device's redirect carries code and state, or error and
// error_description with the codes of the OAuth server (for example
// login_required when the device is on Wi-Fi, temporarily_unavailable when
// the operator does not answer or the attempt expired, access_denied when
// the number is not eligible or the subscriber opted out).
//
// # Tokens
//
// Codes and access tokens are the OAuth server's (oauth.Server.IssueCode,
// RedeemCode, LookupAccessToken, ConsumeAccessTokenAndCompare): single-use,
// bound to the application and its redirect URI, a replayed code revokes
// its token; /verify uses the token up and compares in one transaction.
// expires_in is in minutes, as Vonage documents it, rounded down and at
// least 1, so that no client uses the token after it expired. /verify uses
// the token up and answers once.
//
// # Errors
//
// Every error response is an RFC 7807 problem (application/problem+json:
// type, title, detail, instance) with Vonage's type URIs
// (https://developer.vonage.com/api-errors#unauthorized, …). The checks run
// in the order 401, 415/400, 403, and only then is anything single-use spent
// or any attempt started: a refused request changes nothing. A start the
// core's rate limits refuse is 429 #throttled with Retry-After (and
// temporarily_unavailable on the direct authorize URL). No detail or
// log line carries a phone number, a JWT, a code or a token.
package vonage
