package loadgen

import (
	"testing"
	"time"
)

func ms10(ns ...int) []time.Duration {
	var d []time.Duration
	for _, n := range ns {
		d = append(d, time.Duration(n)*time.Millisecond)
	}
	return d
}

func seqMS(n int) []time.Duration {
	var d []time.Duration
	for i := 1; i <= n; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	return d
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample p50", ms10(7), 50, 7 * time.Millisecond},
		{"one sample p99", ms10(7), 99, 7 * time.Millisecond},
		{"ten p50", seqMS(10), 50, 5 * time.Millisecond},
		{"ten p90", seqMS(10), 90, 9 * time.Millisecond},
		{"ten p99", seqMS(10), 99, 10 * time.Millisecond},
		{"ten p100", seqMS(10), 100, 10 * time.Millisecond},
		{"hundred p99", seqMS(100), 99, 99 * time.Millisecond},
		{"hundred p90", seqMS(100), 90, 90 * time.Millisecond},
		{"hundred p50", seqMS(100), 50, 50 * time.Millisecond},
		{"thousand p99", seqMS(1000), 99, 990 * time.Millisecond},
		{"three p50 rounds up", seqMS(3), 50, 2 * time.Millisecond},
		{"two p50", seqMS(2), 50, 1 * time.Millisecond},
		{"two p51", seqMS(2), 51, 2 * time.Millisecond},
		{"tiny p clamps to first", seqMS(10), 0.001, 1 * time.Millisecond},
		{"p over 100 clamps to last", seqMS(10), 150, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.samples, tt.p); got != tt.want {
				t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(tt.samples), tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		want    Latency
	}{
		{"none", nil, Latency{}},
		{"unsorted", ms10(9, 1, 5, 3, 7, 2, 10, 4, 8, 6), Latency{
			P50: 5 * time.Millisecond, P90: 9 * time.Millisecond,
			P99: 10 * time.Millisecond, Max: 10 * time.Millisecond}},
		{"one outlier", append(ms10(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 500*time.Millisecond), Latency{
			P50: time.Millisecond, P90: time.Millisecond,
			P99: 500 * time.Millisecond, Max: 500 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.samples); got != tt.want {
				t.Errorf("Summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}
