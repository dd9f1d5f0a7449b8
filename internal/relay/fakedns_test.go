package relay

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// fakeDNS is a nameserver on 127.0.0.1 (UDP and TCP on one port) that
// answers from a zone of RR strings, like a recursive resolver: CNAMEs
// are followed into the answer unless the name is in partial.
type fakeDNS struct {
	addr    string
	rrs     map[string][]dns.RR // "name. TYPE" (lower case)
	rcode   map[string]int      // name. → rcode for every type
	silent  map[string]bool     // name. → never answer
	trunc   map[string]bool     // name. → truncated over UDP
	partial map[string]bool     // name. → CNAME without its target
	failAll bool                // SERVFAIL for every question
	mu      sync.Mutex
	queries []string
}

// setup, if not nil, configures the server before it starts.
func newFakeDNS(t *testing.T, zone []string, setup func(*fakeDNS)) *fakeDNS {
	t.Helper()
	f := &fakeDNS{rrs: map[string][]dns.RR{}, rcode: map[string]int{}, silent: map[string]bool{},
		trunc: map[string]bool{}, partial: map[string]bool{}}
	for _, z := range zone {
		rr, err := dns.NewRR(z)
		if err != nil {
			t.Fatalf("%q: %v", z, err)
		}
		k := strings.ToLower(rr.Header().Name) + " " + dns.TypeToString[rr.Header().Rrtype]
		f.rrs[k] = append(f.rrs[k], rr)
	}
	if setup != nil {
		setup(f)
	}
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if ln == nil {
		t.Fatal("no port free for both UDP and TCP")
	}
	f.addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) { f.serve(w, m, true) })}
	tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) { f.serve(w, m, false) })}
	var wg sync.WaitGroup
	for _, s := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() { s.ActivateAndServe() })
		<-started
	}
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
		wg.Wait()
	})
	return f
}

func (f *fakeDNS) serve(w dns.ResponseWriter, q *dns.Msg, udp bool) {
	name := strings.ToLower(q.Question[0].Name)
	qt := q.Question[0].Qtype
	f.mu.Lock()
	f.queries = append(f.queries, name+" "+dns.TypeToString[qt])
	f.mu.Unlock()
	if f.silent[name] {
		return
	}
	m := new(dns.Msg)
	m.SetReply(q)
	m.RecursionAvailable = true
	if rc, ok := f.rcode[name]; ok || f.failAll {
		if !ok {
			rc = dns.RcodeServerFailure
		}
		m.Rcode = rc
		w.WriteMsg(m)
		return
	}
	if f.trunc[name] && udp {
		m.Truncated = true
		w.WriteMsg(m)
		return
	}
	cur := name
	for range 10 {
		if rrs := f.rrs[cur+" "+dns.TypeToString[qt]]; len(rrs) > 0 {
			m.Answer = append(m.Answer, rrs...)
			break
		}
		c := f.rrs[cur+" CNAME"]
		if len(c) == 0 || qt == dns.TypeCNAME {
			if len(m.Answer) == 0 && !f.exists(cur) {
				m.Rcode = dns.RcodeNameError
			}
			break
		}
		m.Answer = append(m.Answer, c[0])
		if f.partial[cur] {
			break
		}
		cur = strings.ToLower(c[0].(*dns.CNAME).Target)
	}
	w.WriteMsg(m)
}

// exists reports whether the zone has any record for name.
func (f *fakeDNS) exists(name string) bool {
	for k := range f.rrs {
		if strings.HasPrefix(k, name+" ") {
			return true
		}
	}
	return false
}
