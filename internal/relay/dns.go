package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// resolver asks the nameservers in order; the first one that gives an
// authoritative-looking answer (NOERROR or NXDOMAIN) wins.
type resolver struct {
	servers []string
	timeout time.Duration
	udp     *dns.Client
	tcp     *dns.Client
}

// maxCNAME bounds CNAME chains (RFC 1034 §3.6.2 says chains should be
// short; loops exist).
const maxCNAME = 8

// ednsSize is the UDP payload size advertised (the DNS flag day 2020
// value, which avoids fragmentation).
const ednsSize = 1232

func newResolver(servers []string, timeout time.Duration) *resolver {
	return &resolver{
		servers: servers,
		timeout: timeout,
		udp:     &dns.Client{Net: "udp", UDPSize: ednsSize},
		tcp:     &dns.Client{Net: "tcp"},
	}
}

// errNXDOMAIN is the answer "no such name".
var errNXDOMAIN = errors.New("relay: no such domain")

// query returns the answer for name and qtype, errNXDOMAIN, or a
// temporary error when no server answered usefully.
func (r *resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(ednsSize, false)
	var last error = errors.New("no nameserver configured")
	for _, srv := range r.servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp, err := r.exchange(ctx, m, srv)
		if err != nil {
			last = fmt.Errorf("%s: %w", srv, err)
			continue
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
			return resp, nil
		case dns.RcodeNameError:
			return resp, errNXDOMAIN
		}
		last = fmt.Errorf("%s: %s", srv, dns.RcodeToString[resp.Rcode])
	}
	return nil, last
}

// exchange does one query, over TCP again when the UDP answer is
// truncated.
func (r *resolver) exchange(ctx context.Context, m *dns.Msg, srv string) (*dns.Msg, error) {
	qctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, _, err := r.udp.ExchangeContext(qctx, m, srv)
	if err == nil && resp.Truncated {
		resp, _, err = r.tcp.ExchangeContext(qctx, m, srv)
	}
	if err != nil {
		return nil, err
	}
	if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, m.Question[0].Name) || resp.Question[0].Qtype != m.Question[0].Qtype {
		return nil, errors.New("answer to another question")
	}
	return resp, nil
}

// records returns the records of qtype for name, following CNAMEs in the
// answer and, when a chain ends without the records, by asking for its
// target. Empty rrs with a nil error is NODATA.
func (r *resolver) records(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	cur := dns.Fqdn(name)
	for range maxCNAME {
		resp, err := r.query(ctx, cur, qtype)
		if err != nil {
			return nil, err
		}
		owner := cur
		for range maxCNAME {
			next := ""
			for _, rr := range resp.Answer {
				if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, owner) {
					next = c.Target
					break
				}
			}
			if next == "" {
				break
			}
			owner = next
		}
		var out []dns.RR
		for _, rr := range resp.Answer {
			if rr.Header().Rrtype == qtype && strings.EqualFold(rr.Header().Name, owner) {
				out = append(out, rr)
			}
		}
		if len(out) > 0 || strings.EqualFold(owner, cur) {
			return out, nil
		}
		cur = owner
	}
	return nil, fmt.Errorf("CNAME chain of %s longer than %d", name, maxCNAME)
}

// systemServers reads the nameservers of a resolv.conf file.
func systemServers(path string) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no nameserver in %s", path)
	}
	return out, nil
}
