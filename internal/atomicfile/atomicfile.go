// Package atomicfile writes the gateway's small files (signing keys, the
// pseudonym key) so that no reader ever sees one half-written and, when
// several processes create the same file at once (replicas starting on a
// shared volume), exactly one version wins and everyone reads it.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateNew writes data to a new file at path with mode 0600, atomically:
// a temporary file is written, synced, and hard-linked into place, which
// fails with an error wrapping fs.ErrExist if path exists (another process
// was first). On file systems without hard links it falls back to a
// rename, atomic too, but it could replace a file written meanwhile.
func CreateNew(path string, data []byte) error {
	tmp, err := writeTemp(filepath.Dir(path), data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return os.Rename(tmp, path)
	}
	return nil
}

// Replace replaces the file at path with data (mode 0600), atomically: a
// synced temporary file renamed over it, then the directory synced.
func Replace(path string, data []byte) error {
	tmp, err := writeTemp(filepath.Dir(path), data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes the creation, rename or removal of a file in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeTemp writes data to a new temporary file in dir (mode 0600), synced
// and closed, and returns its name; the caller removes it.
func writeTemp(dir string, data []byte) (string, error) {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return "", werr
	}
	return tmp.Name(), nil
}
