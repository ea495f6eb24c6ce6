//go:build !unix

package server_test

import "time"

// cpuTime is unknown here: the benchmarks report wall-clock time only.
func cpuTime() time.Duration { return 0 }
