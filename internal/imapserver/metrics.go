package imapserver

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Login results, the values of the "result" label of
// posthorn_imap_logins_total.
const (
	loginOK       = "ok"
	loginFailed   = "auth_failed" // bad credentials or unknown user
	loginInUse    = "in_use"      // too many sessions of the user
	loginDelay    = "delay"       // refused by a login rate limit
	loginError    = "error"       // the backend failed
	loginRefused  = "refused"     // plaintext login without TLS
	loginAborted  = "cancelled"   // the client cancelled AUTH
	loginMismatch = "bad_authzid" // PLAIN authzid other than authcid
	loginInvalid  = "invalid"     // malformed credentials
)

// Metrics are the IMAP engine's Prometheus metrics. A nil *Metrics is
// valid and records nothing. Several Servers (imap and imaps) may share
// one.
type Metrics struct {
	sessions prometheus.Counter
	active   prometheus.Gauge
	rejected prometheus.Counter
	logins   *prometheus.CounterVec
	commands *prometheus.CounterVec
	panics   prometheus.Counter
}

// NewMetrics makes the metrics and registers them with reg; reg may be
// nil (metrics unregistered). Metrics already registered with reg, by an
// earlier call, are shared rather than rejected.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_imap_sessions_total",
			Help: "IMAP sessions started (connections accepted under the limit).",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posthorn_imap_sessions_active",
			Help: "IMAP sessions open now.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_imap_connections_rejected_total",
			Help: "IMAP connections refused over max_connections.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_imap_logins_total",
			Help: "IMAP login attempts by result.",
		}, []string{"result"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthorn_imap_commands_total",
			Help: "IMAP commands by name and result (OK, NO, BAD).",
		}, []string{"command", "result"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posthorn_imap_panics_total",
			Help: "IMAP sessions ended by a recovered panic.",
		}),
	}
	if reg == nil {
		return m
	}
	m.sessions = register(reg, m.sessions)
	m.active = register(reg, m.active)
	m.rejected = register(reg, m.rejected)
	m.logins = register(reg, m.logins)
	m.commands = register(reg, m.commands)
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

func (m *Metrics) command(name, result string) {
	if m != nil {
		m.commands.WithLabelValues(name, result).Inc()
	}
}

func (m *Metrics) panicked() {
	if m != nil {
		m.panics.Inc()
	}
}
