package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// Config configures a Service. Store, Identifier and Pseudonymizer are required.
type Config struct {
	Store         store.Store
	Identifier    network.Identifier
	Pseudonymizer *msisdn.Pseudonymizer
	// Lifetime is an attempt's default deadline after creation (default 5 min).
	Lifetime time.Duration
	// IdentifyTimeout bounds one identification (default 5 s); an identifier
	// that is slower yields OutcomeOperatorUnavailable.
	IdentifyTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives audit lines; it never sees a phone number.
	Logger *slog.Logger
	// Limiter, when set, bounds how often attempts start per client and per
	// claimed number (a *ratelimit.Limiter); a refusal is ErrRateLimited.
	Limiter Limiter
	// Registerer, when set, receives the attempt counters
	// (numgate_attempts_started_total, …_decided_total, …_refused_total).
	Registerer prometheus.Registerer
}

// Limiter bounds how often attempts start: AllowN admits n starts at
// once, or none. numberKey is a pseudonym of the claimed number, or empty
// when there is none.
type Limiter interface {
	AllowN(clientID, numberKey string, n int) error
}

// Service runs verification attempts. It is safe for concurrent use, and
// several replicas may share one store.
type Service struct {
	store    store.Store
	ident    network.Identifier
	pseudo   *msisdn.Pseudonymizer
	lifetime time.Duration
	timeout  time.Duration
	now      func() time.Time
	log      *slog.Logger
	limiter  Limiter
	metrics  *metrics
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Identifier == nil || cfg.Pseudonymizer == nil {
		return nil, errors.New("core: Store, Identifier and Pseudonymizer are required")
	}
	s := &Service{
		store: cfg.Store, ident: cfg.Identifier, pseudo: cfg.Pseudonymizer,
		lifetime: cfg.Lifetime, timeout: cfg.IdentifyTimeout, now: cfg.Now, log: cfg.Logger,
		limiter: cfg.Limiter,
	}
	if s.lifetime <= 0 {
		s.lifetime = 5 * time.Minute
	}
	if s.timeout <= 0 {
		s.timeout = 5 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("core: metrics: %w", err)
	}
	s.metrics = m
	return s, nil
}

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.now() }

// StartRequest opens an attempt.
type StartRequest struct {
	ClientID string
	Dialect  string
	// ClaimedNumber is the E.164 number the user typed, or empty when the
	// number is given only later (CAMARA's /verify).
	ClaimedNumber string
	// Lifetime overrides the service's default deadline when positive.
	Lifetime time.Duration
	// Data is the dialect's own JSON, stored with the attempt.
	Data []byte
	// Admitted: the caller already counted this start against the rate
	// limits with Admit (one request starting several attempts counts them
	// at once, so that a refusal starts none); the Limiter is not asked
	// again.
	Admitted bool
	// Report says that the dialect reports the attempt's end itself (a
	// webhook): the attempt is marked (store.Attempt.ReportAt, its creation
	// time) until the dialect calls Reported, and DueReports returns it
	// once it ended unreported, so a report lost to a crash or a failed
	// write is made later.
	Report bool
}

// Start creates an attempt in state created.
func (s *Service) Start(ctx context.Context, r StartRequest) (store.Attempt, error) {
	if r.ClaimedNumber != "" && !msisdn.Valid(r.ClaimedNumber) {
		return store.Attempt{}, ErrInvalidClaim
	}
	if err := s.allow(ctx, r, ""); err != nil {
		return store.Attempt{}, err
	}
	a := s.newAttempt(r)
	if err := s.store.CreateAttempt(ctx, a); err != nil {
		return store.Attempt{}, fmt.Errorf("core: create attempt: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "attempt started",
		slog.String("attempt", a.ID), slog.String("client", a.ClientID), slog.String("dialect", a.Dialect))
	s.metrics.start(a.Dialect)
	return a, nil
}

// Admit counts n attempt starts of clientID for claimedNumber (empty when
// none) against the rate limits, all or none: ErrRateLimited when they do
// not fit, ErrInvalidClaim for a malformed number. The starts then go
// through Start with StartRequest.Admitted set.
func (s *Service) Admit(ctx context.Context, clientID, dialect, claimedNumber string, n int) error {
	if claimedNumber != "" && !msisdn.Valid(claimedNumber) {
		return ErrInvalidClaim
	}
	return s.admit(ctx, clientID, dialect, claimedNumber, "", n)
}

// allow asks the Limiter whether r may start an attempt, unless the
// caller admitted it already. via is the device's network on the
// device-facing routes (deviceNetwork), empty on the backends' routes.
func (s *Service) allow(ctx context.Context, r StartRequest, via string) error {
	if r.Admitted {
		return nil
	}
	return s.admit(ctx, r.ClientID, r.Dialect, r.ClaimedNumber, via, 1)
}

// deviceNetwork names the network a device-facing request came from, for
// the rate limits: its IPv4 address or IPv6 /64, or "unknown" when the
// address could not be resolved (never empty: a device-facing start must
// not fall into the backends' buckets).
func deviceNetwork(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		return netip.PrefixFrom(a, 32).String()
	default:
		return netip.PrefixFrom(a, 64).Masked().String()
	}
}

// admit asks the Limiter for n starts and logs a refusal (never the
// number). A start from a device-facing route (via names the device's
// network) is counted per client and per number *from that network*:
// client_id and login_hint are public there, so a client-wide or
// number-wide bucket would let anyone spend a relying party's or a
// subscriber's allowance. The backends' routes (via empty) are
// authenticated and count client-wide and number-wide.
func (s *Service) admit(ctx context.Context, clientID, dialect, number, via string, n int) error {
	if s.limiter == nil {
		return nil
	}
	clientKey, scope := clientID, []string{"ratelimit"}
	if via != "" {
		clientKey += " " + via
		scope = append(scope, via)
	}
	var key string
	if number != "" {
		key = s.pseudo.Pseudonym(number, scope...)
	}
	err := s.limiter.AllowN(clientKey, key, n)
	if err != nil {
		s.metrics.refuse(dialect, err)
		s.log.LogAttrs(ctx, slog.LevelWarn, "attempt refused", slog.String("client", clientID),
			slog.String("dialect", dialect), slog.Int("attempts", n), slog.String("reason", err.Error()))
	}
	return err
}

// newAttempt builds a new attempt in state created.
func (s *Service) newAttempt(r StartRequest) store.Attempt {
	life := r.Lifetime
	if life <= 0 {
		life = s.lifetime
	}
	now := s.now().UTC()
	a := store.Attempt{
		ID:            randid.ID(),
		ClientID:      r.ClientID,
		Dialect:       r.Dialect,
		State:         string(StateCreated),
		ClaimedNumber: r.ClaimedNumber,
		CreatedAt:     now,
		UpdatedAt:     now,
		Deadline:      now.Add(life),
		Data:          r.Data,
	}
	if r.Report {
		a.ReportAt = now
	}
	if r.ClaimedNumber != "" {
		a.ClaimedHash = s.pseudo.Pseudonym(r.ClaimedNumber)
	}
	return a
}

// Get returns an attempt. An open attempt past its deadline is expired on
// the way (so every reader sees the same truth without waiting for a sweep).
func (s *Service) Get(ctx context.Context, id string) (store.Attempt, error) {
	a, err := s.store.GetAttempt(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Attempt{}, ErrNotFound
	}
	if err != nil {
		return store.Attempt{}, fmt.Errorf("core: get attempt: %w", err)
	}
	if State(a.State).Open() && s.now().After(a.Deadline) && !s.awaitingNetwork(a) {
		return s.expire(ctx, id)
	}
	return a, nil
}

// awaitingNetwork reports whether an attempt's device came in time and the
// network may still answer (the identification timeout and a second after
// the device's arrival): such an attempt is decided by that answer, not by
// the clock, so a reader past the deadline must not expire it.
func (s *Service) awaitingNetwork(a store.Attempt) bool {
	return State(a.State) == StateDeviceSeen && s.now().Before(a.UpdatedAt.Add(s.timeout+identifyGrace))
}

// UpdateData replaces the dialect data of an attempt.
func (s *Service) UpdateData(ctx context.Context, id string, data []byte) (store.Attempt, error) {
	return s.update(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		a.Data = data
		return a, nil
	})
}

// Reported records that the end of an attempt is reported (its webhook
// enqueued, for example): it clears the attempt's ReportAt and, when data
// is not nil, replaces its dialect data, in one write. An attempt still
// open has nothing to report yet: ErrWrongState.
func (s *Service) Reported(ctx context.Context, id string, data []byte) (store.Attempt, error) {
	return s.update(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		if State(a.State).Open() {
			return a, ErrWrongState
		}
		a.ReportAt = time.Time{}
		if data != nil {
			a.Data = data
		}
		return a, nil
	})
}

// RetryReport moves the report mark of an attempt whose report failed to
// after, so that it is due again then and does not hold up the reports
// queued behind it (DueReports answers oldest first). An attempt whose
// mark was cleared meanwhile is left alone.
func (s *Service) RetryReport(ctx context.Context, id string, after time.Duration) error {
	_, err := s.update(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		if a.ReportAt.IsZero() {
			return a, errAlready
		}
		a.ReportAt = s.now().Add(after)
		return a, nil
	})
	if errors.Is(err, errAlready) {
		return nil
	}
	return err
}

// AbandonReport gives up the report of an attempt: it clears the mark and
// the dialect's data, which held what the report needed (a notification
// target: a number, a token), so nothing personal outlives the retention
// and the attempt is garbage-collected like any other. An attempt whose
// mark was cleared meanwhile is left alone.
func (s *Service) AbandonReport(ctx context.Context, id string) error {
	_, err := s.update(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		if a.ReportAt.IsZero() {
			return a, errAlready
		}
		a.ReportAt, a.Data = time.Time{}, nil
		return a, nil
	})
	if errors.Is(err, errAlready) {
		return nil
	}
	return err
}

// DueReports returns up to limit attempts that ended and whose end is still
// to be reported (see StartRequest.Report), oldest first, for the server to
// hand to their dialect. An attempt is returned again until Reported.
func (s *Service) DueReports(ctx context.Context, limit int) ([]store.Attempt, error) {
	due, err := s.store.DueReports(ctx, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("core: due reports: %w", err)
	}
	return due, nil
}

// DeviceArrived records that the device opened its URL, asks the network who
// it is, and decides the attempt. It is idempotent: on an attempt that is
// already decided or consumed it changes nothing and returns the attempt as
// it is; on one whose device arrived a moment ago and is still being
// identified (the same device's other request, on this replica or another)
// it waits for that decision (see awaitDecision). A device arriving after
// the deadline gets ErrExpired, as does one whose network answered too
// late to count (the attempt expired meanwhile).
func (s *Service) DeviceArrived(ctx context.Context, id string, conn network.Connection, userAgent string) (store.Attempt, error) {
	seen, err := s.update(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		switch State(a.State) {
		case StateCreated:
		case StateDeviceSeen, StateDecided, StateConsumed:
			return a, errAlready
		case StateExpired:
			return a, ErrExpired
		}
		if s.now().After(a.Deadline) {
			return a, ErrExpired
		}
		a.State = string(StateDeviceSeen)
		a.DeviceAddr = conn.Addr.String()
		a.UserAgent = userAgent
		return a, nil
	})
	if errors.Is(err, errAlready) {
		return s.awaitDecision(ctx, id)
	}
	if errors.Is(err, ErrExpired) {
		if _, xerr := s.expire(ctx, id); xerr != nil {
			return store.Attempt{}, xerr
		}
		return store.Attempt{}, ErrExpired
	}
	if err != nil {
		return store.Attempt{}, err
	}

	// From here the attempt is device_seen: only this request decides it
	// (a retry waits for it, see awaitDecision). The device going away must
	// not stop that: its request's cancellation would decide the attempt
	// operator_unavailable, or fail the decision's write and leave the
	// attempt undecided until its deadline, for the retry and the backend
	// alike. The identification timeout and the grace bound it instead, as
	// they bound the wait of the sweeps and of a retry.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout+identifyGrace)
	defer cancel()
	who, ierr := s.identify(dctx, conn, seen.ClaimedNumber)
	decided, err := s.update(dctx, id, func(a store.Attempt) (store.Attempt, error) {
		switch State(a.State) {
		case StateDeviceSeen:
		case StateExpired:
			// The answer came after the identification's time, and the
			// sweep or a reader expired the attempt: the device is late.
			return a, ErrExpired
		default:
			return a, ErrWrongState
		}
		return s.decide(dctx, a, who, ierr), nil
	})
	if err == nil {
		s.metrics.decide(decided.Dialect, decided.Outcome)
	}
	return decided, err
}

// awaitDecision returns an attempt that another request of its device
// has taken to device_seen, once that request decided it. Answering
// device_seen at once would tell the device what the dialect makes of an
// undecided attempt — DQE redirects it with status=error — while the
// other request is about to decide it (a match, say). The wait is bounded
// as that request's is: the identification timeout and a second; after
// it, or if that request went away (its replica died), the attempt is
// returned as it is.
func (s *Service) awaitDecision(ctx context.Context, id string) (store.Attempt, error) {
	give := time.NewTimer(s.timeout + identifyGrace)
	defer give.Stop()
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		a, err := s.Get(ctx, id)
		if err != nil || State(a.State) != StateDeviceSeen {
			return a, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-give.C:
			t.Stop()
			return s.Get(ctx, id)
		case <-ctx.Done():
			t.Stop()
			return store.Attempt{}, ctx.Err()
		}
	}
}

// Identify is Start and DeviceArrived in one step, for dialects whose start
// request comes from the device itself (CAMARA's /authorize): the network
// is asked first and the attempt is stored once, already decided.
func (s *Service) Identify(ctx context.Context, r StartRequest, conn network.Connection, userAgent string) (store.Attempt, error) {
	return s.IdentifyWithGrant(ctx, r, conn, userAgent, nil)
}

// IdentifyWithGrant is Identify that may store a grant with the decided
// attempt, in the same transaction: grant (when not nil) is called with the
// decided attempt and returns the grant to store with it (nil: none), for
// example the authorization code for an identified device. If grant returns
// an error, nothing is stored and that error is returned.
func (s *Service) IdentifyWithGrant(ctx context.Context, r StartRequest, conn network.Connection, userAgent string,
	grant func(store.Attempt) (*store.Grant, error)) (store.Attempt, error) {
	if r.ClaimedNumber != "" && !msisdn.Valid(r.ClaimedNumber) {
		return store.Attempt{}, ErrInvalidClaim
	}
	if err := s.allow(ctx, r, deviceNetwork(conn.Addr)); err != nil {
		return store.Attempt{}, err
	}
	who, ierr := s.identify(ctx, conn, r.ClaimedNumber)
	a := s.newAttempt(r)
	a.DeviceAddr, a.UserAgent = conn.Addr.String(), userAgent
	a = s.decide(ctx, a, who, ierr)
	var g *store.Grant
	if grant != nil {
		var err error
		if g, err = grant(a); err != nil {
			return store.Attempt{}, err
		}
	}
	var err error
	if g != nil {
		err = s.store.CreateAttemptWithGrant(ctx, a, *g)
	} else {
		err = s.store.CreateAttempt(ctx, a)
	}
	if err != nil {
		return store.Attempt{}, fmt.Errorf("core: create attempt: %w", err)
	}
	s.metrics.start(a.Dialect)
	s.metrics.decide(a.Dialect, a.Outcome)
	return a, nil
}

// identify asks the network, within the identification timeout.
func (s *Service) identify(ctx context.Context, conn network.Connection, claimed string) (network.Identity, error) {
	conn.Hint = claimed
	if conn.At.IsZero() {
		conn.At = s.now()
	}
	ictx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.ident.Identify(ictx, conn)
}

// decide records the network's answer in a and compares it with the
// claimed number, if there is one.
func (s *Service) decide(ctx context.Context, a store.Attempt, who network.Identity, ierr error) store.Attempt {
	a.State = string(StateDecided)
	switch {
	case ierr != nil:
		a.Outcome = string(outcomeOf(ierr))
	case !msisdn.Valid(who.Number):
		a.Outcome = string(OutcomeOperatorUnavailable)
	default:
		a.DeviceNumber = who.Number
		a.DeviceHash = s.pseudo.Pseudonym(who.Number)
		a.IdentifiedBy = who.Source
		switch {
		case a.ClaimedNumber == "":
			a.Outcome = string(OutcomeIdentified)
		case msisdn.Equal(a.ClaimedNumber, who.Number):
			a.Outcome = string(OutcomeMatch)
		default:
			a.Outcome = string(OutcomeNoMatch)
		}
	}
	a.ClaimedNumber = "" // compared: only the pseudonym stays
	s.log.LogAttrs(ctx, slog.LevelInfo, "attempt decided",
		slog.String("attempt", a.ID), slog.String("outcome", a.Outcome),
		slog.String("identified_by", a.IdentifiedBy), slog.Bool("fallback_advised", Outcome(a.Outcome).FallbackAdvised()))
	return a
}

// Claim is a number the backend asks about after identification: in clear
// E.164, or as CAMARA's SHA-256 hex hash. Exactly one is set.
type Claim struct {
	Number string
	Hash   string
}

// Check validates a claim's form.
func (c Claim) Check() error {
	switch {
	case c.Number != "" && c.Hash != "", c.Number == "" && c.Hash == "":
		return fmt.Errorf("%w: give exactly one of number and hash", ErrInvalidClaim)
	case c.Number != "" && !msisdn.Valid(c.Number):
		return ErrInvalidClaim
	case c.Hash != "" && !msisdn.ValidHash(c.Hash):
		return ErrInvalidClaim
	}
	return nil
}

// Compare compares a claim with the device's identified number and consumes
// the attempt: the answer is given once. It returns whether they match.
func (s *Service) Compare(ctx context.Context, id string, c Claim) (bool, error) {
	if err := c.Check(); err != nil {
		return false, err
	}
	var matched bool
	_, err := s.update(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		if State(a.State) != StateDecided || !Outcome(a.Outcome).Identified() || a.DeviceNumber == "" {
			return a, ErrWrongState
		}
		a, matched = compared(a, c)
		return a, nil
	})
	return matched, err
}

// CompareGrant is Compare for a claim presented with a single-use grant
// (an access token) that names the attempt: in one store transaction the
// grant is used up and the attempt compared and consumed. check is called
// first with the grant, then the claim is checked; if either fails nothing
// changes and that error is returned (a bad or expired token, or a bad
// claim, uses nothing up). Otherwise the
// grant is used up even when the attempt cannot answer (ErrNotFound,
// ErrWrongState), as a separate ConsumeGrant and Compare would. A grant
// that is missing or expired in the store gives store.ErrNotFound.
func (s *Service) CompareGrant(ctx context.Context, kind store.GrantKind, key string, check func(store.Grant) error, c Claim) (store.Grant, bool, error) {
	var matched bool
	var aerr error
	g, _, err := s.store.RedeemGrant(ctx, kind, key, s.now(), func(g store.Grant, a store.Attempt) (store.Redemption, error) {
		if err := check(g); err != nil {
			return store.Redemption{}, err
		}
		if err := c.Check(); err != nil {
			return store.Redemption{}, err // a malformed claim uses nothing up
		}
		matched, aerr = false, nil
		switch {
		case a.ID == "":
			aerr = ErrNotFound
		case State(a.State) != StateDecided || !Outcome(a.Outcome).Identified() || a.DeviceNumber == "":
			aerr = ErrWrongState
		}
		if aerr != nil {
			return store.Redemption{}, nil // the grant is used up, the attempt left as it is
		}
		a, matched = compared(a, c)
		a.UpdatedAt = s.now().UTC()
		return store.Redemption{Attempt: &a}, nil
	})
	if err != nil {
		return store.Grant{}, false, err
	}
	return g, matched, aerr
}

// Take hands out a decided attempt's result once and consumes the attempt.
// The returned attempt still carries the device number (the last time it is
// visible); the stored one no longer does. A second Take gets ErrWrongState.
func (s *Service) Take(ctx context.Context, id string) (store.Attempt, error) {
	var taken store.Attempt
	_, err := s.update(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		if State(a.State) != StateDecided {
			return a, ErrWrongState
		}
		taken = a
		taken.State = string(StateConsumed)
		return consumed(a), nil
	})
	return taken, err
}

// ExpireDue expires open attempts whose deadline has passed (at most limit)
// and returns them, so a dialect can report the expiry (for example by
// webhook). Replicas may run it concurrently: each attempt expires once.
// An attempt whose device arrived in time is left to the network's answer
// while that may still come (the identification timeout and a second).
func (s *Service) ExpireDue(ctx context.Context, limit int) ([]store.Attempt, error) {
	due, err := s.store.DueAttempts(ctx, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("core: due attempts: %w", err)
	}
	var out []store.Attempt
	for _, a := range due {
		x, err := s.update(ctx, a.ID, func(a store.Attempt) (store.Attempt, error) {
			if !State(a.State).Open() {
				return a, errAlready
			}
			if s.awaitingNetwork(a) {
				// The device came in time and the network is still being
				// asked: its answer decides, not the clock.
				return a, errAlready
			}
			return expired(a), nil
		})
		if errors.Is(err, errAlready) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, x)
	}
	return out, nil
}

func (s *Service) expire(ctx context.Context, id string) (store.Attempt, error) {
	a, err := s.update(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		if !State(a.State).Open() || s.awaitingNetwork(a) {
			return a, errAlready
		}
		return expired(a), nil
	})
	if errors.Is(err, errAlready) {
		return s.store.GetAttempt(ctx, id)
	}
	return a, err
}

// update wraps store.UpdateAttempt with the clock and error mapping.
func (s *Service) update(ctx context.Context, id string, fn func(store.Attempt) (store.Attempt, error)) (store.Attempt, error) {
	a, err := s.store.UpdateAttempt(ctx, id, func(a store.Attempt) (store.Attempt, error) {
		a, err := fn(a)
		a.UpdatedAt = s.now().UTC()
		return a, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Attempt{}, ErrNotFound
	}
	return a, err
}

// compared compares claim c with the device number of a decided attempt
// and returns the attempt consumed, its outcome match or no_match.
func compared(a store.Attempt, c Claim) (store.Attempt, bool) {
	var matched bool
	if c.Number != "" {
		matched = msisdn.Equal(c.Number, a.DeviceNumber)
	} else {
		matched = msisdn.MatchesHash(a.DeviceNumber, c.Hash)
	}
	a.Outcome = string(OutcomeNoMatch)
	if matched {
		a.Outcome = string(OutcomeMatch)
	}
	return consumed(a), matched
}

// identifyGrace is how long past the identification timeout a device that
// arrived in time is still waited for, for the decision's store write.
const identifyGrace = time.Second

// errAlready marks a step that was already taken (idempotent no-op).
var errAlready = errors.New("core: step already taken")

func consumed(a store.Attempt) store.Attempt {
	a.State = string(StateConsumed)
	a.ClaimedNumber, a.DeviceNumber = "", ""
	return a
}

func expired(a store.Attempt) store.Attempt {
	a.State = string(StateExpired)
	a.Outcome = string(OutcomeExpired)
	a.ClaimedNumber, a.DeviceNumber = "", ""
	return a
}
