// Package dqe serves the DQE ID Mobile numVerify dialect over numgate's one
// core attempt.
//
// # Endpoints
//
//	GET|POST /IDMOBILE/                 step 1, initiate: number, token, name, licence,
//	                                    scope=numVerify, redirect_uri (optional)
//	                                    → {"status":"success","operator":"…","url":"…"}
//	GET      /IDMOBILE/device/{token}   the url, opened by the device over mobile data
//	GET|POST /GET/                      step 2, retrieve: token, Licence, scope=numVerify
//	                                    → pending | success + numVerify | error + error_id
//
// GET takes the query string, POST an application/x-www-form-urlencoded
// body. Every answer is DQE's JSON: status "success", "pending" or "error";
// an error carries error_id and error_type from DQE's tables.
//
// # Licence and token
//
// numgate has one client registry for every dialect. A DQE licence is a
// client ID (store.Client.ID), and step 1's token is that client's secret,
// checked with oauth.CheckSecret; `numgate clients add` registers both. A
// redirect_uri must be one of the client's registered redirect URIs,
// character for character, so that a session can only be sent where its
// licence said.
//
// Step 2's token is the session token: 256 random bits that numgate appends
// to the redirect_uri (with the status) when the device comes back, and that
// is also the last path segment of step 1's url, for backends that do not
// use a redirect_uri. Only its hash is stored; it is bound to its licence,
// and it is spent once the result has been handed out (then, like an
// unknown token, it is error 30).
//
// # The device URL
//
// The url carries only the session token, never the phone number. When the
// device opens it, numgate identifies the device from its connection (the
// network.Connection of Config.Connection and its User-Agent), decides the
// attempt, and redirects to redirect_uri?token=…&status=… (status "success"
// when /GET/ will answer numVerify, "error" when it will answer an error
// id), or shows a short page when there is no redirect_uri. Opening the URL
// again changes nothing.
//
// # Results
//
//	attempt                                            /GET/ answers
//	created, device_seen (before the deadline)        pending
//	match                                              success, numVerify true
//	no_match                                           success, numVerify false
//	operator_unavailable                               error 18
//	not_identifiable, not_eligible, invalid_number     error 20 (OTP process failed)
//	consent_declined                                   error 21
//	expired (the device never came)                    error 30
//	result already retrieved                           error 30
//
// # Errors
//
// Each id of DQE's two tables is reached by the condition its ErrorID
// constant documents (01 … 99). They are checked in a fixed order — the
// request's form, then the licence and token, then what is asked, then the
// operator — and every check comes before the attempt is started, so a
// refused request creates nothing. Error bodies are HTTP 200, as DQE's
// clients branch on status; 99 alone is a 500 (same body), and 01 is a
// 429 with Retry-After when the core's rate limits refused the attempt
// (DQE's tables have no id of their own for it). Neither an
// error_type nor a log line ever carries the number, a secret or a token.
//
// # Operators
//
// The operator of step 1's answer comes from Config.Operator (the operator
// directory). Config.Operators, when set, lists the operators served, each
// with the licences it serves, its scopes, and a maintenance switch; they
// are the conditions of errors 13 to 17.
package dqe
