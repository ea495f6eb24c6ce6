package kpn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/store"
)

// notifyKey is the outbox key of an attempt's one notification: the same
// on every replica and every retry, so the result (or the expiry) is
// enqueued once.
func notifyKey(attemptID string) string { return "kpn-" + attemptID }

// notifyResult enqueues the notification of an attempt in notify mode once
// it has a result (consumed: the device came and the network answered) or
// expired, then drops the notification target from the attempt. Anything
// else — polling mode, an open attempt, one already notified — is a no-op.
//
// The notification is a POST of the polling result's JSON to
// notification_uri with Authorization: Bearer <notification_token>;
// internal/notify adds Idempotency-Key: kpn-<attempt id> and retries.
func (a *API) notifyResult(ctx context.Context, att store.Attempt) error {
	switch core.State(att.State) {
	case core.StateConsumed, core.StateExpired:
	default:
		return nil
	}
	var d attemptData
	if len(att.Data) == 0 || json.Unmarshal(att.Data, &d) != nil || d.Mode != modeNotify || d.Notify == nil {
		return nil
	}
	if a.notifier == nil {
		return errors.New("an attempt in notify mode, and no Notifier configured")
	}
	body, err := json.Marshal(resultOf(att, d.Notify.MSISDN))
	if err != nil {
		return err
	}
	err = a.notifier.EnqueueKey(ctx, notifyKey(att.ID), NotifyKind, d.Notify.URI,
		map[string]string{"Authorization": "Bearer " + d.Notify.Token}, body)
	if err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		return fmt.Errorf("enqueue notification: %w", err)
	}
	// The outbox has the number and the token now; the attempt need not.
	if _, err := a.core.UpdateData(ctx, att.ID, mustJSON(attemptData{Mode: modeNotify, Notified: true})); err != nil {
		return fmt.Errorf("drop notification target: %w", err)
	}
	return nil
}

// ReportExpired reports an attempt that expired without the device ever
// opening its session URI: for an attempt of this dialect in notify mode it
// enqueues the expiry notification (device_match null, errors
// [{"device_match":"UNAVAILABLE","reason":"EXPIRED"}]). Any other attempt —
// another dialect's, polling mode (the poll shows the expiry), one not
// expired, one already notified — is left alone and nil returned.
//
// The server calls it with each attempt that core.Service.ExpireDue
// returns. It is idempotent: two replicas reporting the same attempt
// enqueue one notification. An error means the notification is not
// enqueued; the server logs it (the attempt is not offered again).
func (a *API) ReportExpired(ctx context.Context, att store.Attempt) error {
	if att.Dialect != Dialect || core.State(att.State) != core.StateExpired {
		return nil
	}
	err := a.notifyResult(ctx, att)
	lvl, attrs := slog.LevelDebug, []slog.Attr{slog.String("api", "kpn"), slog.String("attempt", att.ID)}
	if err != nil {
		lvl, attrs = slog.LevelWarn, append(attrs, slog.Any("error", err))
	}
	a.log.LogAttrs(ctx, lvl, "kpn expiry reported", attrs...)
	return err
}
