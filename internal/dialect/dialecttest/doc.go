// Package dialecttest is the test support the provider dialects (dqe, kpn,
// vonage) share: a gateway on loopback with the real core on SQLite and
// the virtual operator, a settable clock, a log buffer safe for concurrent
// writes, a client that does not follow redirects and reads whole
// answers, golden files, and the check that a text holds no phone number.
//
// Each dialect's harness mounts its own API on Gateway.Mux and builds its
// request helpers, clients and assertions on top: what a dialect's wire
// format looks like stays in its own tests. Only tests import this
// package (vonagetest, which the Vonage examples' tests use, included); a
// production binary never does.
package dialecttest
