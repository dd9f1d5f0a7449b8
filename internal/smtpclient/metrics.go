package smtpclient

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of outbound SMTP. A nil *Metrics records nothing.
type Metrics struct {
	connects   *prometheus.CounterVec // result: ok, failed
	reused     prometheus.Counter
	tls        *prometheus.CounterVec // result: ok, failed, none
	recipients *prometheus.CounterVec // result: delivered, temporary, permanent
	converted  prometheus.Counter
}

// NewMetrics makes the client metrics and registers them with reg (if not
// nil). Registering twice with one registry reuses the first collectors.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_smtpclient_connections_total",
			Help: "Outbound SMTP connection attempts, by result (ok: greeted and ready).",
		}, []string{"result"}),
		reused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_smtpclient_connection_reuses_total",
			Help: "Transactions sent over a pooled connection.",
		}),
		tls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_smtpclient_starttls_total",
			Help: "STARTTLS outcomes of new connections (none: not offered or not wanted).",
		}, []string{"result"}),
		recipients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_smtpclient_recipients_total",
			Help: "Recipient outcomes of Deliver.",
		}, []string{"result"}),
		converted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_smtpclient_converted_total",
			Help: "Messages converted to 7 bit for a peer without 8BITMIME.",
		}),
	}
	if reg != nil {
		m.connects = register(reg, m.connects)
		m.reused = register(reg, m.reused)
		m.tls = register(reg, m.tls)
		m.recipients = register(reg, m.recipients)
		m.converted = register(reg, m.converted)
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

func (m *Metrics) connect(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.connects.WithLabelValues("ok").Inc()
	} else {
		m.connects.WithLabelValues("failed").Inc()
	}
}

func (m *Metrics) reuse() {
	if m != nil {
		m.reused.Inc()
	}
}

func (m *Metrics) starttls(result string) {
	if m != nil {
		m.tls.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) result(r *Result) {
	if m == nil {
		return
	}
	if r.Converted {
		m.converted.Inc()
	}
	for i := range r.Rcpts {
		switch {
		case r.Rcpts[i].Delivered():
			m.recipients.WithLabelValues("delivered").Inc()
		case r.Rcpts[i].Permanent():
			m.recipients.WithLabelValues("permanent").Inc()
		default:
			m.recipients.WithLabelValues("temporary").Inc()
		}
	}
}
