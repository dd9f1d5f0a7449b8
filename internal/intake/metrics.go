package intake

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the group committer. A nil *Metrics records nothing.
type Metrics struct {
	batchSize     prometheus.Histogram
	commitSeconds prometheus.Histogram
	commitErrors  prometheus.Counter
}

// NewMetrics makes the intake metrics and registers them with reg (if not
// nil). Registering twice with one registry reuses the first collectors.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "posthorn_intake_batch_messages",
			Help:    "Messages per group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "posthorn_intake_commit_seconds",
			Help:    "Time of one store commit (including fsync).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_intake_commit_errors_total",
			Help: "Failed store commits (batches and single retries).",
		}),
	}
	if reg != nil {
		m.batchSize = register(reg, m.batchSize)
		m.commitSeconds = register(reg, m.commitSeconds)
		m.commitErrors = register(reg, m.commitErrors)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
	}
	return c
}

func (m *Metrics) observeCommit(n int, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.batchSize.Observe(float64(n))
	m.commitSeconds.Observe(d.Seconds())
	if err != nil {
		m.commitErrors.Inc()
	}
}
