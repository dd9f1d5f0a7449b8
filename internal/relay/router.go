package relay

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtpclient"
)

// Hop is one host to try, as smtpclient.Deliver takes it.
type Hop = smtpclient.Hop

// Config sets up a Router.
type Config struct {
	Routes      []config.Route
	Nameservers []string // host:port; empty: those of ResolvConf
	// ResolvConf is read when Nameservers is empty; "" means
	// /etc/resolv.conf. Without a usable file, 127.0.0.1:53 is asked.
	ResolvConf string
	// MXPort is the port of MX hosts; 0 means 25. Tests set it.
	MXPort int
	// QueryTimeout bounds one DNS query to one server (default 5s).
	QueryTimeout time.Duration
	// Shuffle orders MX hosts of equal preference; nil uses math/rand/v2.
	// Tests make it deterministic.
	Shuffle func(n int, swap func(i, j int))
	Logger  *slog.Logger
}

// FromConfig takes the routes and nameservers of posthorn's
// configuration.
func FromConfig(c *config.Config) Config {
	return Config{Routes: c.Routes, Nameservers: c.DNS.Nameservers}
}

// Router answers where mail for a domain goes. It is safe for concurrent
// use.
type Router struct {
	routes    map[string]route
	res       *resolver
	mxPort    int
	shuffle   func(n int, swap func(i, j int))
	log       *slog.Logger
	smarthost *route
}

// route is a [[route]] entry, checked.
type route struct {
	domain string
	host   string
	port   int
	tls    smtpclient.TLSPolicy
	caFile string
	auth   *smtpclient.Auth
}

// New checks the routes and sets up the resolver.
func New(cfg Config) (*Router, error) {
	r := &Router{routes: make(map[string]route), mxPort: cfg.MXPort, shuffle: cfg.Shuffle, log: cfg.Logger}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.shuffle == nil {
		r.shuffle = rand.Shuffle
	}
	if r.mxPort == 0 {
		r.mxPort = smtpclient.DefaultPort
	}
	for i, c := range cfg.Routes {
		rt, err := parseRoute(c)
		if err != nil {
			return nil, fmt.Errorf("relay: route[%d]: %w", i, err)
		}
		if _, dup := r.routes[rt.domain]; dup {
			return nil, fmt.Errorf("relay: route[%d]: a route for %q is already given", i, rt.domain)
		}
		r.routes[rt.domain] = rt
	}
	if s, ok := r.routes["*"]; ok {
		r.smarthost = &s
	}
	servers := cfg.Nameservers
	if len(servers) == 0 {
		path := cfg.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		var err error
		if servers, err = systemServers(path); err != nil {
			r.log.Warn("relay: no nameserver from resolv.conf; using 127.0.0.1:53", "err", err)
			servers = []string{"127.0.0.1:53"}
		}
	}
	timeout := cfg.QueryTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	r.res = newResolver(servers, timeout)
	return r, nil
}

func parseRoute(c config.Route) (route, error) {
	rt := route{domain: strings.ToLower(strings.TrimSuffix(c.Domain, ".")), caFile: c.CAFile}
	if rt.domain == "" {
		return rt, fmt.Errorf("domain is required")
	}
	host, port, err := net.SplitHostPort(c.Host)
	if err != nil {
		return rt, fmt.Errorf("host %q: %w", c.Host, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || host == "" {
		return rt, fmt.Errorf("host %q: want host:port", c.Host)
	}
	rt.host, rt.port = strings.TrimSuffix(host, "."), p
	if rt.tls, err = smtpclient.ParseTLSPolicy(c.TLS); err != nil {
		return rt, err
	}
	if c.Username != "" {
		rt.auth = &smtpclient.Auth{Username: c.Username, Password: c.Password}
	}
	return rt, nil
}

// Route returns the hops for domain in the order to try. Errors are
// *mailerr.Error (permanent or temporary) wrapping a
// *smtpclient.ReplyError with the RFC 3463 status a DSN reports.
func (r *Router) Route(ctx context.Context, domain string) ([]Hop, error) {
	name, lit, isLit, err := normalize(domain)
	if err != nil {
		return nil, err
	}
	if isLit {
		if rt, ok := r.routes[strings.ToLower(name)]; ok {
			return r.routeHop(ctx, rt)
		}
		return []Hop{{Host: lit.String(), Addrs: []netip.Addr{lit}, Port: r.mxPort}}, nil
	}
	if rt, ok := r.routes[name]; ok {
		return r.routeHop(ctx, rt)
	}
	if r.smarthost != nil {
		return r.routeHop(ctx, *r.smarthost)
	}
	return r.mx(ctx, name)
}

// routeHop makes the one hop of a static route, resolving a host name.
func (r *Router) routeHop(ctx context.Context, rt route) ([]Hop, error) {
	h := Hop{Host: rt.host, Port: rt.port, TLS: rt.tls, CAFile: rt.caFile, Auth: rt.auth}
	if a, err := netip.ParseAddr(rt.host); err == nil {
		h.Addrs = []netip.Addr{a.Unmap()}
		return []Hop{h}, nil
	}
	addrs, err := r.addresses(ctx, rt.host)
	if err != nil || len(addrs) == 0 {
		// The operator's route, not the sender's address: wait for a fix.
		return nil, failure("4.4.3", mailerr.Unavailable, "cannot resolve route host "+quote(rt.host), err)
	}
	h.Addrs = addrs
	return []Hop{h}, nil
}
