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
// expired, and in the same write that drops the notification target from
// the attempt it clears the attempt's report mark (core.Reported). An
// attempt with nothing to notify — polling mode, one already notified —
// only has a leftover mark cleared; an open or decided one is left alone.
//
// The notification is a POST of the polling result's JSON to
// notification_uri with Authorization: Bearer <notification_token>;
// internal/notify adds Idempotency-Key: kpn-<attempt id> and retries.
//
// Until the mark is cleared the server's sweep hands the attempt to Report
// again, so a failed enqueue or a crash before it is retried; the fixed
// outbox key makes a second enqueue store nothing.
func (a *API) notifyResult(ctx context.Context, att store.Attempt) error {
	switch core.State(att.State) {
	case core.StateConsumed, core.StateExpired:
	default:
		return nil
	}
	var d attemptData
	if len(att.Data) == 0 || json.Unmarshal(att.Data, &d) != nil || d.Mode != modeNotify || d.Notify == nil {
		if att.ReportAt.IsZero() {
			return nil
		}
		if _, err := a.core.Reported(ctx, att.ID, nil); err != nil {
			return fmt.Errorf("clear report mark: %w", err)
		}
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
	if _, err := a.core.Reported(ctx, att.ID, mustJSON(attemptData{Mode: modeNotify, Notified: true})); err != nil {
		return fmt.Errorf("drop notification target: %w", err)
	}
	return nil
}

// Report reports the end of one of this dialect's attempts: for an attempt
// in notify mode it enqueues the notification — the result of a decided or
// consumed attempt (settling a decided one first), or the expiry
// (device_match null, errors [{"device_match":"UNAVAILABLE","reason":"EXPIRED"}])
// — unless that was done already, and clears the attempt's report mark.
// Another dialect's attempt, an open one, or one with nothing to report
// is left alone and nil returned.
//
// The server's sweep calls it with each attempt that core.Service.ExpireDue
// expires and each that core.Service.DueReports returns: one the device's
// request could not report (a failed enqueue, a crash after the decision)
// is reported here. It is idempotent: two replicas, or the sweep and the
// device's request, reporting the same attempt enqueue one notification.
// An error means the notification is not enqueued; the attempt stays due
// and the next sweep offers it again.
func (a *API) Report(ctx context.Context, att store.Attempt) error {
	if att.Dialect != Dialect || core.State(att.State).Open() {
		return nil
	}
	attrs := []slog.Attr{slog.String("api", "kpn"), slog.String("attempt", att.ID)}
	att, err := a.settle(ctx, att)
	if err == nil {
		attrs = append(attrs, slog.String("state", att.State))
		err = a.notifyResult(ctx, att)
	}
	lvl := slog.LevelDebug
	if err != nil {
		lvl, attrs = slog.LevelWarn, append(attrs, slog.Any("error", err))
	}
	a.log.LogAttrs(ctx, lvl, "kpn attempt end reported", attrs...)
	return err
}
