// Package camara serves the CAMARA Number Verification API: v2.1.0 (release
// r3.2) at /number-verification/v2 and v1.0 (r1.3, with the aggregators'
// assessedAt) at /number-verification/v1.
//
// The API is a resource server: the access token comes from the OAuth
// server (internal/oauth), which identified the device at /authorize. This
// package validates the request, checks the token's scope and how the user
// was authenticated, and asks the core to compare or hand out the number.
// Every error is rendered exactly as the API definition's table says
// (status, code, message); the specific reason goes to the log line, which
// carries the correlator but never the number.
package camara
