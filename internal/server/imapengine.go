package server

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/tlsconf"
)

// imapBindings makes the imap (STARTTLS) and imaps (implicit TLS, RFC
// 8314) servers and binds them to their configured addresses; one
// Metrics serves both.
func imapBindings(cfg *config.Config, tm *tlsconf.Manager, reg prometheus.Registerer, log *slog.Logger,
	ib imapserver.Backend) []binding {
	if len(cfg.Listen.IMAP)+len(cfg.Listen.IMAPS) == 0 {
		return nil
	}
	m := imapserver.NewMetrics(reg)
	conf := func(implicit bool) imapserver.Config {
		return imapserver.Config{
			Hostname:           cfg.Hostname,
			TLS:                tm.Config(),
			ImplicitTLS:        implicit,
			AllowPlaintextAuth: cfg.AllowPlaintextAuth,
			MaxLiteral:         cfg.Limits.MaxMessageSize,
			MaxConnections:     cfg.Limits.MaxConnections,
			MaxSessionsPerUser: cfg.Limits.IMAPSessionsPerUser,
		}
	}
	var out []binding
	for _, l := range []struct {
		name     string
		addrs    []string
		implicit bool
	}{{"imap", cfg.Listen.IMAP, false}, {"imaps", cfg.Listen.IMAPS, true}} {
		if len(l.addrs) == 0 {
			continue
		}
		srv := imapserver.New(conf(l.implicit), ib, log, m)
		for _, a := range l.addrs {
			out = append(out, binding{name: l.name, addr: a, eng: srv})
		}
	}
	return out
}
