package kpn

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/numgate/numgate/internal/core"
)

// pollingByPath is GET /polling/{polling_id}.
func (a *API) pollingByPath(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	return a.poll(w, r, attrs, func() (string, *Error) { return r.PathValue("polling_id"), nil })
}

// pollingByHeader is GET /polling with the header polling_uri (the full
// URI or just its id), the seed's form.
func (a *API) pollingByHeader(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	return a.poll(w, r, attrs, func() (string, *Error) { return idFromHeader(r, "polling_uri") })
}

// poll answers the polling result of an attempt. It needs a token with
// scope device_match of the client that made the insights request. The
// result can be polled again and again until the polling id expires
// (ResultRetention after the attempt's deadline); polling an attempt past
// its deadline expires it, so a poll never answers "pending" forever.
//
// Checks, in order: the token (401), its scope (403), the id (400 for a
// missing header, 404 for an unknown id), its client (403).
func (a *API) poll(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr, id func() (string, *Error)) error {
	ctx := r.Context()
	b, err := a.authorize(r)
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("client", b.clientID))
	if !b.has(ScopeDeviceMatch) {
		return fail(http.StatusForbidden, "polling needs a token with scope device_match")
	}
	pid, e := id()
	if e != nil {
		return e
	}
	g, err := a.lookup(r, grantPolling, pid, "polling id")
	if err != nil {
		return err
	}
	if g.ClientID != b.clientID {
		return fail(http.StatusForbidden, "the polling id belongs to another client")
	}
	*attrs = append(*attrs, slog.String("attempt", g.AttemptID))

	att, err := a.core.Get(ctx, g.AttemptID)
	if errors.Is(err, core.ErrNotFound) {
		return fail(http.StatusNotFound, "the result is no longer kept")
	}
	if err != nil {
		return fmt.Errorf("get attempt: %w", err)
	}
	if att, err = a.settle(ctx, att); err != nil {
		return err
	}
	var pd pollingData
	if err := json.Unmarshal(g.Data, &pd); err != nil {
		return fmt.Errorf("polling data: %w", err)
	}
	number, err := open(pid, att.ID, pd.Sealed)
	if err != nil {
		return fmt.Errorf("polling id %w", err)
	}
	*attrs = append(*attrs, slog.String("state", att.State), slog.String("outcome", att.Outcome))
	writeJSON(w, http.StatusOK, resultOf(att, number[1:]))
	return nil
}
