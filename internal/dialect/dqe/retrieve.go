package dqe

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// retrieve is step 2, /GET/ by GET query or POST form (token, Licence,
// scope): pending while the device has not been identified, then the result
// once — success with numVerify, or an error id — after which the session
// token is spent (30).
//
// The token here is the session token: the one appended to redirect_uri,
// which is also the last path segment of step 1's url.
func (a *API) retrieve(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	if r.URL.Path != "/GET/" && r.URL.Path != "/GET" {
		return fail(ErrInvalidRequest, "no such resource")
	}
	ctx := r.Context()
	p, e := readParams(w, r)
	if e != nil {
		return e
	}
	licence, e := p.get(pLicence...)
	if e != nil {
		return e
	}
	token, e := p.get(pToken...)
	if e != nil {
		return e
	}
	if licence == "" {
		return fail(ErrInvalidLicence, "Licence is missing")
	}
	c, err := a.store.GetClient(ctx, licence)
	if errors.Is(err, store.ErrNotFound) {
		return fail(ErrInvalidLicence, "no client is registered under this licence")
	}
	if err != nil {
		return fmt.Errorf("get client: %w", err)
	}
	*attrs = append(*attrs, slog.String("licence", c.ID))
	if e := checkScope(p, c); e != nil {
		return e
	}
	if token == "" {
		return fail(ErrInvalidRequest, "token is missing")
	}
	sess, err := a.session(r, token)
	if err != nil {
		return err
	}
	if sess.ClientID != c.ID {
		return fail(ErrInvalidToken, "the session token belongs to another licence")
	}
	*attrs = append(*attrs, slog.String("attempt", sess.AttemptID))

	att, err := a.core.Get(ctx, sess.AttemptID)
	if errors.Is(err, core.ErrNotFound) {
		return fail(ErrInvalidToken, "the session's attempt is gone")
	}
	if err != nil {
		return fmt.Errorf("get attempt: %w", err)
	}
	switch core.State(att.State) {
	case core.StateCreated, core.StateDeviceSeen:
		*attrs = append(*attrs, slog.String("status", statusPending))
		writeJSON(w, http.StatusOK, resultBody{Status: statusPending, Scope: ScopeNumVerify})
		return nil
	case core.StateExpired:
		a.spend(r, token)
		return fail(ErrInvalidToken, "the device never came: the session expired")
	case core.StateConsumed:
		return fail(ErrInvalidToken, "the result was already retrieved")
	}

	taken, err := a.core.Take(ctx, att.ID)
	if errors.Is(err, core.ErrWrongState) {
		return fail(ErrInvalidToken, "the result was already retrieved")
	}
	if err != nil {
		return fmt.Errorf("take result: %w", err)
	}
	a.spend(r, token)
	o := core.Outcome(taken.Outcome)
	*attrs = append(*attrs, slog.String("outcome", string(o)))
	switch o {
	case core.OutcomeMatch, core.OutcomeNoMatch:
		verified := o == core.OutcomeMatch
		writeJSON(w, http.StatusOK, resultBody{Status: statusSuccess, Scope: ScopeNumVerify, NumVerify: &verified})
		return nil
	case core.OutcomeOperatorUnavailable:
		return fail(ErrOperatorNoData, "the network could not answer in time")
	case core.OutcomeConsentDeclined:
		return fail(ErrAccessDenied, "the subscriber opted out")
	case core.OutcomeNotIdentifiable, core.OutcomeNotEligible, core.OutcomeInvalidNumber:
		return fail(ErrNotCompleted, "the network could not vouch for the device: "+string(o))
	}
	return fmt.Errorf("attempt decided with unexpected outcome %q", o)
}

// spend deletes a session token whose result was handed out or whose
// attempt expired; a failure only leaves it to expire on its own.
func (a *API) spend(r *http.Request, token string) {
	if _, err := a.store.ConsumeGrant(r.Context(), grantSession, randid.Key(token), a.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.LogAttrs(r.Context(), slog.LevelWarn, "could not delete a spent session token", slog.Any("error", err))
	}
}
