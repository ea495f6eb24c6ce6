// Package ueid is numgate's lookup API for the operator's own systems,
// modelled on the UEId API of 3GPP TS 29.522 (`{apiRoot}/3gpp-ueid/v1`):
// given a UE's IP address (and, behind carrier-grade NAT, its source port)
// it says which subscriber owns that address now.
//
// TS 29.522 defines one custom operation, `POST /retrieve`, which answers an
// AF-specific External Identifier (UeIdInfo.externalId) that numgate does
// not have. This package therefore adds two custom operations in the same
// style, under the same API root, taking the standard request body UeIdReq:
//
//	POST /3gpp-ueid/v1/get-msisdn     UeIdReq            → 200 MsisdnInfo {gpsi, msisdn}
//	POST /3gpp-ueid/v1/verify-msisdn  MsisdnVerifyReq    → 200 MsisdnVerification {verified}
//
// UeIdReq's field names are TS 29.522's: afId (required), ueIpAddr (TS 29.571
// IpAddr: exactly one of ipv4Addr, ipv6Addr, ipv6Prefix), portNumber (TS
// 29.122 Port, the UE's source port, needed for a CGNAT public address), dnn
// (the APN / routing domain; ipDomain is read as one when dnn is absent).
// Other UeIdReq members (appPortId, snssai, mtcProviderId, suppFeat) are
// accepted and ignored, as unknown members are; ueMacAddr alone cannot be
// served. A GPSI is written as TS 29.571 writes it ("msisdn-" and the
// digits), an Msisdn as TS 29.571's Msisdn type (digits, no '+').
//
// verify-msisdn takes the same body plus the number to check (gpsi, or
// msisdn with or without '+') and answers only true or false: it never
// reveals whose address it is. Both operations answer 404 CONTEXT_NOT_FOUND
// when no subscriber can be placed at the address now (no binding, a binding
// that has stopped, an address now owned by someone else, a CGNAT address
// without a matching port): never a guess.
//
// The lookup is made at the time the request is received. With a dnn (or
// ipDomain) it asks the RADIUS binding table of that routing domain
// (Config.Domains); without, the gateway's identification chain
// (Config.Identifier) with a bare connection: address, port and time, no
// headers, no claimed number, so only network identifiers (static bindings,
// RADIUS) can answer.
//
// # Security
//
// The API is never mounted unless configured (config ueid.token_file).
// Every request needs `Authorization: Bearer TOKEN`, checked against a
// credentials file read once at start (see ParseCredentials): only SHA-256
// digests of the tokens are kept, compared in constant time with every
// credential. A credential names the afId it may use ("*" for any) and the
// operations it may call, so a system that only needs verify-msisdn never
// holds a token that reveals numbers.
//
// Errors are TS 29.122 ProblemDetails (RFC 7807, application/problem+json)
// with a cause from TS 29.500 / 29.122's application errors. No error,
// log line or metric label carries a phone number.
package ueid
