package kpn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// statusBody is the session's answer: {"status":"OK"}.
type statusBody struct {
	Status string `json:"status"`
}

// sessionByPath is GET /session/{session_id}, the session_uri as the
// device opens it: the device is identified and sent on, by a 302, to
// /session/done.
func (a *API) sessionByPath(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	if err := a.openSession(r, r.PathValue("session_id"), attrs); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", a.base+"/session/done")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
	return nil
}

// sessionByHeader is GET /session with the header session_uri (the full
// URI or just its id), the seed's form: the device is identified and the
// answer is {"status":"OK"}.
func (a *API) sessionByHeader(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	id, e := idFromHeader(r, "session_uri")
	if e != nil {
		return e
	}
	if err := a.openSession(r, id, attrs); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusBody{Status: "OK"})
	return nil
}

// sessionDone is where the session_uri's redirect ends: {"status":"OK"},
// as the header form answers, so that an app that follows redirects reads
// the same body either way. It says nothing about the result: that goes to
// the backend only.
func (a *API) sessionDone(w http.ResponseWriter, _ *http.Request, _ *[]slog.Attr) error {
	writeJSON(w, http.StatusOK, statusBody{Status: "OK"})
	return nil
}

// openSession is the device arriving at its session: the network
// identifies it (the core decides the attempt), the result is settled, and
// in notify mode the notification is enqueued. Opening a session again
// changes nothing and answers the same. An Authorization header is
// optional; when sent, it must be a valid token of the session's client
// with scope device_match or device_match_notify.
func (a *API) openSession(r *http.Request, id string, attrs *[]slog.Attr) error {
	ctx := r.Context()
	var b *bearer
	if r.Header.Get("Authorization") != "" {
		bb, err := a.authorize(r)
		if err != nil {
			return err
		}
		if !bb.has(ScopeDeviceMatch) && !bb.has(ScopeDeviceMatchNotify) {
			return fail(http.StatusForbidden, "the token has neither scope device_match nor device_match_notify")
		}
		b = &bb
	}
	g, err := a.lookup(r, grantSession, id, "session")
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("client", g.ClientID), slog.String("attempt", g.AttemptID))
	if b != nil && b.clientID != g.ClientID {
		return fail(http.StatusForbidden, "the session belongs to another client")
	}

	att, err := a.core.DeviceArrived(ctx, g.AttemptID, a.conn(r), r.UserAgent())
	switch {
	case errors.Is(err, core.ErrExpired):
		*attrs = append(*attrs, slog.String("outcome", string(core.OutcomeExpired)))
		if x, gerr := a.core.Get(ctx, g.AttemptID); gerr == nil {
			if nerr := a.notifyResult(ctx, x); nerr != nil {
				a.log.Warn("kpn: expiry notification not enqueued; the report sweep will retry it", "attempt", x.ID, "error", nerr)
			}
		}
		return fail(http.StatusNotFound, "the session has expired")
	case errors.Is(err, core.ErrNotFound):
		return fail(http.StatusNotFound, "the session is no longer kept")
	case err != nil:
		return fmt.Errorf("device arrived: %w", err)
	}
	att, err = a.settle(ctx, att)
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("state", att.State), slog.String("outcome", att.Outcome))
	if err := a.notifyResult(ctx, att); err != nil {
		// The device's part is done and the attempt decided; it keeps
		// its report mark, so the server's report sweep enqueues the
		// notification later. An error page would tell the user the
		// verification failed when it did not.
		a.log.Warn("kpn: notification not enqueued; the report sweep will retry it", "attempt", att.ID, "error", err)
	}
	return nil
}

// settle consumes a decided attempt: the KPN result needs only the
// outcome, which a consumed attempt keeps, so the core can forget the
// device's number at once. Whoever sees the attempt decided first — the
// device's request, a poll, a second replica — takes it; the others find it
// consumed. The result stays readable until the attempt is collected.
func (a *API) settle(ctx context.Context, att store.Attempt) (store.Attempt, error) {
	if core.State(att.State) != core.StateDecided {
		return att, nil
	}
	taken, err := a.core.Take(ctx, att.ID)
	if errors.Is(err, core.ErrWrongState) {
		return a.core.Get(ctx, att.ID) // taken meanwhile
	}
	if err != nil {
		return store.Attempt{}, fmt.Errorf("take result: %w", err)
	}
	taken.DeviceNumber = "" // not needed, not kept
	return taken, nil
}

// lookup finds a session or polling id: a malformed, unknown or expired
// id is 404.
func (a *API) lookup(r *http.Request, kind store.GrantKind, id, what string) (store.Grant, error) {
	if !wellFormedSecret(id) {
		return store.Grant{}, fail(http.StatusNotFound, "unknown or expired "+what).because("malformed " + what + " id")
	}
	g, err := a.store.GetGrant(r.Context(), kind, randid.Key(id), a.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Grant{}, fail(http.StatusNotFound, "unknown or expired "+what)
	}
	if err != nil {
		return store.Grant{}, fmt.Errorf("get %s: %w", what, err)
	}
	return g, nil
}

// idFromHeader reads the id from the header name (session_uri,
// polling_uri; the hyphenated spelling too, as some proxies drop headers
// with underscores): the full URI, whose last path segment is the id, or
// the id alone.
func idFromHeader(r *http.Request, name string) (string, *Error) {
	vs := append(r.Header.Values(name), r.Header.Values(strings.ReplaceAll(name, "_", "-"))...)
	switch {
	case len(vs) == 0 || strings.TrimSpace(vs[0]) == "":
		return "", fail(http.StatusBadRequest, "the "+name+" header is missing")
	case len(vs) > 1:
		return "", fail(http.StatusBadRequest, "the "+name+" header is given more than once")
	case len(vs[0]) > maxParamBytes:
		return "", fail(http.StatusBadRequest, "the "+name+" header is too long")
	}
	v := strings.TrimSpace(vs[0])
	if !strings.Contains(v, "/") {
		return v, nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", fail(http.StatusBadRequest, "the "+name+" header is not a URI")
	}
	p := strings.TrimSuffix(u.Path, "/")
	return p[strings.LastIndex(p, "/")+1:], nil
}
