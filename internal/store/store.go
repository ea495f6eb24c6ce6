// Package store defines numgate's storage contract: the plain types that are
// persisted, the sentinel errors every backend returns, and the Store
// interface. Backends live in sub-packages (sqlite, postgres) and all pass the
// one conformance suite in storetest.
//
// Every update is atomic by construction: read-modify-write goes through
// closures (UpdateAttempt), and single-use values (authorization codes, access
// tokens, client-assertion jti values) go through one atomic ConsumeGrant or
// an insert that fails on a duplicate key.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors returned by every backend. Callers test them with errors.Is.
var (
	// ErrNotFound: no such record, or it has expired.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists: a record with that key exists (also: a replayed jti).
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict: a concurrent update won; the caller may retry.
	ErrConflict = errors.New("store: conflict")
)

// Client is a registered relying party (an app's backend).
type Client struct {
	// ID is the OAuth client_id (for Vonage: the application_id).
	ID string
	// SecretHash is the salted SHA-256 of the client secret, or empty when the
	// client authenticates only with private_key_jwt. See docs/design.
	SecretHash []byte
	// SecretSalt is the per-client salt of SecretHash.
	SecretSalt []byte
	// JWKS is the client's public key set (a JSON Web Key Set), used for
	// private_key_jwt and for Vonage application JWTs; empty when none.
	JWKS []byte
	// RedirectURIs are the exact redirect URIs the client may use.
	RedirectURIs []string
	// Scopes the client may ask for; empty means every scope numgate serves.
	Scopes []string
	// IDTokenAlg is the JWS algorithm of the client's ID tokens; empty means RS256.
	IDTokenAlg string
	// CreatedAt is when the client was registered.
	CreatedAt time.Time
}

// Attempt is one verification attempt: the one core object that every
// dialect drives through its life cycle (see internal/core).
type Attempt struct {
	ID       string
	ClientID string
	// Dialect names the API that started the attempt (camara, kpn, ...); the
	// core never branches on it, it is kept for audit and metrics.
	Dialect string
	State   string
	Outcome string
	// ClaimedNumber is the number the user typed, in E.164, while it is still
	// needed; cleared once the attempt is decided (ClaimedHash remains).
	ClaimedNumber string
	// ClaimedHash is the keyed pseudonym of the claimed number.
	ClaimedHash string
	// DeviceNumber is the number the network identified, while it is needed
	// (CAMARA's /device-phone-number); cleared when the attempt is consumed.
	DeviceNumber string
	// DeviceHash is the keyed pseudonym of the device number.
	DeviceHash string
	// IdentifiedBy names the identifier that answered (virtual, static, ...).
	IdentifiedBy string
	// DeviceAddr and UserAgent describe the device's connection. UserAgent
	// is stored as ValidText returns it.
	DeviceAddr string
	UserAgent  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Deadline is when the attempt expires if it is not yet decided/consumed.
	Deadline time.Time
	// Data is the dialect's own JSON (redirect URI, state, webhook target, ...).
	Data []byte
	// ReportAt, when not zero, says that the attempt's end must still be
	// reported by its dialect (a webhook, for example), and from when:
	// once the attempt is no longer open and ReportAt is not after now,
	// DueReports returns it until the dialect clears ReportAt in the write
	// that records the report as done. Zero: nothing to report.
	ReportAt time.Time
}

// GrantKind names a family of single-use or short-lived values.
type GrantKind string

// Kinds of grant used by the core and the dialects. Dialects may add their own.
const (
	GrantCode        GrantKind = "code"
	GrantAccessToken GrantKind = "access_token"
	GrantAssertion   GrantKind = "jti"
)

// Grant is a short-lived value looked up by a hashed key: an authorization
// code, an access token, a seen client-assertion jti, a dialect session id.
type Grant struct {
	Kind GrantKind
	// Key is the lookup key; for secrets it is a hash of the value, never the value.
	Key       string
	ClientID  string
	AttemptID string
	// Data is the owner's JSON (scopes, redirect URI, PKCE challenge, ...).
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the storage contract every backend fulfils.
type Store interface {
	Outbox

	// CreateClient stores a new client; ErrAlreadyExists if the ID is taken.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns a client or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client, ordered by ID.
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes a client or returns ErrNotFound.
	DeleteClient(ctx context.Context, id string) error

	// CreateAttempt stores a new attempt; ErrAlreadyExists if the ID is taken.
	CreateAttempt(ctx context.Context, a Attempt) error
	// GetAttempt returns an attempt or ErrNotFound.
	GetAttempt(ctx context.Context, id string) (Attempt, error)
	// UpdateAttempt applies fn to the current attempt and stores its result
	// atomically. If fn returns an error nothing is written and that error is
	// returned. The ID may not change.
	UpdateAttempt(ctx context.Context, id string, fn func(Attempt) (Attempt, error)) (Attempt, error)

	// DueAttempts returns up to limit attempts still open (state created or
	// device_seen) whose deadline is before now, oldest deadline first, so the
	// core can expire them and report the expiry to whoever waits.
	DueAttempts(ctx context.Context, now time.Time, limit int) ([]Attempt, error)
	// DueReports returns up to limit attempts that are no longer open
	// (decided, consumed or expired) and whose ReportAt is set and not after
	// now, oldest ReportAt first (then by ID), so the server can hand each
	// to its dialect to report. An attempt stays due until its ReportAt is
	// cleared.
	DueReports(ctx context.Context, now time.Time, limit int) ([]Attempt, error)

	// PutGrant stores a grant; ErrAlreadyExists if (Kind, Key) is present and
	// not yet expired at g.CreatedAt (an expired one is replaced).
	PutGrant(ctx context.Context, g Grant) error
	// GetGrant returns an unexpired grant without consuming it, or ErrNotFound.
	GetGrant(ctx context.Context, kind GrantKind, key string, now time.Time) (Grant, error)
	// ConsumeGrant atomically removes and returns an unexpired grant; of two
	// concurrent callers exactly one succeeds, the other gets ErrNotFound.
	ConsumeGrant(ctx context.Context, kind GrantKind, key string, now time.Time) (Grant, error)

	// CreateAttemptWithGrant stores a new attempt and a grant for it in one
	// transaction: both or neither. ErrAlreadyExists if the attempt ID is
	// taken or (Kind, Key) holds a grant unexpired at g.CreatedAt.
	CreateAttemptWithGrant(ctx context.Context, a Attempt, g Grant) error
	// RedeemGrant uses up a single-use grant and acts on its attempt in one
	// transaction. It finds the grant (kind, key) unexpired at now
	// (ErrNotFound if there is none) and the attempt it names (a zero Attempt
	// when the grant names none or the attempt is gone), and calls fn with
	// both. If fn returns an error nothing is written and that error is
	// returned as is. Otherwise the grant is removed, the attempt fn returns
	// in Redemption.Attempt (if any) is stored, and the grants in
	// Redemption.Grants are put as by PutGrant (one already present means
	// ErrAlreadyExists and nothing written). Of concurrent callers with one
	// grant exactly one gets past the lookup; the others get ErrNotFound. It
	// returns the grant as it was and the attempt as stored. fn must not call
	// the store.
	RedeemGrant(ctx context.Context, kind GrantKind, key string, now time.Time, fn func(Grant, Attempt) (Redemption, error)) (Grant, Attempt, error)

	// GarbageCollect deletes grants that expired before now, attempts whose
	// deadline passed more than retain ago, and webhook deliveries that
	// ended (delivered or failed) more than retain ago, and reports how
	// many. A pending delivery is never removed, nor an attempt whose end is
	// still to be reported (ReportAt set).
	GarbageCollect(ctx context.Context, now time.Time, retain time.Duration) (GCResult, error)

	// ForgetDeviceNumbers clears the device number of the attempts still
	// decided (their result was never taken) whose deadline is in [from,
	// to), and returns how many. Outcome and device hash stay.
	ForgetDeviceNumbers(ctx context.Context, from, to time.Time) (int64, error)

	// Ping reports whether the backend answers a query now (readiness: the
	// database file is readable, the PostgreSQL server reachable).
	Ping(ctx context.Context) error

	// Close releases the backend's resources.
	Close() error
}

// Redemption is what a RedeemGrant function decides besides using up the
// grant.
type Redemption struct {
	// Attempt, when not nil, replaces the grant's attempt (same ID).
	Attempt *Attempt
	// Grants are stored with the redemption, for example the access token an
	// authorization code is exchanged for.
	Grants []Grant
}

// GCResult counts what GarbageCollect removed.
type GCResult struct {
	Grants     int64
	Attempts   int64
	Deliveries int64
}

// ValidText returns s as every backend stores free text that comes from
// outside (Attempt.UserAgent, Delivery.LastError): valid UTF-8 without NUL,
// each run of invalid bytes and each NUL replaced by U+FFFD. PostgreSQL
// refuses anything else in a text column, so the backends store the same
// text instead of one failing the write.
func ValidText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}
