package server

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/pop3server"
	"github.com/posthorn/posthorn/internal/smtpserver"
	"github.com/posthorn/posthorn/internal/tlsconf"
)

// engines makes one protocol server per configured listener kind and
// binds it to each of that kind's addresses.
func engines(cfg *config.Config, tm *tlsconf.Manager, reg prometheus.Registerer, log *slog.Logger,
	sb *smtpBackend, sub *submission, auth smtpserver.Authenticator, pb pop3server.Backend,
	ib imapserver.Backend) []binding {
	var out []binding
	add := func(name string, addrs []string, e engine) {
		for _, a := range addrs {
			out = append(out, binding{name: name, addr: a, eng: e})
		}
	}
	sm := smtpserver.NewMetrics(reg)
	if len(cfg.Listen.SMTP) > 0 {
		add("smtp", cfg.Listen.SMTP, smtpserver.New(smtpConfig(cfg, tm, "smtp"), sb, log, sm))
	}
	// Submission (RFC 6409, RFC 8314): AUTH required before MAIL, offered
	// only over TLS; the submission policy applies.
	for _, n := range []struct {
		name  string
		addrs []string
	}{{"submission", cfg.Listen.Submission}, {"submissions", cfg.Listen.Submissions}} {
		if len(n.addrs) == 0 {
			continue
		}
		c := smtpConfig(cfg, tm, n.name)
		c.Auth, c.RequireAuth = auth, true
		add(n.name, n.addrs, smtpserver.New(c, sb.forListener(sub), log, sm))
	}
	pm := pop3server.NewMetrics(reg)
	popCfg := func(implicit bool) pop3server.Config {
		return pop3server.Config{
			Hostname:           cfg.Hostname,
			TLS:                tm.Config(),
			ImplicitTLS:        implicit,
			AllowPlaintextAuth: cfg.AllowPlaintextAuth,
			IdleTimeout:        time.Duration(cfg.POP3.IdleTimeout),
			MaxConnections:     cfg.Limits.MaxConnections,
		}
	}
	if len(cfg.Listen.POP3) > 0 {
		add("pop3", cfg.Listen.POP3, pop3server.New(popCfg(false), pb, log, pm))
	}
	if len(cfg.Listen.POP3S) > 0 {
		add("pop3s", cfg.Listen.POP3S, pop3server.New(popCfg(true), pb, log, pm))
	}
	return append(out, imapBindings(cfg, tm, reg, log, ib)...)
}

func smtpConfig(cfg *config.Config, tm *tlsconf.Manager, name string) smtpserver.Config {
	t := cfg.SMTP
	return smtpserver.Config{
		Hostname:       cfg.Hostname,
		ListenerName:   name,
		MaxMessageSize: cfg.Limits.MaxMessageSize,
		MaxRecipients:  cfg.Limits.MaxRecipients,
		MaxConnections: cfg.Limits.MaxConnections,
		TLS:            tm.Config(),
		ImplicitTLS:    name == "submissions",
		MaxErrors:      t.MaxErrors,
		Timeouts: smtpserver.Timeouts{
			Greeting:  time.Duration(t.GreetingTimeout),
			DataInit:  time.Duration(t.DataInitTimeout),
			Command:   time.Duration(t.CommandTimeout),
			DataBlock: time.Duration(t.DataBlockTimeout),
			DataTerm:  time.Duration(t.DataTermTimeout),
		},
	}
}
