//go:build !unix

package task

// cpuTime is not measured here: benchmarks report 0 CPU.
func cpuTime() int64 { return 0 }
