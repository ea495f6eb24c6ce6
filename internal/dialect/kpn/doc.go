// Package kpn serves the KPN Number Verify dialect over numgate's one core
// attempt.
//
// # Endpoints
//
// All paths are under Config.Prefix (default "/kpn"; KPN's production
// base path is /communication/kpn/numberverify):
//
//	POST /token                   form client_id, client_secret, scopes (or scope), comma- or space-separated
//	                              → {"access_token":"…","token_type":"Bearer","expires_in":3600}
//	POST /insights/{msisdn}       Bearer token; body {} (or empty) or {"device_match_notify":{…}}
//	                              → {"device_match":{"session_uri","polling_uri"},"operator_lookup":{…}}
//	                              | {"device_match_notify":{"session_uri"},"operator_lookup":{…}}
//	GET  /session/{session_id}    the session_uri, opened by the device over mobile data
//	                              → 302 Location {prefix}/session/done → {"status":"OK"}
//	GET  /session                 header session_uri (the URI or the id) → {"status":"OK"}
//	GET  /polling/{polling_id}    Bearer token (device_match) → the result
//	GET  /polling                 header polling_uri (the URI or the id), Bearer token → the result
//
// The msisdn is E.164 without "+" (31630000001), as the seed writes it; a
// leading "+" is accepted too.
//
// # Clients and tokens
//
// numgate has one client registry for every dialect: a KPN client_id and
// client_secret are a registered client (store.Client) and its secret,
// checked with oauth.CheckSecret; `numgate clients add` registers both.
// The credentials come in the form or by HTTP Basic.
//
// A token carries the scopes asked for: operator_lookup, device_match
// (polling), device_match_notify (notification); device_match and
// device_match_notify exclude each other. A client registered with an
// empty scope list may ask for all three; a client registered with a list
// (`numgate clients add --scope …`) only for the KPN scopes on it, as the
// list is an allow-list for every dialect. Tokens are 256 random bits, valid
// for Config.TokenLifetime; only their hash is stored, and a removed
// client's tokens stop working.
//
// # Insights
//
// operator_lookup is answered when the token has the scope: regionCode,
// operatorName, mcc, mnc from Config.Operator, each null when unknown.
// With scope device_match and a body without device_match_notify, an
// attempt starts in polling mode and the answer carries session_uri and
// polling_uri; with a device_match_notify body (which needs that scope),
// in notify mode with session_uri only. A token with only operator_lookup
// starts nothing, nor does an empty body with a token for operator_lookup
// and device_match_notify (it answers operator_lookup alone); an empty body
// with a token for device_match_notify alone is 400.
//
// session_uri and polling_uri are Config.BaseURL + prefix + /session/<id>
// and /polling/<id>: two separate random 256-bit ids, neither derived from
// the other nor from the number. The number never appears in a URL.
//
// # The session
//
// The device opening its session_uri (or /session with the session_uri
// header) is identified from its connection (Config.Connection and its
// User-Agent): the core decides the attempt, and the dialect consumes it at
// once (core Take), as the KPN result needs only the outcome, the device's
// address and its User-Agent, which a consumed attempt keeps; the device's
// number is forgotten. Opening the session again changes nothing. An
// Authorization header is optional on /session; when sent it must be a
// valid token of the session's client with scope device_match or
// device_match_notify. A session past its deadline is 404.
//
// # Results
//
// The polling result, and the notification's body, is
//
//	{"msisdn":"31630000001","device_match":true,"remote_addr":"…","user_agent":"…","errors":[]}
//
// msisdn is the number the insights request asked about; remote_addr and
// user_agent are the device's, "" until it came. errors says why
// device_match is null:
//
//	attempt                                    device_match  errors
//	created, device_seen (before deadline)    null          [{"device_match":"AVAILABLE"}]  (poll again)
//	match                                      true          []
//	no_match                                   false         []
//	not_identifiable (Wi-Fi, unknown address)  null          [{"device_match":"UNAVAILABLE","reason":"NOT_IDENTIFIABLE"}]
//	not_eligible                               null          [{"device_match":"UNAVAILABLE","reason":"NOT_ELIGIBLE"}]
//	operator_unavailable                       null          [{"device_match":"UNAVAILABLE","reason":"OPERATOR_UNAVAILABLE"}]
//	consent_declined                           null          [{"device_match":"UNAVAILABLE","reason":"CONSENT_DECLINED"}]
//	invalid_number                             null          [{"device_match":"UNAVAILABLE","reason":"INVALID_NUMBER"}]
//	expired (the device never came)            null          [{"device_match":"UNAVAILABLE","reason":"EXPIRED"}]
//
// A result can be polled again and again, by the client that made the
// insights request, until Config.ResultRetention after the attempt's
// deadline. A poll past the deadline expires an attempt the device never
// reached, so polling never answers AVAILABLE forever.
//
// # Notifications
//
// In notify mode the result is POSTed to notification_uri with
// Authorization: Bearer <notification_token>, through Config.Notifier (the
// durable outbox of internal/notify, which retries and sends
// Idempotency-Key), exactly once per attempt under the key
// "kpn-<attempt id>": after the device opened the session URI, or, if it
// never did, when the attempt expires — reported by the server's sweep
// through API.Report, or by a late device. Until then the attempt
// keeps the notification target and the number; once enqueued they are
// dropped from the attempt. With no Notifier, a device_match_notify request
// is answered 503 and starts nothing.
//
// A notification is never lost: a notify-mode attempt starts with a report
// mark (core.StartRequest.Report, store.Attempt.ReportAt), and the write
// that drops the notification target after the enqueue also clears the
// mark (core.Service.Reported). If the enqueue fails, or the process dies
// between the decision and the enqueue, the attempt ends still marked; the
// server's sweep finds it (core.Service.DueReports) and calls API.Report,
// which settles a decided attempt and enqueues the result — the fixed key
// makes a second enqueue store nothing — and the sweep retries a failed
// report at its next run.
//
// # Errors
//
// Every error is KPN's shape, {"error_code": <HTTP status, a number>,
// "message": "<reason phrase>: <what was wrong>"}: 400 (a malformed form,
// body, msisdn, scope list or notification target; both device_match
// scopes), 401 (missing, wrong or expired client credentials or token),
// 403 (a scope the token or the client's registration lacks; another
// client's session or polling id), 404 (an unknown or expired session or
// polling id, any other path), 405 (a wrong method), 429 (the core's rate
// limits refused the attempt, with Retry-After), 500 (numgate failed:
// logged with a reference), 503 (notifications switched off). Checks
// come before anything is stored: a refused request changes nothing.
//
// # Privacy
//
// No message and no log line carries a phone number, a client secret, an
// access token, a session or polling id, a notification token or URI. The
// store holds hashes of tokens and ids only. The polling id's grant keeps
// the number sealed (AES-GCM) under a key derived from the polling id,
// which only the client holds.
package kpn
