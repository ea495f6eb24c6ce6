package httpx

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRecoverLogsRouteNotPath: a panic is a 500 with an error id, and its
// log line names the route that panicked, not the path, which may carry a
// phone number.
func TestRecoverLogsRouteNotPath(t *testing.T) {
	var logs bytes.Buffer
	mux := http.NewServeMux()
	mux.HandleFunc("POST /insights/{msisdn}", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := Recover(slog.New(slog.NewTextHandler(&logs, nil)), mux)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/insights/31612345678", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "internal error ") {
		t.Fatalf("panic answered %d %q, want 500 with an error id", rec.Code, rec.Body)
	}
	if strings.Contains(logs.String(), "31612345678") || !strings.Contains(logs.String(), "/insights/{msisdn}") {
		t.Errorf("log %q: want the route, never the number", logs.String())
	}
}
