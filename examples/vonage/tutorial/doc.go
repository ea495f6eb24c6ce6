// Package tutorial holds the pieces of Vonage's Number Verification
// tutorial — a backend with /login and /callback, and a client that logs in
// and then authenticates — written against the Vonage API as it is
// published, so that they run against Vonage itself or against numgate's
// Vonage dialect unchanged. The commands in ../backend and ../cli wrap it.
//
// Where the published tutorial cuts corners, this one does not:
//
//   - Per-attempt state. Each /login makes a fresh, unguessable state and
//     keeps the phone number with it, for a few minutes; the callback finds
//     its own attempt by its state. No phone number is ever kept in a
//     process-wide variable, so concurrent users cannot see each other's
//     results.
//   - The state is checked. A callback whose state is unknown, expired or
//     already used is refused, before any code is exchanged.
//   - TLS is verified. HTTP clients use the system's roots plus, when
//     given, a CA file (for a gateway with a private certificate); TLS
//     verification is never switched off.
//   - A fresh application JWT per request (Vonage's JWTs are single-use at
//     numgate), and no phone number in a log line.
package tutorial
