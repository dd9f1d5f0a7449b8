package smtpserver

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the SMTP server's Prometheus metrics. A nil *Metrics is
// valid and records nothing.
type Metrics struct {
	sessions *prometheus.GaugeVec   // listener
	replies  *prometheus.CounterVec // listener, code
	messages *prometheus.CounterVec // listener, code of the final reply
	bytes    *prometheus.CounterVec // listener
	refused  *prometheus.CounterVec // listener, reason
	panics   *prometheus.CounterVec // listener
}

// NewMetrics makes the metrics and registers them with reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "posthorn_smtp_sessions", Help: "SMTP sessions open now.",
		}, []string{"listener"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_smtp_replies_total", Help: "SMTP replies sent, by code.",
		}, []string{"listener", "code"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_smtp_messages_total", Help: "Messages received (DATA or BDAT LAST), by the code of the final reply.",
		}, []string{"listener", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_smtp_received_bytes_total", Help: "Octets of message data received.",
		}, []string{"listener"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_smtp_refused_total", Help: "Sessions refused or cut short, by reason.",
		}, []string{"listener", "reason"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_smtp_panics_total", Help: "Sessions ended by a recovered panic.",
		}, []string{"listener"}),
	}
	if reg != nil {
		reg.MustRegister(m.sessions, m.replies, m.messages, m.bytes, m.refused, m.panics)
	}
	return m
}

func (m *Metrics) sessionDelta(listener string, d float64) {
	if m != nil {
		m.sessions.WithLabelValues(listener).Add(d)
	}
}

func (m *Metrics) reply(listener string, code int) {
	if m != nil {
		m.replies.WithLabelValues(listener, strconv.Itoa(code)).Inc()
	}
}

func (m *Metrics) message(listener string, code int, size int64) {
	if m != nil {
		m.messages.WithLabelValues(listener, strconv.Itoa(code)).Inc()
		m.bytes.WithLabelValues(listener).Add(float64(size))
	}
}

func (m *Metrics) refuse(listener, reason string) {
	if m != nil {
		m.refused.WithLabelValues(listener, reason).Inc()
	}
}

func (m *Metrics) panicked(listener string) {
	if m != nil {
		m.panics.WithLabelValues(listener).Inc()
	}
}
