// Package core owns the verification attempt: its states, deadline,
// identification, comparison and consumption. Every dialect (CAMARA, KPN,
// Vonage, DQE) drives the same Service; nothing here knows which one called.
//
// Life cycle:
//
//	created ──device opens URL──▶ device_seen ──identifier answers──▶ decided ──result taken──▶ consumed
//	   └──────────── deadline ────────┴──────────────▶ expired
//
// Terminal transitions are idempotent: a retried device request or a second
// replica seeing the same step changes nothing twice.
package core
