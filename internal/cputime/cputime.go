// Package cputime reads the process's CPU time, for benchmarks that report
// cpu-ns/op beside wall-clock time: on a shared machine a benchmark waits
// for a CPU, and its wall-clock time grows with other jobs' load while its
// CPU time does not.
package cputime
