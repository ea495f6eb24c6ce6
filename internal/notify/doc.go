// Package notify delivers webhooks through the store's durable outbox
// (store.Outbox): at least once, across gateway restarts and replicas.
//
// A producer (the KPN dialect's device_match_notify, and any later push)
// calls Notifier.Enqueue or Notifier.EnqueueKey, which writes one
// store.Delivery. Notifier.Run, started once per gateway process, claims due
// deliveries with a lease, POSTs each with a per-try timeout and records the
// try:
//
//   - a 2xx answer: delivered;
//   - anything else (another status, a redirect, a network error, a
//     timeout): pending again, due after an exponential backoff with jitter
//     (BaseDelay·2^(tries-1), capped at MaxDelay; a Retry-After on 429 or
//     503 is honoured up to MaxDelay), until MaxTries tries have been made:
//     then failed, with LastError recorded;
//   - a URL that is not http or https: failed at once, never tried.
//
// The delivery's ID is its idempotency key: it is sent as the
// Idempotency-Key header with every try, unchanged across retries and
// restarts, so a receiver that got a try whose answer was lost can tell the
// repeat.
//
// Durability: a delivery is written before Enqueue returns. A gateway that
// stops (or crashes) mid-try leaves the delivery pending; its lease runs out
// and the next Notifier on the same store, in this process or another,
// claims and sends it again. On an orderly stop (Run's context ends) the
// in-flight tries are abandoned without being counted and their leases are
// released at once.
//
// Privacy: bodies and URLs' paths and queries are never logged, never put
// in a metric label and never in LastError (they may carry phone numbers
// or tokens); log lines name the delivery, its kind and the receiver's host.
package notify
