package relay

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Bounds on what one domain's DNS may make us try.
const (
	maxMXHosts   = 16
	maxHostAddrs = 8
)

// mxHost is one MX target with its preference.
type mxHost struct {
	pref uint16
	name string
}

// mx routes by the domain's MX records (RFC 5321 §5.1, RFC 7505).
func (r *Router) mx(ctx context.Context, domain string) ([]Hop, error) {
	rrs, err := r.res.records(ctx, domain, dns.TypeMX)
	switch {
	case errors.Is(err, errNXDOMAIN):
		return nil, failure("5.1.2", mailerr.NoSuchUser, "domain "+quote(domain)+" does not exist", err)
	case err != nil:
		return nil, dnsFailure("MX lookup for "+quote(domain)+" failed", err)
	}
	hosts, null := mxHosts(rrs)
	if null && len(hosts) == 0 {
		// RFC 7505 §4.2: 556 5.1.10 is what a server would say.
		return nil, failure("5.1.10", mailerr.NoSuchUser, "domain "+quote(domain)+" does not accept mail (null MX, RFC 7505)", nil)
	}
	implicit := len(hosts) == 0
	if implicit {
		// RFC 5321 §5.1: no MX records, so the domain is its own MX.
		hosts = []mxHost{{name: domain}}
	}
	hosts = r.order(hosts)
	hops, tempErr := r.resolveHosts(ctx, hosts)
	switch {
	case len(hops) > 0:
		return hops, nil
	case tempErr != nil:
		return nil, dnsFailure("address lookup for the MX hosts of "+quote(domain)+" failed", tempErr)
	case implicit:
		return nil, failure("5.1.2", mailerr.NoSuchUser, "domain "+quote(domain)+" has no MX and no address records", nil)
	}
	return nil, failure("5.4.4", mailerr.NoSuchUser, "no MX host of "+quote(domain)+" has an address", nil)
}

// mxHosts reads MX records: the null MX (preference 0, target ".") is
// reported apart; the others are deduplicated, lower-cased and without a
// final dot.
func mxHosts(rrs []dns.RR) (hosts []mxHost, null bool) {
	seen := map[string]bool{}
	for _, rr := range rrs {
		m, ok := rr.(*dns.MX)
		if !ok {
			continue
		}
		if m.Mx == "." {
			null = true
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(m.Mx, "."))
		if seen[name] {
			continue
		}
		seen[name] = true
		hosts = append(hosts, mxHost{pref: m.Preference, name: name})
	}
	return hosts, null
}

// order sorts by preference and shuffles hosts of equal preference
// (RFC 5321 §5.1: spread the load), then keeps the first maxMXHosts.
func (r *Router) order(hosts []mxHost) []mxHost {
	sort.SliceStable(hosts, func(i, j int) bool { return hosts[i].pref < hosts[j].pref })
	for i := 0; i < len(hosts); {
		j := i
		for j < len(hosts) && hosts[j].pref == hosts[i].pref {
			j++
		}
		group := hosts[i:j]
		r.shuffle(len(group), func(a, b int) { group[a], group[b] = group[b], group[a] })
		i = j
	}
	if len(hosts) > maxMXHosts {
		hosts = hosts[:maxMXHosts]
	}
	return hosts
}

// resolveHosts looks up the hosts' addresses in parallel and returns a
// hop for every host that has some, in order. tempErr is the first
// temporary failure, for when no host resolved.
func (r *Router) resolveHosts(ctx context.Context, hosts []mxHost) (hops []Hop, tempErr error) {
	addrs := make([][]netip.Addr, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i := range hosts {
		wg.Go(func() { addrs[i], errs[i] = r.addresses(ctx, hosts[i].name) })
	}
	wg.Wait()
	for i, h := range hosts {
		switch {
		case len(addrs[i]) > 0:
			hops = append(hops, Hop{Host: h.name, Addrs: addrs[i], Port: r.mxPort})
		case errs[i] != nil && !errors.Is(errs[i], errNXDOMAIN):
			r.log.Info("relay: MX host lookup failed", "host", h.name, "err", errs[i])
			if tempErr == nil {
				tempErr = errs[i]
			}
		default:
			r.log.Info("relay: MX host has no address", "host", h.name)
		}
	}
	return hops, tempErr
}

// addresses returns a host's IPv4 then IPv6 addresses (at most
// maxHostAddrs). NXDOMAIN is returned as errNXDOMAIN; a temporary failure
// of one family is an error only when the other gave nothing.
func (r *Router) addresses(ctx context.Context, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	var firstErr error
	seen := map[netip.Addr]bool{}
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.res.records(ctx, host, qt)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if errors.Is(err, errNXDOMAIN) {
				break
			}
			continue
		}
		for _, rr := range rrs {
			var a netip.Addr
			switch v := rr.(type) {
			case *dns.A:
				a, _ = netip.AddrFromSlice(v.A.To4())
			case *dns.AAAA:
				a, _ = netip.AddrFromSlice(v.AAAA.To16())
			}
			if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || seen[a] || len(out) == maxHostAddrs {
				continue
			}
			seen[a] = true
			out = append(out, a)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	return nil, firstErr
}
