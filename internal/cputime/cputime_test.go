package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCountsWork: spinning adds CPU time. The spin runs until the
// clock shows 20 ms of CPU or 5 s have passed, so a loaded machine (where
// the spinner waits for a CPU) only makes it slower, never failing.
func TestProcessCountsWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no CPU time on " + runtime.GOOS)
	}
	before := Process()
	x := 0
	for deadline := time.Now().Add(5 * time.Second); Process()-before < 20*time.Millisecond; x++ {
		if time.Now().After(deadline) {
			t.Fatalf("5 s of spinning (%d turns) added only %v of CPU time", x, Process()-before)
		}
	}
}
