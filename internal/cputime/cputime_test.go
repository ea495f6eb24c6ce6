package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCountsWork: spinning for a while adds CPU time.
func TestProcessCountsWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no CPU time on " + runtime.GOOS)
	}
	before := Process()
	x := 0
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
		x++
	}
	if d := Process() - before; d < 10*time.Millisecond {
		t.Errorf("50 ms of spinning (%d turns) added %v of CPU time", x, d)
	}
}
