//go:build !unix

package cputime

import "time"

// Process returns 0: the CPU time is unknown here, so benchmarks report
// wall-clock time only.
func Process() time.Duration { return 0 }
