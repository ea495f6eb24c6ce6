package dqe

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// device is the URL the device opens (the url of step 1's answer): the
// mobile network identifies the device here, the attempt is decided, and
// the device is sent to the redirect_uri with the session token and a
// status appended ("success" when /GET/ will answer numVerify, "error"
// when it will answer an error), or shown a short page when there is no
// redirect_uri. Opening it again changes nothing and redirects the same way.
// The URL carries no phone number.
//
// A HEAD request (a link checker, a prefetching preview) is not the device
// opening its URL: it is answered 405 and changes nothing, as the mux's
// GET pattern would otherwise let it decide the attempt from the checker's
// address.
func (a *API) device(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		w.WriteHeader(http.StatusMethodNotAllowed)
		*attrs = append(*attrs, slog.String("refused", "not GET"))
		return nil
	}
	ctx := r.Context()
	token := r.PathValue("token")
	sess, err := a.session(r, token)
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("licence", sess.ClientID), slog.String("attempt", sess.AttemptID))

	status := statusError
	att, err := a.core.DeviceArrived(ctx, sess.AttemptID, a.conn(r), r.UserAgent())
	switch {
	case errors.Is(err, core.ErrExpired):
		*attrs = append(*attrs, slog.String("outcome", string(core.OutcomeExpired)))
	case errors.Is(err, core.ErrNotFound):
		return fail(ErrInvalidToken, "the session's attempt is gone")
	case err != nil:
		return fmt.Errorf("device arrived: %w", err)
	default:
		*attrs = append(*attrs, slog.String("outcome", att.Outcome))
		if o := core.Outcome(att.Outcome); o == core.OutcomeMatch || o == core.OutcomeNoMatch {
			status = statusSuccess
		}
	}

	var sd sessionData
	if err := json.Unmarshal(sess.Data, &sd); err != nil {
		return fmt.Errorf("session data: %w", err)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if sd.RedirectURI == "" {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, donePage)
		return nil
	}
	u, err := url.Parse(sd.RedirectURI)
	if err != nil {
		return fmt.Errorf("stored redirect_uri: %w", err)
	}
	q := u.Query()
	q.Set("token", token)
	q.Set("status", status)
	u.RawQuery = q.Encode()
	h.Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
	return nil
}

// donePage is shown to a device whose session has no redirect_uri.
const donePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Verification finished</title></head>
<body><p>Verification finished. You can return to the app.</p></body></html>
`

// session looks up a session token: a malformed, unknown or expired one is
// error 30.
func (a *API) session(r *http.Request, token string) (store.Grant, error) {
	if !wellFormedToken(token) {
		return store.Grant{}, fail(ErrInvalidToken, "malformed session token")
	}
	g, err := a.store.GetGrant(r.Context(), grantSession, randid.Key(token), a.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Grant{}, fail(ErrInvalidToken, "unknown or expired session token")
	}
	if err != nil {
		return store.Grant{}, fmt.Errorf("get session: %w", err)
	}
	return g, nil
}

// wellFormedToken reports whether s has the form of randid.Secret (43
// base64url characters), so that garbage never reaches the store.
func wellFormedToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}
