package pop3server

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Login results, the values of the "result" label of
// posthorn_pop3_logins_total.
const (
	loginOK       = "ok"
	loginFailed   = "auth_failed" // bad credentials or unknown user
	loginInUse    = "in_use"      // maildrop locked by another session
	loginDelay    = "delay"       // refused by a login rate limit
	loginError    = "error"       // the backend failed
	loginRefused  = "refused"     // plaintext login without TLS
	loginAborted  = "cancelled"   // the client cancelled AUTH
	loginMismatch = "bad_authzid" // PLAIN authzid other than authcid
)

// Metrics are the POP3 engine's Prometheus metrics. A nil *Metrics is
// valid and records nothing. Several Servers (pop3 and pop3s) may share
// one.
type Metrics struct {
	sessions  prometheus.Counter
	active    prometheus.Gauge
	rejected  prometheus.Counter
	logins    *prometheus.CounterVec
	retrieved prometheus.Counter
	bytes     prometheus.Counter
	deleted   prometheus.Counter
	panics    prometheus.Counter
}

// NewMetrics makes the metrics and registers them with reg; reg may be
// nil (metrics unregistered). Metrics already registered with reg, by an
// earlier call, are shared rather than rejected.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_pop3_sessions_total",
			Help: "POP3 sessions started (connections accepted under the limit).",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posthorn_pop3_sessions_active",
			Help: "POP3 sessions open now.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_pop3_connections_rejected_total",
			Help: "POP3 connections refused over max_connections.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_pop3_logins_total",
			Help: "POP3 login attempts by result.",
		}, []string{"result"}),
		retrieved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_pop3_messages_retrieved_total",
			Help: "Messages sent whole by RETR.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_pop3_retrieved_bytes_total",
			Help: "Message octets read for RETR and TOP, before dot-stuffing.",
		}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_pop3_messages_deleted_total",
			Help: "Messages removed in the UPDATE state.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_pop3_panics_total",
			Help: "POP3 sessions ended by a recovered panic.",
		}),
	}
	if reg == nil {
		return m
	}
	m.sessions = register(reg, m.sessions)
	m.active = register(reg, m.active)
	m.rejected = register(reg, m.rejected)
	m.logins = register(reg, m.logins)
	m.retrieved = register(reg, m.retrieved)
	m.bytes = register(reg, m.bytes)
	m.deleted = register(reg, m.deleted)
	m.panics = register(reg, m.panics)
	return m
}

// register registers c, or returns the collector already registered
// under the same description so that two listeners can share metrics.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A conflicting registration is a programming error; keep the
		// metric working, unexported, rather than fail the server.
	}
	return c
}

func (m *Metrics) sessionStarted() {
	if m != nil {
		m.sessions.Inc()
		m.active.Inc()
	}
}

func (m *Metrics) sessionEnded() {
	if m != nil {
		m.active.Dec()
	}
}

func (m *Metrics) connectionRejected() {
	if m != nil {
		m.rejected.Inc()
	}
}

func (m *Metrics) login(result string) {
	if m != nil {
		m.logins.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) messageSent(whole bool, n int64) {
	if m != nil {
		if whole {
			m.retrieved.Inc()
		}
		m.bytes.Add(float64(n))
	}
}

func (m *Metrics) messagesDeleted(n int) {
	if m != nil {
		m.deleted.Add(float64(n))
	}
}

func (m *Metrics) panicked() {
	if m != nil {
		m.panics.Inc()
	}
}
