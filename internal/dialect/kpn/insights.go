package kpn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/ratelimit"
	"github.com/numgate/numgate/internal/store"
)

// The modes of an attempt.
const (
	modePolling = "polling"
	modeNotify  = "notify"
)

// attemptData is the dialect data stored with the attempt.
type attemptData struct {
	Mode string `json:"mode"`
	// Notify is the notification target (notify mode), kept until the
	// notification is enqueued, then removed.
	Notify *notifyTarget `json:"notify,omitempty"`
	// Notified is set once the notification is in the outbox.
	Notified bool `json:"notified,omitempty"`
}

// notifyTarget is where and how the result is posted. Token is the
// client's notification_token (a secret: never logged). MSISDN is the
// claimed number in KPN's form (digits), needed for the body: the core
// forgets the clear number once the attempt is decided.
type notifyTarget struct {
	URI    string `json:"uri"`
	Token  string `json:"token"`
	MSISDN string `json:"msisdn"`
}

// pollingData is the stored JSON of a polling id.
type pollingData struct {
	// Sealed is the claimed number sealed under the polling id (see seal.go).
	Sealed string `json:"sealed_msisdn"`
}

// insightsRequest is the body of POST /insights/{msisdn}.
type insightsRequest struct {
	DeviceMatchNotify *notifyRequest `json:"device_match_notify"`
}

type notifyRequest struct {
	NotificationToken string `json:"notification_token"`
	NotificationURI   string `json:"notification_uri"`
}

// Bodies of the insights answer, keys in the seed's order.
type (
	insightsBody struct {
		DeviceMatch       *deviceMatchBody `json:"device_match,omitempty"`
		DeviceMatchNotify *notifyBody      `json:"device_match_notify,omitempty"`
		OperatorLookup    *operatorLookup  `json:"operator_lookup,omitempty"`
	}
	deviceMatchBody struct {
		SessionURI string `json:"session_uri"`
		PollingURI string `json:"polling_uri"`
	}
	notifyBody struct {
		SessionURI string `json:"session_uri"`
	}
	operatorLookup struct {
		RegionCode   *string `json:"regionCode"`
		OperatorName *string `json:"operatorName"`
		MCC          *string `json:"mcc"`
		MNC          *string `json:"mnc"`
	}
)

// insights is POST /insights/{msisdn}. What it answers depends on the
// token's scopes and the body:
//
//   - operator_lookup, when the token has that scope;
//   - body {} (or empty) and scope device_match: an attempt in polling
//     mode, answered with session_uri and polling_uri;
//   - body {"device_match_notify":{…}} and scope device_match_notify: an
//     attempt in notify mode, answered with session_uri.
//
// Checks, in order: the token (401), the msisdn and the body's syntax
// (400), the scopes (403), the notification target (400), the Notifier
// (503). Every check comes before the attempt is started: a refused
// request creates nothing.
func (a *API) insights(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	b, err := a.authorize(r)
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("client", b.clientID))
	number, e := parseMSISDN(r.PathValue("msisdn"))
	if e != nil {
		return e
	}
	req, e := readInsights(w, r)
	if e != nil {
		return e
	}

	mode := ""
	switch {
	case req.DeviceMatchNotify != nil && !b.has(ScopeDeviceMatchNotify):
		return fail(http.StatusForbidden, "device_match_notify needs a token with scope device_match_notify")
	case req.DeviceMatchNotify != nil:
		mode = modeNotify
	case b.has(ScopeDeviceMatch):
		mode = modePolling
	case b.has(ScopeDeviceMatchNotify) && !b.has(ScopeOperatorLookup):
		return fail(http.StatusBadRequest, "a token with scope device_match_notify needs a device_match_notify body")
	}
	var target *notifyTarget
	if mode == modeNotify {
		if target, e = checkTarget(req.DeviceMatchNotify); e != nil {
			return e
		}
		if a.notifier == nil {
			return fail(http.StatusServiceUnavailable, "notifications are switched off on this gateway; use device_match (polling)")
		}
		if err := a.notifier.CheckTarget(target.URI); err != nil {
			// Refused now rather than retried for hours after the verification.
			return fail(http.StatusBadRequest, "device_match_notify.notification_uri cannot be notified from this gateway: "+err.Error())
		}
		target.MSISDN = strings.TrimPrefix(number, "+")
	}

	var body insightsBody
	if b.has(ScopeOperatorLookup) {
		body.OperatorLookup = lookupBody(a.operator(number))
	}
	if mode != "" {
		*attrs = append(*attrs, slog.String("mode", mode))
		session, polling, attemptID, err := a.start(r, b.clientID, number, mode, target)
		if err != nil {
			return err
		}
		*attrs = append(*attrs, slog.String("attempt", attemptID))
		if mode == modeNotify {
			body.DeviceMatchNotify = &notifyBody{SessionURI: a.base + "/session/" + session}
		} else {
			body.DeviceMatch = &deviceMatchBody{SessionURI: a.base + "/session/" + session, PollingURI: a.base + "/polling/" + polling}
		}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// start starts the attempt and stores its session id and, in polling mode,
// its polling id. It returns the ids and the attempt's ID.
func (a *API) start(r *http.Request, clientID, number, mode string, target *notifyTarget) (session, polling, attemptID string, err error) {
	ctx := r.Context()
	data, err := json.Marshal(attemptData{Mode: mode, Notify: target})
	if err != nil {
		return "", "", "", err
	}
	att, err := a.core.Start(ctx, core.StartRequest{
		ClientID: clientID, Dialect: Dialect, ClaimedNumber: number, Lifetime: a.lifetime, Data: data,
		Report: mode == modeNotify, // the notification must not be lost: see Report
	})
	if errors.Is(err, core.ErrInvalidClaim) {
		return "", "", "", fail(http.StatusBadRequest, "msisdn is not a valid E.164 number")
	}
	if errors.Is(err, core.ErrRateLimited) {
		e := fail(http.StatusTooManyRequests, "too many verification attempts for this client or number; retry later").because(err.Error())
		e.retryAfter = ratelimit.RetryAfter(err)
		return "", "", "", e
	}
	if err != nil {
		return "", "", "", fmt.Errorf("start attempt: %w", err)
	}
	now := a.now().UTC()
	session = randid.Secret()
	grants := []store.Grant{{
		Kind: grantSession, Key: randid.Key(session), ClientID: clientID, AttemptID: att.ID,
		Data: []byte("{}"), CreatedAt: now, ExpiresAt: att.Deadline.Add(a.retention),
	}}
	if mode == modePolling {
		polling = randid.Secret()
		sealed, err := seal(polling, att.ID, number)
		if err != nil {
			return "", "", "", fmt.Errorf("seal number: %w", err)
		}
		pd, err := json.Marshal(pollingData{Sealed: sealed})
		if err != nil {
			return "", "", "", err
		}
		grants = append(grants, store.Grant{
			Kind: grantPolling, Key: randid.Key(polling), ClientID: clientID, AttemptID: att.ID,
			Data: pd, CreatedAt: now, ExpiresAt: att.Deadline.Add(a.retention),
		})
	}
	for _, g := range grants {
		if err := a.store.PutGrant(ctx, g); err != nil {
			// Nobody can reach the attempt: it expires on its own. Its
			// notification target is dropped so that its expiry is not
			// reported to a client that never got a session_uri.
			if target != nil {
				if _, uerr := a.core.UpdateData(ctx, att.ID, mustJSON(attemptData{Mode: mode})); uerr != nil {
					a.log.LogAttrs(ctx, slog.LevelWarn, "could not drop the notification target of an unreachable attempt",
						slog.String("attempt", att.ID), slog.Any("error", uerr))
				}
			}
			return "", "", "", fmt.Errorf("store %s id: %w", g.Kind, err)
		}
	}
	return session, polling, att.ID, nil
}

// parseMSISDN reads the path's msisdn: E.164 digits without "+", as the
// seed writes it (31630000001), or with a leading "+" (also "%2B"). It
// returns the number in E.164 with its "+".
func parseMSISDN(raw string) (string, *Error) {
	if len(raw) > 20 {
		return "", fail(http.StatusBadRequest, "msisdn is not an E.164 number")
	}
	n := "+" + strings.TrimPrefix(raw, "+")
	if !msisdn.Valid(n) {
		return "", fail(http.StatusBadRequest, "msisdn is not an E.164 number (country code and number, digits only)")
	}
	return n, nil
}

// readInsights reads the JSON body: empty, or one JSON object. Keys other
// than device_match_notify are ignored; a device_match_notify that is not
// an object of strings is refused.
func readInsights(w http.ResponseWriter, r *http.Request) (insightsRequest, *Error) {
	var req insightsRequest
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForm))
	if err != nil {
		return req, fail(http.StatusBadRequest, "the body is unreadable or too large")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return req, nil
	}
	if raw[0] != '{' {
		return req, fail(http.StatusBadRequest, "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&req); err != nil {
		return req, fail(http.StatusBadRequest, "the body is not an insights request: device_match_notify must be an object of strings")
	}
	if dec.More() {
		return req, fail(http.StatusBadRequest, "the body has data after its JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, fail(http.StatusBadRequest, "the body has data after its JSON object")
	}
	return req, nil
}

// checkTarget checks a device_match_notify request: notification_uri an
// absolute http(s) URL without user info or fragment, notification_token
// 1 to 2048 visible ASCII characters (it is sent as a Bearer token).
func checkTarget(n *notifyRequest) (*notifyTarget, *Error) {
	u, err := url.Parse(n.NotificationURI)
	switch {
	case n.NotificationURI == "":
		return nil, fail(http.StatusBadRequest, "device_match_notify.notification_uri is missing")
	case len(n.NotificationURI) > maxParamBytes || err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" || u.User != nil || u.Fragment != "":
		return nil, fail(http.StatusBadRequest, "device_match_notify.notification_uri must be an absolute http(s) URL without user info or fragment")
	case n.NotificationToken == "":
		return nil, fail(http.StatusBadRequest, "device_match_notify.notification_token is missing")
	case len(n.NotificationToken) > maxParamBytes || !visibleASCII(n.NotificationToken):
		return nil, fail(http.StatusBadRequest, "device_match_notify.notification_token must be visible ASCII characters without spaces")
	}
	return &notifyTarget{URI: n.NotificationURI, Token: n.NotificationToken}, nil
}

// lookupBody renders an operator: empty fields are null.
func lookupBody(o OperatorInfo) *operatorLookup {
	orNull := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return &operatorLookup{RegionCode: orNull(o.RegionCode), OperatorName: orNull(o.OperatorName), MCC: orNull(o.MCC), MNC: orNull(o.MNC)}
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// mustJSON marshals a value that always marshals.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
