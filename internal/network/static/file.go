package static

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/numgate/numgate/internal/network"
)

// DefaultInterval is how often Run checks the file when Options.Interval is
// not set.
const DefaultInterval = time.Second

// Options configures a File.
type Options struct {
	// Path is the bindings file. Required.
	Path string
	// Interval is how often Run checks the file for changes (default
	// DefaultInterval).
	Interval time.Duration
	// Logger receives reloads and reload failures (default: discard). Its
	// lines never contain a phone number.
	Logger *slog.Logger
}

// File is a bindings file followed on disk. Identify uses the last bindings
// that parsed; Run (or Reload) picks up changes. It is safe for concurrent
// use.
type File struct {
	path     string
	interval time.Duration
	log      *slog.Logger

	table atomic.Pointer[Table]

	mu      sync.Mutex  // serialises checks; guards the fields below
	seen    fs.FileInfo // the file as last read, parsed or not
	pending fs.FileInfo // the file as changed since seen, at the last check
	lastErr string      // the last failure logged, to log each failure once
}

var _ network.Identifier = (*File)(nil)

// Open reads and parses the file. A file that does not parse is an error
// here: there are no previous bindings to keep.
func Open(opts Options) (*File, error) {
	if opts.Path == "" {
		return nil, fmt.Errorf("static: no bindings file given")
	}
	f := &File{path: opts.Path, interval: opts.Interval, log: opts.Logger}
	if f.interval <= 0 {
		f.interval = DefaultInterval
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	if err := f.load(fi); err != nil {
		return nil, err
	}
	return f, nil
}

// Identify implements network.Identifier with the current bindings.
func (f *File) Identify(ctx context.Context, c network.Connection) (network.Identity, error) {
	return f.table.Load().Identify(ctx, c)
}

// Len returns the number of current bindings.
func (f *File) Len() int { return f.table.Load().Len() }

// Run checks the file every interval until ctx ends, then returns nil. A
// change of modification time, size or identity (a file renamed into place)
// makes it re-read the file once the change has held still for an interval:
// a file still being written in place (an editor that truncates and writes)
// is not read half-way, where a cut line could still parse — a shorter
// number, a wider prefix — and name the wrong subscriber. A file that does
// not parse, or has gone, is logged once and the current bindings are kept.
func (f *File) Run(ctx context.Context) error {
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			f.check(false)
		}
	}
}

// Reload re-reads the file now, changed or not (for SIGHUP). On failure it
// logs, returns the error and keeps the current bindings.
func (f *File) Reload() error { return f.check(true) }

// check re-reads the file if forced or if it changed since last read.
func (f *File) check(force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		err = fmt.Errorf("static: %w", err)
		f.failed(err)
		return err
	}
	f.lastErr = "" // the file is back: a later failure is news again
	if !force {
		if !changed(f.seen, fi) {
			f.pending = nil
			return nil
		}
		if f.pending == nil || changed(f.pending, fi) {
			f.pending = fi // changed: read it once it holds still
			return nil
		}
	}
	f.pending = nil
	if err := f.load(fi); err != nil {
		f.failed(err)
		return err
	}
	f.log.Info("static bindings loaded", slog.String("file", f.path), slog.Int("bindings", f.Len()))
	return nil
}

// load reads and parses the file; fi is its state before reading. Even when
// parsing fails fi is remembered, so a bad file is reported once, not at
// every check.
func (f *File) load(fi fs.FileInfo) error {
	f.seen = fi
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("static: %w", err)
	}
	t, err := Parse(f.path, data)
	if err != nil {
		return err
	}
	f.table.Store(t)
	return nil
}

// failed logs a failed check once per distinct failure.
func (f *File) failed(err error) {
	if err.Error() == f.lastErr {
		return
	}
	f.lastErr = err.Error()
	f.log.Error("static bindings not reloaded; keeping the previous bindings",
		slog.String("file", f.path), slog.Int("bindings", f.Len()), slog.Any("err", err))
}

// changed reports whether the file described by now differs from was.
func changed(was, now fs.FileInfo) bool {
	return was == nil || !os.SameFile(was, now) ||
		!was.ModTime().Equal(now.ModTime()) || was.Size() != now.Size()
}
