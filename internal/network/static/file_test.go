package static_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/static"
)

// logBuf collects log output written by Run's goroutine.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mtime is advanced for every write, so that a change is visible even on
// file systems with coarse timestamps.
var mtime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	mtime = mtime.Add(time.Second)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func lookup(t *testing.T, f *static.File, addr string) string {
	t.Helper()
	id, err := f.Identify(t.Context(), network.Connection{Addr: netip.MustParseAddr(addr)})
	if errors.Is(err, network.ErrNotIdentifiable) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return id.Number
}

// harness runs f.Run in a synctest bubble and returns a function that lets
// one interval pass and waits for the check to finish.
func harness(t *testing.T, f *static.File, interval time.Duration) (tick func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return func() {
		time.Sleep(interval)
		synctest.Wait()
	}
}

func TestFileReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bindings.txt")
		write(t, path, "10.0.0.1 +31600000001\n")
		logs := &logBuf{}
		const interval = 250 * time.Millisecond
		f, err := static.Open(static.Options{Path: path, Interval: interval, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		tick := harness(t, f, interval)
		if got := lookup(t, f, "10.0.0.1"); got != "+31600000001" {
			t.Fatalf("initial lookup = %q", got)
		}

		// A change is picked up once it has held still for an interval.
		write(t, path, "10.0.0.1 +31600000002\n10.0.0.2 +31600000003\n")
		tick()
		if got := lookup(t, f, "10.0.0.2"); got != "" {
			t.Fatalf("a change read before it held still: %q", got)
		}
		tick()
		if got := lookup(t, f, "10.0.0.2"); got != "+31600000003" {
			t.Fatalf("after change: %q", got)
		}
		if f.Len() != 2 {
			t.Errorf("Len = %d", f.Len())
		}

		// Same size, new content: the modification time tells.
		write(t, path, "10.0.0.1 +31600000009\n10.0.0.2 +31600000003\n")
		tick()
		tick()
		if got := lookup(t, f, "10.0.0.1"); got != "+31600000009" {
			t.Fatalf("after same-size change: %q", got)
		}

		// A file renamed into place (how editors and config maps replace it).
		tmp := path + ".new"
		write(t, tmp, "10.0.0.7 +31600000007\n")
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		tick()
		tick()
		if got := lookup(t, f, "10.0.0.7"); got != "+31600000007" {
			t.Fatalf("after rename: %q", got)
		}
		if got := lookup(t, f, "10.0.0.1"); got != "" {
			t.Errorf("removed binding still answers: %q", got)
		}
		if n := strings.Count(logs.String(), "static bindings loaded"); n != 3 {
			t.Errorf("%d reloads logged, want 3:\n%s", n, logs)
		}
	})
}

func TestFileBadReloadKeepsOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bindings.txt")
		write(t, path, "10.0.0.1 +31600000001\n")
		logs := &logBuf{}
		const interval = time.Second
		f, err := static.Open(static.Options{Path: path, Interval: interval, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		tick := harness(t, f, interval)

		write(t, path, "10.0.0.1 +31612345678\n10.0.0.300 +31687654321\n")
		tick()
		tick()
		if got := lookup(t, f, "10.0.0.1"); got != "+31600000001" {
			t.Fatalf("bad file replaced the bindings: %q", got)
		}
		out := logs.String()
		if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "bindings.txt:2: first field is not an IP address") {
			t.Errorf("failure not logged with file:line:\n%s", out)
		}
		assertNoNumber(t, out, "31612345678", "31687654321")

		// An unchanged bad file is reported once, not at every tick.
		tick()
		tick()
		if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
			t.Errorf("%d errors logged, want 1:\n%s", n, logs)
		}

		// A missing file keeps the bindings too.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		tick()
		tick()
		if got := lookup(t, f, "10.0.0.1"); got != "+31600000001" {
			t.Fatalf("missing file replaced the bindings: %q", got)
		}
		if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
			t.Errorf("%d errors logged, want 2:\n%s", n, logs)
		}

		// A fixed file is picked up.
		write(t, path, "10.0.0.1 +31600000004\n")
		tick()
		tick()
		if got := lookup(t, f, "10.0.0.1"); got != "+31600000004" {
			t.Fatalf("fixed file not loaded: %q", got)
		}
	})
}

// TestFileHalfWrittenNotRead: a file written in place in steps (an editor
// truncating, then writing) is read only once it holds still, never half
// way: the cut line "10.0.0.0/1 +3161" parses, and would name a wrong
// subscriber for half of IPv4.
func TestFileHalfWrittenNotRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bindings.txt")
		write(t, path, "10.0.0.1 +31600000001\n")
		const interval = time.Second
		f, err := static.Open(static.Options{Path: path, Interval: interval})
		if err != nil {
			t.Fatal(err)
		}
		tick := harness(t, f, interval)
		for _, partial := range []string{"", "10.0.0.0/1 +3161"} {
			write(t, path, partial)
			tick()
			if got := lookup(t, f, "10.0.0.1"); got != "+31600000001" {
				t.Fatalf("after a partial write %q: %q, want the old binding", partial, got)
			}
		}
		write(t, path, "10.0.0.0/16 +31612345678\n")
		tick()
		if got := lookup(t, f, "10.200.0.1"); got != "" {
			t.Fatalf("10.200.0.1 identified as %q by a file still changing", got)
		}
		tick()
		if got := lookup(t, f, "10.0.0.1"); got != "+31612345678" {
			t.Fatalf("the finished file is not read: %q", got)
		}
	})
}

func TestFileReloadNow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bindings.txt")
	write(t, path, "10.0.0.1 +31600000001\n")
	f, err := static.Open(static.Options{Path: path, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	// Reload reads even when size and time look unchanged.
	if err := os.WriteFile(path, []byte("10.0.0.1 +31600000002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := lookup(t, f, "10.0.0.1"); got != "+31600000002" {
		t.Fatalf("after Reload: %q", got)
	}
	write(t, path, "nonsense\n")
	var pe *static.ParseError
	if err := f.Reload(); !errors.As(err, &pe) || pe.Line != 1 {
		t.Fatalf("Reload of a bad file = %v", err)
	}
	if got := lookup(t, f, "10.0.0.1"); got != "+31600000002" {
		t.Fatalf("after bad Reload: %q", got)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := static.Open(static.Options{}); err == nil {
		t.Error("no path: no error")
	}
	if _, err := static.Open(static.Options{Path: filepath.Join(dir, "missing")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.txt")
	write(t, bad, "10.0.0.1 +31612345678\n10.0.0.1 0612345678\n")
	_, err := static.Open(static.Options{Path: bad})
	var pe *static.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.File != bad {
		t.Errorf("bad file: %v", err)
	}
	assertNoNumber(t, err.Error(), "31612345678", "612345678")
}
