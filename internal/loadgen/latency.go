package loadgen

import (
	"math"
	"slices"
	"time"
)

// Latency summarizes the per-message latencies (MAIL to the final 250).
type Latency struct {
	P50, P90, P99, Max time.Duration
}

// Summarize sorts samples in place and returns their percentiles; all
// zero when there are none.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	return Latency{
		P50: Percentile(samples, 50),
		P90: Percentile(samples, 90),
		P99: Percentile(samples, 99),
		Max: samples[len(samples)-1],
	}
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted samples
// by the nearest-rank method: the smallest sample such that at least p%
// of the samples are less than or equal to it. It never interpolates, so
// the answer is always a latency that was measured.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(n) / 100))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}
