package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/postgres"
	"github.com/numgate/numgate/internal/store/storetest"
)

// defaultDSN is the test server when NUMGATE_TEST_POSTGRES_DSN is unset.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// server connects to the test server once; without one the tests skip,
// or fail when CI=true.
var server = sync.OnceValues(func() (*pgxpool.Pool, error) {
	dsn := testDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
})

func testDSN() string {
	if dsn := os.Getenv("NUMGATE_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return defaultDSN
}

// admin returns the shared connection to the test server.
func admin(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := server()
	if err != nil {
		msg := "PostgreSQL test server unreachable (set NUMGATE_TEST_POSTGRES_DSN; default " + defaultDSN + "): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return pool
}

// newSchema creates an empty schema, dropped when the test ends, and returns
// the test DSN with its search_path set to it.
func newSchema(t testing.TB) string {
	t.Helper()
	pool := admin(t)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	return withSearchPath(t, testDSN(), schema)
}

// withSearchPath sets the search_path runtime parameter in a URL or
// key=value DSN.
func withSearchPath(t testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("NUMGATE_TEST_POSTGRES_DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// open opens a store in a fresh schema, closed when the test ends.
func open(t testing.TB) *postgres.Store {
	t.Helper()
	dsn := newSchema(t)
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() }) // runs before the schema is dropped
	return s
}

func TestConformance(t *testing.T) {
	admin(t)
	storetest.RunTests(t, func(t *testing.T) store.Store { return open(t) })
}

// TestOpenTwice checks that a second replica opening a migrated schema
// migrates nothing and sees the first one's data.
func TestOpenTwice(t *testing.T) {
	ctx := t.Context()
	dsn := newSchema(t)
	var stores [2]*postgres.Store
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := stores[0].CreateClient(ctx, store.Client{ID: "c1", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].GetClient(ctx, "c1"); err != nil {
		t.Fatalf("GetClient through the other store: %v", err)
	}
}

func TestOpenBadDSN(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://%zz"); err == nil {
		t.Fatal("Open with a malformed DSN: got no error")
	}
}

// BenchmarkFlowOps runs the store operations of one verification (see
// storetest.BenchmarkFlow).
func BenchmarkFlowOps(b *testing.B) {
	storetest.BenchmarkFlow(b, open(b))
}

// TestMigrateReportAt checks that a schema from before report_at (version
// 2: the migration undone, rows written with the old column list) is
// upgraded by Open without touching a row: old attempts have nothing to
// report, and the column works for new ones.
func TestMigrateReportAt(t *testing.T) {
	ctx := t.Context()
	dsn := newSchema(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	now := time.Date(2031, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)
	for _, q := range []string{
		`DROP INDEX attempts_report_due`,
		`ALTER TABLE attempts DROP COLUMN report_at`,
		`DELETE FROM goose_db_version WHERE version_id IN (3, 4)`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("back to version 2: %s: %v", q, err)
		}
	}
	if _, err := db.Exec(ctx, `INSERT INTO attempts (id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
device_number, device_hash, identified_by, device_addr, user_agent, created_at, updated_at, deadline, data)
VALUES ('att-done', 'client-1', 'kpn', 'consumed', '', '', 'h1:ab', '', '', 'virtual', '10.0.0.1', 'ua', $1, $1, $1, '{"mode":"notify"}')`, now); err != nil {
		t.Fatal(err)
	}

	s, err = postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open of a version 2 schema: %v", err)
	}
	defer s.Close()
	a, err := s.GetAttempt(ctx, "att-done")
	if err != nil || a.State != "consumed" || string(a.Data) != `{"mode":"notify"}` || !a.ReportAt.IsZero() {
		t.Fatalf("GetAttempt after migration: %+v, %v", a, err)
	}
	if due, err := s.DueReports(ctx, now, 10); err != nil || len(due) != 0 {
		t.Fatalf("DueReports after migration: %d, %v; want none", len(due), err)
	}
	if _, err := s.UpdateAttempt(ctx, "att-done", func(a store.Attempt) (store.Attempt, error) {
		a.ReportAt = now
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	if due, err := s.DueReports(ctx, now, 10); err != nil || len(due) != 1 || !due[0].ReportAt.Equal(now) {
		t.Fatalf("DueReports after marking: %v, %v", due, err)
	}
}

// TestMigrateAfterFailedConcurrentIndex checks that an index built
// CONCURRENTLY by a migration that failed half-way (a replica killed
// during a rolling deploy, a lock timeout) is rebuilt when the migration
// runs again: PostgreSQL leaves an INVALID index behind, which IF NOT
// EXISTS would take for the index and keep for good, unused by every query.
func TestMigrateAfterFailedConcurrentIndex(t *testing.T) {
	ctx := t.Context()
	dsn := newSchema(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	now := time.Date(2031, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)
	for _, q := range []string{
		`DROP INDEX attempts_report_due`,
		`DROP INDEX deliveries_ended`,
		`ALTER TABLE attempts DROP COLUMN report_at`,
		`DELETE FROM goose_db_version WHERE version_id IN (2, 3, 4)`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("back to version 1: %s: %v", q, err)
		}
	}
	for _, id := range []string{"a1", "a2"} {
		if _, err := db.Exec(ctx, `INSERT INTO attempts (id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
device_number, device_hash, identified_by, device_addr, user_agent, created_at, updated_at, deadline)
VALUES ($1, 'client-1', 'kpn', 'consumed', '', '', '', '', '', '', '', '', $2, $2, $2)`, id, now); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO deliveries (id, kind, url, state, tries, next_try_at, lease_until, last_error, created_at, updated_at)
VALUES ($1, 'k', 'https://app.example/', 'failed', 1, $2, $2, '', $2, $2)`, id, now); err != nil {
			t.Fatal(err)
		}
	}
	// A concurrent build that fails leaves its index INVALID under the name.
	for _, q := range []string{
		`CREATE UNIQUE INDEX CONCURRENTLY attempts_report_due ON attempts (client_id)`,
		`CREATE UNIQUE INDEX CONCURRENTLY deliveries_ended ON deliveries (kind)`,
	} {
		if _, err := db.Exec(ctx, q); err == nil {
			t.Fatalf("%s: want it to fail", q)
		}
	}

	s, err = postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open after a failed concurrent build: %v", err)
	}
	defer s.Close()
	for _, name := range []string{"attempts_report_due", "deliveries_ended"} {
		var valid bool
		var def string
		if err := db.QueryRow(ctx, `SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`, name).Scan(&valid, &def); err != nil {
			t.Fatalf("index %s: %v", name, err)
		}
		if !valid || strings.Contains(def, "UNIQUE") {
			t.Errorf("index %s after the migration: valid %v, %s; want the migration's, valid", name, valid, def)
		}
	}
}
