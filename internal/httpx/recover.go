package httpx

import (
	"log/slog"
	"net/http"

	"github.com/numgate/numgate/internal/randid"
)

// Recover turns a panic in next into a logged 500 with an error id, so one
// bad request cannot take the gateway down.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				id := randid.ID()
				log.Error("panic serving request", "error_id", id, "method", r.Method, "route", route(r), "panic", v)
				http.Error(w, "internal error "+id, http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// route is the pattern of the ServeMux route that took r (set on r by the
// mux), never the request's path: a path may carry a phone number (KPN's
// /insights/{msisdn}), which must not reach a log line.
func route(r *http.Request) string {
	if r.Pattern == "" {
		return "(unrouted)"
	}
	return r.Pattern
}
