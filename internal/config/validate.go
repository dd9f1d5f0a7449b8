package config

import (
	"fmt"
	"os"
	"strconv"
)

// Bounds on list lengths; a file past them is a mistake, not a setup.
const (
	maxDomains   = 10000
	maxRoutes    = 10000
	maxAddresses = 64 // per listener, and nameservers
)

// Validate checks the whole configuration and returns the first problem
// as an *Error naming the key (Load adds the line): addresses are
// host:port, domains are domain names, durations and limits are
// positive, route and store values are known, and the certificate and
// key files are both given or both empty, and readable.
func (c *Config) Validate() error {
	if problems := c.check(); len(problems) > 0 {
		problems[0].File = c.Path
		return problems[0]
	}
	return nil
}

// problems collects errors in a fixed order: the order of the file's
// documentation, so the first reported is predictable.
type problems []*Error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) addErr(key string, err error) {
	if err != nil {
		*p = append(*p, &Error{Key: key, Msg: err.Error(), Err: err})
	}
}

func (c *Config) check() problems {
	var p problems
	p.addErr("hostname", checkDomain(c.Hostname))
	if c.DataDir == "" {
		p.add("data_dir", "must not be empty")
	}
	c.checkDomains(&p)
	if c.Postmaster != "" {
		p.addErr("postmaster", checkAddress(c.Postmaster))
	}
	c.checkListen(&p)
	c.checkTLS(&p)
	c.checkLimits(&p)
	if len(c.DNS.Nameservers) > maxAddresses {
		p.add("dns.nameservers", "more than %d entries", maxAddresses)
	}
	for i, ns := range c.DNS.Nameservers {
		p.addErr(fmt.Sprintf("dns.nameservers[%d]", i), checkHostPort(ns, hostIP))
	}
	c.checkRoutes(&p)
	c.checkQueue(&p)
	c.checkStore(&p)
	c.checkSMTP(&p)
	checkPositive(&p, "pop3.idle_timeout", c.POP3.IdleTimeout)
	p.addErr("admin.token", checkToken(c.Admin.Token))
	return p
}

func (c *Config) checkDomains(p *problems) {
	if len(c.Domains) == 0 {
		p.add("domains", "at least one local domain is required")
	}
	if len(c.Domains) > maxDomains {
		p.add("domains", "more than %d entries", maxDomains)
		return
	}
	seen := map[string]bool{}
	for i, d := range c.Domains {
		key := fmt.Sprintf("domains[%d]", i)
		if err := checkDomain(d); err != nil {
			p.addErr(key, err)
		} else if seen[d] {
			p.add(key, "domain %q listed twice", d)
		}
		seen[d] = true
	}
}

func (c *Config) checkListen(p *problems) {
	seen := map[string]string{}
	for _, l := range c.Listen.Listeners() {
		if len(l.Addrs) > maxAddresses {
			p.add("listen."+l.Name, "more than %d addresses", maxAddresses)
			continue
		}
		for i, a := range l.Addrs {
			key := fmt.Sprintf("listen.%s[%d]", l.Name, i)
			if err := checkHostPort(a, hostAny); err != nil {
				p.addErr(key, err)
				continue
			}
			if prev, dup := seen[a]; dup && !isPortZero(a) {
				p.add(key, "address %q is already used by %s", a, prev)
			}
			seen[a] = "listen." + l.Name
		}
	}
}

// isPortZero: ":0" asks the kernel for a free port, so the same text may
// stand in several listeners (tests do this).
func isPortZero(hostport string) bool {
	_, port, err := splitHostPort(hostport)
	return err == nil && port == "0"
}

func (c *Config) checkTLS(p *problems) {
	cert, key := c.TLS.CertFile, c.TLS.KeyFile
	switch {
	case cert == "" && key == "":
		return
	case cert == "":
		p.add("tls.cert_file", "must be set when tls.key_file is")
		return
	case key == "":
		p.add("tls.key_file", "must be set when tls.cert_file is")
		return
	}
	p.addErr("tls.cert_file", checkReadable(cert))
	p.addErr("tls.key_file", checkReadable(key))
}

func (c *Config) checkLimits(p *problems) {
	l := c.Limits
	if l.MaxMessageSize <= 0 {
		p.add("limits.max_message_size", "must be positive, got %d", l.MaxMessageSize)
	}
	if l.MaxRecipients <= 0 {
		p.add("limits.max_recipients", "must be positive, got %d", l.MaxRecipients)
	}
	if l.MaxConnections <= 0 {
		p.add("limits.max_connections", "must be positive, got %d", l.MaxConnections)
	}
	if l.DefaultQuota < 0 {
		p.add("limits.default_quota", "must not be negative (0 = no quota), got %d", l.DefaultQuota)
	}
	if l.IMAPSessionsPerUser <= 0 {
		p.add("limits.imap_sessions_per_user", "must be positive, got %d", l.IMAPSessionsPerUser)
	}
	if l.RcptsPerHour < 0 {
		p.add("limits.recipients_per_hour", "must not be negative (0 = no limit), got %d", l.RcptsPerHour)
	}
	if l.SendPerHour < 0 {
		p.add("limits.send_per_hour", "must not be negative (0 = no limit), got %d", l.SendPerHour)
	}
}

func (c *Config) checkRoutes(p *problems) {
	if len(c.Routes) > maxRoutes {
		p.add("route", "more than %d routes", maxRoutes)
		return
	}
	seen := map[string]bool{}
	for i, r := range c.Routes {
		key := "route[" + strconv.Itoa(i) + "]"
		switch {
		case r.Domain == "":
			p.add(key+".domain", "is required (a domain, or \"*\" for a smarthost)")
		case r.Domain == "*":
		default:
			p.addErr(key+".domain", checkDomain(r.Domain))
		}
		if r.Domain != "" && seen[r.Domain] {
			p.add(key+".domain", "a route for %q is already given", r.Domain)
		}
		seen[r.Domain] = true
		if r.Host == "" {
			p.add(key+".host", "is required (host:port)")
		} else {
			p.addErr(key+".host", checkHostPort(r.Host, hostRequired))
		}
		switch r.TLS {
		case RouteTLSOpportunistic, RouteTLSRequired, RouteTLSNone:
		default:
			p.add(key+".tls", "must be %q, %q or %q, got %q",
				RouteTLSOpportunistic, RouteTLSRequired, RouteTLSNone, r.TLS)
		}
		if r.CAFile != "" {
			p.addErr(key+".ca_file", checkReadable(r.CAFile))
		}
		if (r.Username == "") != (r.Password == "") {
			p.add(key+".username", "username and password go together")
		}
	}
}

func (c *Config) checkQueue(p *problems) {
	q := c.Queue
	checkPositive(p, "queue.first_retry", q.FirstRetry)
	checkPositive(p, "queue.max_interval", q.MaxInterval)
	checkPositive(p, "queue.max_age", q.MaxAge)
	if q.DelayWarning < 0 {
		p.add("queue.delay_warning", "must not be negative (0 = never), got %s", q.DelayWarning.D())
	}
	if q.MaxInterval > 0 && q.MaxInterval < q.FirstRetry {
		p.add("queue.max_interval", "%s is shorter than queue.first_retry (%s)", q.MaxInterval, q.FirstRetry)
	}
	if q.PerDestination <= 0 {
		p.add("queue.per_destination", "must be positive, got %d", q.PerDestination)
	}
}

func (c *Config) checkStore(p *problems) {
	switch c.Store.Driver {
	case DriverSQLite:
	case DriverPostgres:
		if c.Store.DSN == "" {
			p.add("store.dsn", "is required with driver %q", DriverPostgres)
		}
	default:
		p.add("store.driver", "must be %q or %q, got %q", DriverSQLite, DriverPostgres, c.Store.Driver)
	}
}

func (c *Config) checkSMTP(p *problems) {
	s := c.SMTP
	for _, d := range []struct {
		key string
		v   Duration
	}{
		{"smtp.command_timeout", s.CommandTimeout},
		{"smtp.greeting_timeout", s.GreetingTimeout},
		{"smtp.mail_timeout", s.MailTimeout},
		{"smtp.rcpt_timeout", s.RcptTimeout},
		{"smtp.data_init_timeout", s.DataInitTimeout},
		{"smtp.data_block_timeout", s.DataBlockTimeout},
		{"smtp.data_term_timeout", s.DataTermTimeout},
	} {
		checkPositive(p, d.key, d.v)
	}
	if s.MaxErrors <= 0 {
		p.add("smtp.max_errors", "must be positive, got %d", s.MaxErrors)
	}
}

func checkPositive(p *problems, key string, d Duration) {
	if d <= 0 {
		p.add(key, "must be a positive duration, got %s", d)
	}
}

// checkReadable opens the file: a missing or unreadable certificate is
// better reported at start than at the first STARTTLS.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read file: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory, not a file", path)
	}
	return nil
}

// checkToken: a bearer token travels in an HTTP header (RFC 6750 §2.1,
// b64token), so it must be printable ASCII without spaces.
func checkToken(t string) error {
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] >= 0x7f {
			return fmt.Errorf("must be printable ASCII without spaces")
		}
	}
	return nil
}
