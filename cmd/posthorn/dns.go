package main

// posthorn dns [DOMAIN]: the DNS records that make receivers trust mail
// from the local domains, and what DNS answers for each of them today.
//
// For each domain: MX (RFC 5321 §5.1) to the configured hostname, SPF
// "v=spf1 mx -all" (RFC 7208: the hosts of the MX may send; the MX is
// this host, and naming no address keeps the record right when the
// address changes), the DKIM key record of internal/dkim (RFC 6376
// §3.6.1, made on first use) and DMARC p=quarantine (RFC 7489 §6.3).
// Then, once, the hostname's A/AAAA records and the PTR record of each
// address, which only the owner of the address block (the hosting
// provider) can publish; large receivers want forward-confirmed reverse
// DNS.
//
// Each line is zone-file syntax, followed by a comment saying what DNS
// answers through the configured [dns] nameservers: ok, missing,
// different (with the answer) or lookup failed. "ok" means the record
// serves its purpose, not that it is byte-equal: an SPF record that lets
// this host send, a DMARC record with p=quarantine or p=reject, a DKIM
// record with the same public key. Lookups are bounded by dnsQueryTimeout
// each and dnsCheckTimeout in all. The exit status is 0 whenever the
// records were printed, whatever DNS said.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/dkim"
)

const (
	dnsQueryTimeout = 5 * time.Second  // one query to one server
	dnsCheckTimeout = 30 * time.Second // all the lookups of one run
	resolvConf      = "/etc/resolv.conf"
	txtChunk        = 255 // octets in one DNS character-string (RFC 1035 §3.3)
	maxShown        = 120 // octets of a DNS answer shown on a "different" line
	recommendedSPF  = "v=spf1 mx -all"
)

const dnsUsage = "usage: posthorn dns [DOMAIN] [--no-check] [--config FILE]"

func cmdDNS(ctx context.Context, io *stdio, args []string) int {
	fs := newFlags("dns")
	cfgPath := fs.String("config", "", "config file")
	noCheck := fs.Bool("no-check", false, "print the records without asking DNS")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return exitCode(io.err, "dns", err)
	}
	if len(pos) > 1 {
		return exitCode(io.err, "dns", usageError(dnsUsage))
	}
	return exitCode(io.err, "dns", runDNS(ctx, io, *cfgPath, pos, *noCheck))
}

// runDNS loads the configuration and the keys, then prints and checks.
func runDNS(ctx context.Context, io *stdio, cfgPath string, pos []string, noCheck bool) error {
	cfg, err := config.Find(cfgPath)
	if err != nil {
		return err
	}
	domains := cfg.Domains
	if len(pos) == 1 {
		d := strings.ToLower(strings.TrimSuffix(pos[0], "."))
		if !slices.Contains(cfg.Domains, d) {
			return fmt.Errorf("%s is not a local domain (local: %s)", d, strings.Join(cfg.Domains, ", "))
		}
		domains = []string{d}
	}
	keys, err := dkim.Load(cfg.DataDir, domains, slog.New(slog.NewTextHandler(io.err, nil)))
	if err != nil {
		return err
	}
	p := &dnsReport{w: io.out, host: cfg.Hostname, counts: map[string]int{}}
	if !noCheck {
		p.r, err = newResolver(cfg.DNS.Nameservers)
		if err != nil {
			fmt.Fprintf(io.err, "posthorn dns: not checking DNS: %v\n", err)
		}
	}
	var cancel context.CancelFunc
	ctx, cancel = context.WithTimeout(ctx, dnsCheckTimeout)
	defer cancel()
	p.run(ctx, domains, keys)
	return nil
}

// dnsReport prints the records and, with a resolver, checks them.
type dnsReport struct {
	w      io.Writer
	r      *resolver // nil: print only
	host   string
	counts map[string]int // verdict state → lines

	addrs   []netip.Addr // the host's addresses, as DNS answers
	addrErr [2]error     // the A and the AAAA lookup's failure
	mxGood  bool         // DNS has an MX of the domain to host
}

// A verdict is what DNS answers compared with a record.
type verdict struct {
	state  string // stateOK, stateMissing, stateDifferent, stateFailed
	detail string
}

const (
	stateOK        = "ok"
	stateMissing   = "missing"
	stateDifferent = "different"
	stateFailed    = "lookup failed"
)

func (v verdict) String() string {
	if v.detail == "" {
		return v.state
	}
	return v.state + ": " + v.detail
}

// failed is a lookup error, on one line (errors.Join uses newlines).
func failed(err error) verdict {
	return verdict{stateFailed, strings.ReplaceAll(err.Error(), "\n", "; ")}
}

// different shows what DNS has, each answer cut to maxShown octets.
func different(answers []string) verdict {
	shown := make([]string, len(answers))
	for i, a := range answers {
		if len(a) > maxShown {
			a = fmt.Sprintf("%s... (%d octets)", a[:maxShown], len(a))
		}
		shown[i] = a
	}
	return verdict{stateDifferent, "DNS has " + strings.Join(shown, ", ")}
}

func (p *dnsReport) run(ctx context.Context, domains []string, keys *dkim.Keys) {
	if p.r != nil {
		p.lookupHost(ctx)
	}
	for _, d := range domains {
		p.domain(ctx, d, keys)
	}
	p.hostRecords(ctx)
	if p.r == nil {
		fmt.Fprintln(p.w, "; DNS not checked")
		return
	}
	fmt.Fprintf(p.w, "; %d ok, %d missing, %d different, %d lookup failed\n",
		p.counts[stateOK], p.counts[stateMissing], p.counts[stateDifferent], p.counts[stateFailed])
}

// line prints one record and, when checking, check's verdict on it.
func (p *dnsReport) line(name, typ, value string, check func() verdict) {
	fmt.Fprintf(p.w, "%s IN %s %s", dns.Fqdn(name), typ, value)
	if p.r != nil && check != nil {
		v := check()
		p.counts[v.state]++
		fmt.Fprintf(p.w, " ; %s", v)
	}
	fmt.Fprintln(p.w)
}

// domain prints and checks the four records of one local domain.
func (p *dnsReport) domain(ctx context.Context, d string, keys *dkim.Keys) {
	fmt.Fprintf(p.w, "; %s: publish these in the zone of %s\n", d, d)
	p.line(d, "MX", "10 "+dns.Fqdn(p.host), func() verdict { return p.checkMX(ctx, d) })
	p.line(d, "TXT", quoteTXT(recommendedSPF), func() verdict { return p.checkSPF(ctx, d) })
	name, txt := keys.Record(d)
	p.line(name, "TXT", quoteTXT(txt), func() verdict { return p.checkDKIM(ctx, name, txt) })
	dmarc := "v=DMARC1; p=quarantine; rua=mailto:postmaster@" + d
	p.line("_dmarc."+d, "TXT", quoteTXT(dmarc), func() verdict { return p.checkDMARC(ctx, "_dmarc."+d) })
	fmt.Fprintln(p.w)
}

// lookupHost finds the host's addresses, which the SPF check and the
// host records need.
func (p *dnsReport) lookupHost(ctx context.Context) {
	for i, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := p.r.lookup(ctx, p.host, t)
		if err != nil {
			p.addrErr[i] = err
			continue
		}
		for _, rr := range rrs {
			var ip net.IP
			switch a := rr.(type) {
			case *dns.A:
				ip = a.A
			case *dns.AAAA:
				ip = a.AAAA
			}
			if addr, ok := netip.AddrFromSlice(ip); ok {
				p.addrs = append(p.addrs, addr.Unmap())
			}
		}
	}
}

// hostRecords prints the host's A/AAAA records and the PTR of each
// address.
func (p *dnsReport) hostRecords(ctx context.Context) {
	fmt.Fprintf(p.w, "; %s: its addresses, and the PTR of each to ask the hosting provider for\n", p.host)
	if !strings.Contains(p.host, ".") {
		fmt.Fprintf(p.w, "; %q is not a public name: set hostname in the configuration\n", p.host)
	}
	for i, typ := range []string{"A", "AAAA"} {
		if err := p.addrErr[i]; err != nil {
			p.line(p.host, typ, "ADDRESS", func() verdict { return failed(err) })
		}
	}
	if len(p.addrs) == 0 {
		if p.addrErr == [2]error{} {
			p.line(p.host, "A", "ADDRESS", func() verdict {
				return verdict{stateMissing, "publish the server's public address(es), A and AAAA"}
			})
		}
		fmt.Fprintf(p.w, "; ADDRESS reversed (in-addr.arpa or ip6.arpa) IN PTR %s\n", dns.Fqdn(p.host))
		return
	}
	for _, a := range p.addrs {
		typ := "A"
		if a.Is6() {
			typ = "AAAA"
		}
		p.line(p.host, typ, a.String(), func() verdict { return verdict{state: stateOK} })
		rev, err := dns.ReverseAddr(a.String())
		if err != nil {
			continue // cannot happen for a parsed address
		}
		p.line(rev, "PTR", dns.Fqdn(p.host), func() verdict { return p.checkPTR(ctx, rev) })
	}
}

func (p *dnsReport) checkMX(ctx context.Context, d string) verdict {
	rrs, err := p.r.lookup(ctx, d, dns.TypeMX)
	if err != nil {
		return failed(err)
	}
	if len(rrs) == 0 {
		return verdict{state: stateMissing}
	}
	var have []string
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		if sameName(mx.Mx, p.host) {
			p.mxGood = true
			return verdict{state: stateOK}
		}
		have = append(have, fmt.Sprintf("%d %s", mx.Preference, mx.Mx))
	}
	return different(have)
}

// checkSPF wants one SPF record (RFC 7208 §4.5) that lets this host send.
func (p *dnsReport) checkSPF(ctx context.Context, d string) verdict {
	txts, err := p.r.lookupTXT(ctx, d)
	if err != nil {
		return failed(err)
	}
	var spf []string
	for _, t := range txts {
		if isSPF(t) {
			spf = append(spf, t)
		}
	}
	switch {
	case len(spf) == 0:
		return verdict{state: stateMissing}
	case len(spf) > 1:
		v := different(spf)
		v.detail = "several SPF records (a permerror, RFC 7208 §4.5): " + v.detail
		return v
	case spfCovers(spf[0], d, p.host, p.addrs, p.mxGood):
		return verdict{state: stateOK}
	}
	return different(spf)
}

// checkDKIM wants one key record (RFC 6376 §3.6.2.2) with our key.
func (p *dnsReport) checkDKIM(ctx context.Context, name, want string) verdict {
	txts, err := p.r.lookupTXT(ctx, name)
	if err != nil {
		return failed(err)
	}
	if len(txts) == 0 {
		return verdict{state: stateMissing}
	}
	w := parseTags(want)
	if len(txts) == 1 {
		h := parseTags(txts[0])
		if h["k"] == "" {
			h["k"] = "rsa" // RFC 6376 §3.6.1: the default
		}
		if stripSpace(h["p"]) == w["p"] && h["k"] == w["k"] {
			return verdict{state: stateOK}
		}
	}
	return different(txts)
}

// checkDMARC wants one DMARC record (RFC 7489 §6.6.3) whose policy asks
// receivers to act: quarantine or reject.
func (p *dnsReport) checkDMARC(ctx context.Context, name string) verdict {
	txts, err := p.r.lookupTXT(ctx, name)
	if err != nil {
		return failed(err)
	}
	var recs []string
	for _, t := range txts {
		if tags := parseTags(t); strings.EqualFold(tags["v"], "DMARC1") {
			recs = append(recs, t)
		}
	}
	if len(recs) == 0 {
		return verdict{state: stateMissing}
	}
	if len(recs) == 1 {
		switch strings.ToLower(parseTags(recs[0])["p"]) {
		case "quarantine", "reject":
			return verdict{state: stateOK}
		}
	}
	return different(recs)
}

func (p *dnsReport) checkPTR(ctx context.Context, rev string) verdict {
	rrs, err := p.r.lookup(ctx, rev, dns.TypePTR)
	if err != nil {
		return failed(err)
	}
	if len(rrs) == 0 {
		return verdict{stateMissing, "ask the hosting provider for it"}
	}
	var have []string
	for _, rr := range rrs {
		ptr := rr.(*dns.PTR).Ptr
		if sameName(ptr, p.host) {
			return verdict{state: stateOK}
		}
		have = append(have, ptr)
	}
	return different(have)
}

// isSPF reports whether a TXT record is an SPF record: "v=spf1" alone or
// followed by a space (RFC 7208 §4.5).
func isSPF(t string) bool {
	return len(t) >= 6 && strings.EqualFold(t[:6], "v=spf1") && (len(t) == 6 || t[6] == ' ')
}

// spfCovers reports whether an SPF record lets host send for domain,
// without following include: or redirect= (which it cannot judge): a
// record equal to the recommended one, or with a passing "mx" (when the
// MX is host), "a" (when host is the domain), "a:HOST" or an ip4:/ip6:
// range holding one of host's addresses.
func spfCovers(rec, domain, host string, addrs []netip.Addr, mxIsHost bool) bool {
	terms := strings.Fields(strings.ToLower(rec))
	if strings.Join(terms, " ") == recommendedSPF {
		return true // what we print; the MX line tells if the MX is right
	}
	for _, t := range terms[min(1, len(terms)):] {
		t = strings.TrimPrefix(t, "+")
		switch {
		case t == "mx" || t == "mx:"+domain:
			if mxIsHost {
				return true
			}
		case t == "a" && sameName(domain, host), t == "a:"+host:
			return true
		case strings.HasPrefix(t, "ip4:"), strings.HasPrefix(t, "ip6:"):
			if spfRangeHolds(t[4:], addrs) {
				return true
			}
		}
	}
	return false
}

// spfRangeHolds reports whether an ip4:/ip6: value (an address or a
// CIDR range) holds one of addrs.
func spfRangeHolds(v string, addrs []netip.Addr) bool {
	pfx, err := netip.ParsePrefix(v)
	if err != nil {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	for _, a := range addrs {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// parseTags splits a tag=value list (RFC 6376 §3.2, RFC 7489 §6.4) into
// a map of lower-case tag names to trimmed values; the first of a
// repeated tag wins and malformed parts are skipped, since this only
// compares records.
func parseTags(s string) map[string]string {
	tags := map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			continue
		}
		if _, dup := tags[k]; !dup {
			tags[k] = strings.TrimSpace(v)
		}
	}
	return tags
}

// stripSpace removes the whitespace a long p= value may be folded with.
func stripSpace(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// sameName compares DNS names case-insensitively, ignoring the root dot.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// quoteTXT writes a TXT value as zone-file character-strings of at most
// 255 octets each; " and \ are escaped (RFC 1035 §5.1).
func quoteTXT(s string) string {
	var b strings.Builder
	for len(s) > 0 || b.Len() == 0 {
		n := min(len(s), txtChunk)
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for i := 0; i < n; i++ {
			if s[i] == '"' || s[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		b.WriteByte('"')
		s = s[n:]
	}
	return b.String()
}

// resolver asks recursive nameservers, in order, until one answers.
type resolver struct {
	servers  []string // host:port
	udp, tcp *dns.Client
}

// newResolver uses the configured nameservers, else those of
// /etc/resolv.conf.
func newResolver(nameservers []string) (*resolver, error) {
	servers := nameservers
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile(resolvConf)
		if err != nil {
			return nil, fmt.Errorf("no [dns] nameservers and %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
		if len(servers) == 0 {
			return nil, fmt.Errorf("no [dns] nameservers and none in %s", resolvConf)
		}
	}
	return &resolver{
		servers: servers,
		udp:     &dns.Client{Net: "udp", Timeout: dnsQueryTimeout, UDPSize: dns.DefaultMsgSize},
		tcp:     &dns.Client{Net: "tcp", Timeout: dnsQueryTimeout},
	}, nil
}

// errNoAnswer is returned when every server failed.
var errNoAnswer = errors.New("no nameserver answered")

// lookup returns the records of type t at name, following the CNAMEs a
// recursive server puts in the answer. No such name and no such record
// are both an empty answer; an error means no server answered (network
// error, timeout, SERVFAIL, REFUSED...).
func (r *resolver) lookup(ctx context.Context, name string, t uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.SetEdns0(dns.DefaultMsgSize, false)
	var errs []error
	for _, s := range r.servers {
		in, err := r.exchange(ctx, m, s)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess:
			var out []dns.RR
			for _, rr := range in.Answer {
				if rr.Header().Rrtype == t {
					out = append(out, rr)
				}
			}
			return out, nil
		case dns.RcodeNameError:
			return nil, nil
		default:
			errs = append(errs, fmt.Errorf("%s: %s", s, dns.RcodeToString[in.Rcode]))
		}
	}
	return nil, fmt.Errorf("%w: %w", errNoAnswer, errors.Join(errs...))
}

// exchange asks one server over UDP, and again over TCP when the answer
// was truncated.
func (r *resolver) exchange(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	qctx, cancel := context.WithTimeout(ctx, dnsQueryTimeout)
	defer cancel()
	in, _, err := r.udp.ExchangeContext(qctx, m, server)
	if err == nil && in.Truncated {
		in, _, err = r.tcp.ExchangeContext(qctx, m, server)
	}
	return in, err
}

// lookupTXT returns the TXT records at name, each one's strings joined
// (RFC 7208 §3.3, RFC 6376 §3.6.2.2). miekg/dns gives the strings in
// presentation form (\" \\ \DDD escapes), which none of the records
// compared here contains.
func (r *resolver) lookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	txts := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		txts = append(txts, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return txts, nil
}
