package queue

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the queue runner. A nil *Metrics records nothing.
type Metrics struct {
	entries, messages, active prometheus.Gauge
	results                   *prometheus.CounterVec
	reports                   *prometheus.CounterVec
}

// NewMetrics makes the queue metrics and registers them with reg (if not
// nil). Registering twice with one registry reuses the first collectors.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		entries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posthorn_queue_entries",
			Help: "Recipients in the relay queue (sampled at each scan).",
		}),
		messages: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posthorn_queue_messages",
			Help: "Messages in the relay queue (sampled at each scan).",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posthorn_queue_active_entries",
			Help: "Recipients claimed by this node: waiting for a delivery slot or in flight.",
		}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_queue_deliveries_total",
			Help: "Delivery outcomes per recipient: delivered, deferred, failed (permanent), expired (max_age).",
		}, []string{"result"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_queue_reports_total",
			Help: "DSNs queued (failure: bounces; success: relayed notices) or dropped (null sender, unreachable sender).",
		}, []string{"kind"}),
	}
	if reg != nil {
		m.entries = register(reg, m.entries)
		m.messages = register(reg, m.messages)
		m.active = register(reg, m.active)
		m.results = register(reg, m.results)
		m.reports = register(reg, m.reports)
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

func (m *Metrics) setLen(entries, messages int64) {
	if m != nil {
		m.entries.Set(float64(entries))
		m.messages.Set(float64(messages))
	}
}

func (m *Metrics) setActive(n int) {
	if m != nil {
		m.active.Set(float64(n))
	}
}

func (m *Metrics) result(r string) {
	if m != nil {
		m.results.WithLabelValues(r).Inc()
	}
}

func (m *Metrics) report(kind string) {
	if m != nil {
		m.reports.WithLabelValues(kind).Inc()
	}
}
