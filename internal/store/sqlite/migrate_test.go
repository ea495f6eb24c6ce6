package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/numgate/numgate/internal/store"
)

// TestMigrateFromV1 builds a database with only the first migration (the
// schema of every release before 00002), fills it as that code did, and
// checks that Open upgrades it without losing a row: attempts become
// WITHOUT ROWID with their indexes, grants_expires_at goes, and every
// operation still finds the old data.
func TestMigrateFromV1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "numgate.db")
	now := time.Date(2031, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

	old := openAtVersion(t, path, 1)
	const insertAttempt = `INSERT INTO attempts (id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
device_number, device_hash, identified_by, device_addr, user_agent, created_at, updated_at, deadline, data)
VALUES (?, 'client-1', 'camara', ?, '', '+15550100123', 'h1:ab', '', '', 'virtual', '10.0.0.1', 'ua', ?, ?, ?, ?)`
	for _, a := range []struct {
		id, state string
		deadline  time.Time
	}{
		{"att-open", "created", now.Add(-time.Second)},    // due
		{"att-done", "decided", now.Add(time.Minute)},     // kept
		{"att-old", "consumed", now.Add(-48 * time.Hour)}, // collected
	} {
		if _, err := old.ExecContext(ctx, insertAttempt, a.id, a.state, unixMicro(now), unixMicro(now),
			unixMicro(a.deadline), []byte(`{"scope":"x"}`)); err != nil {
			t.Fatal(err)
		}
	}
	const insertGrant = `INSERT INTO grants (kind, key, client_id, attempt_id, data, created_at, expires_at)
VALUES (?, ?, 'client-1', 'att-done', NULL, ?, ?)`
	if _, err := old.ExecContext(ctx, insertGrant, "code", "live", unixMicro(now), unixMicro(now.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, insertGrant, "code", "dead", unixMicro(now.Add(-time.Hour)), unixMicro(now.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	defer s.Close()

	schema := func(name string) string {
		var q string
		if err := s.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = ?`, name).Scan(&q); err != nil {
			return ""
		}
		return q
	}
	if q := schema("attempts"); !strings.Contains(q, "WITHOUT ROWID") || !strings.Contains(q, "STRICT") {
		t.Errorf("attempts after migration: %s", q)
	}
	for _, idx := range []string{"attempts_open_deadline", "attempts_deadline"} {
		if schema(idx) == "" {
			t.Errorf("index %s is missing after migration", idx)
		}
	}
	if q := schema("grants_expires_at"); q != "" {
		t.Errorf("grants_expires_at is still there: %s", q)
	}

	a, err := s.GetAttempt(ctx, "att-done")
	if err != nil {
		t.Fatalf("GetAttempt after migration: %v", err)
	}
	if a.State != "decided" || string(a.Data) != `{"scope":"x"}` || !a.Deadline.Equal(now.Add(time.Minute)) {
		t.Errorf("GetAttempt after migration: %+v", a)
	}
	due, err := s.DueAttempts(ctx, now, 10)
	if err != nil || len(due) != 1 || due[0].ID != "att-open" {
		t.Errorf("DueAttempts after migration: %v, %v", due, err)
	}
	if _, err := s.GetGrant(ctx, store.GrantCode, "live", now); err != nil {
		t.Errorf("GetGrant after migration: %v", err)
	}
	gc, err := s.GarbageCollect(ctx, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.GCResult{Grants: 1, Attempts: 1}); gc != want {
		t.Errorf("GarbageCollect after migration: %+v, want %+v", gc, want)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM attempts`).Scan(&n); err != nil || n != 2 {
		t.Errorf("attempts left: %d, %v", n, err)
	}
}

// TestMigrateFromV3 builds a database with the schema before report_at
// (migrations 1 to 3, every release up to the durable KPN notifications),
// fills it as that code did, and checks that Open adds the column and its
// index without touching a row: old attempts have nothing to report, and
// the new ones report as they should.
func TestMigrateFromV3(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "numgate.db")
	now := time.Date(2031, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

	old := openAtVersion(t, path, 3)
	// The column list of the code before report_at.
	const insertAttempt = `INSERT INTO attempts (id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
device_number, device_hash, identified_by, device_addr, user_agent, created_at, updated_at, deadline, data)
VALUES (?, 'client-1', 'kpn', ?, '', '', 'h1:ab', '', '', 'virtual', '10.0.0.1', 'ua', ?, ?, ?, ?)`
	for _, a := range []struct {
		id, state string
		deadline  time.Time
	}{
		{"att-open", "created", now.Add(-time.Second)},
		{"att-done", "consumed", now.Add(-time.Minute)},
		{"att-old", "expired", now.Add(-48 * time.Hour)},
	} {
		if _, err := old.ExecContext(ctx, insertAttempt, a.id, a.state, unixMicro(now), unixMicro(now),
			unixMicro(a.deadline), []byte(`{"mode":"notify"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a version 3 database: %v", err)
	}
	defer s.Close()
	var idx string
	if err := s.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'attempts_report_due'`).Scan(&idx); err != nil {
		t.Fatalf("index attempts_report_due after migration: %v", err)
	}

	a, err := s.GetAttempt(ctx, "att-done")
	if err != nil {
		t.Fatalf("GetAttempt after migration: %v", err)
	}
	if a.State != "consumed" || string(a.Data) != `{"mode":"notify"}` || !a.ReportAt.IsZero() {
		t.Errorf("GetAttempt after migration: %+v", a)
	}
	due, err := s.DueReports(ctx, now, 10)
	if err != nil || len(due) != 0 {
		t.Errorf("DueReports after migration: %v, %v; want none", ids(due), err)
	}
	if due, err := s.DueAttempts(ctx, now, 10); err != nil || len(due) != 1 || due[0].ID != "att-open" {
		t.Errorf("DueAttempts after migration: %v, %v", ids(due), err)
	}

	// An old attempt can be marked and cleared; a new one stores its mark.
	if _, err := s.UpdateAttempt(ctx, "att-done", func(a store.Attempt) (store.Attempt, error) {
		a.ReportAt = now
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	n := store.Attempt{ID: "att-new", ClientID: "client-1", Dialect: "kpn", State: "expired",
		CreatedAt: now, UpdatedAt: now, Deadline: now, ReportAt: now.Add(-time.Second)}
	if err := s.CreateAttempt(ctx, n); err != nil {
		t.Fatal(err)
	}
	due, err = s.DueReports(ctx, now, 10)
	if err != nil || !slices.Equal(ids(due), []string{"att-new", "att-done"}) {
		t.Errorf("DueReports after marking: %v, %v", ids(due), err)
	}
	gc, err := s.GarbageCollect(ctx, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.GCResult{Attempts: 1}); gc != want {
		t.Errorf("GarbageCollect after migration: %+v, want %+v", gc, want)
	}
}

func ids(as []store.Attempt) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// openAtVersion opens the database at path migrated only up to version, as
// a release of that schema left it.
func openAtVersion(t *testing.T, path string, version int64) *sql.DB {
	t.Helper()
	old, err := sql.Open("sqlite", dsn(path, "journal_mode(WAL)", "foreign_keys(1)"))
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, old, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), version); err != nil {
		t.Fatalf("migrate to version %d: %v", version, err)
	}
	return old
}
