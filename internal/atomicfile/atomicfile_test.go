package atomicfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/numgate/numgate/internal/atomicfile"
)

// TestCreateNewAndReplace: the first CreateNew wins and a second one finds
// the file there, changing nothing; Replace changes it; the file is 0600
// and no temporary file is left behind.
func TestCreateNewAndReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := atomicfile.CreateNew(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.CreateNew(path, []byte("second")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second CreateNew: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("after a losing CreateNew the file holds %q", b)
	}
	if err := atomicfile.Replace(path, []byte("third")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "third" {
		t.Fatalf("after Replace the file holds %q", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want only the one written", len(entries))
	}
}
