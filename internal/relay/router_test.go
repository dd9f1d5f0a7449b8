package relay

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtpclient"
)

var testZone = []string{
	"order.test. MX 20 b.order.test.",
	"order.test. MX 10 a.order.test.",
	"order.test. MX 30 c.order.test.",
	"a.order.test. A 127.0.0.1",
	"a.order.test. AAAA ::1",
	"b.order.test. A 127.0.0.2",
	"b.order.test. A 127.0.0.2",
	"c.order.test. AAAA ::2",
	"equal.test. MX 5 first.equal.test.",
	"equal.test. MX 10 x.equal.test.",
	"equal.test. MX 10 y.equal.test.",
	"equal.test. MX 10 z.equal.test.",
	"first.equal.test. A 127.0.1.1",
	"x.equal.test. A 127.0.1.2",
	"y.equal.test. A 127.0.1.3",
	"z.equal.test. A 127.0.1.4",
	"nomx.test. A 127.0.0.5",
	"nomx.test. AAAA ::5",
	"null.test. MX 0 .",
	"nullmixed.test. MX 0 .",
	"nullmixed.test. MX 10 a.order.test.",
	"alias.test. CNAME real.test.",
	"real.test. MX 10 mxalias.real.test.",
	"mxalias.real.test. CNAME mxreal.real.test.",
	"mxreal.real.test. A 127.0.0.6",
	"partial.test. CNAME real.test.",
	"skip.test. MX 10 gone.skip.test.",
	"skip.test. MX 20 ok.skip.test.",
	"ok.skip.test. A 127.0.0.7",
	"allgone.test. MX 10 gone.allgone.test.",
	"tempmx.test. MX 10 gone.tempmx.test.",
	"tempmx.test. MX 20 broken.test.",
	"noaddr.test. TXT \"no address\"",
	"big.test. MX 10 a.order.test.",
	"xn--bcher-kva.test. MX 10 a.order.test.",
	"smarthost.test. A 127.0.0.9",
	"unicast.test. A 0.0.0.0",
	"unicast.test. A 224.0.0.1",
}

func newTestRouter(t *testing.T, dnsSrv *fakeDNS, routes []config.Route, shuffle func(int, func(int, int))) *Router {
	t.Helper()
	if shuffle == nil {
		shuffle = func(int, func(int, int)) {} // keep the zone's order
	}
	r, err := New(Config{Routes: routes, Nameservers: []string{dnsSrv.addr}, MXPort: 2525,
		QueryTimeout: 300 * time.Millisecond, Shuffle: shuffle, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hopString is a compact form of hops for comparison.
func hopString(hops []Hop) string {
	var parts []string
	for _, h := range hops {
		var as []string
		for _, a := range h.Addrs {
			as = append(as, a.String())
		}
		parts = append(parts, fmt.Sprintf("%s:%d[%s]%s", h.Host, h.Port, strings.Join(as, ","), h.TLS))
	}
	return strings.Join(parts, " ")
}

func newZoneDNS(t *testing.T) *fakeDNS {
	return newFakeDNS(t, testZone, func(f *fakeDNS) {
		f.rcode["servfail.test."] = dns.RcodeServerFailure
		f.rcode["broken.test."] = dns.RcodeServerFailure
		f.rcode["refused.test."] = dns.RcodeRefused
		f.silent["silent.test."] = true
		f.trunc["big.test."] = true
		f.partial["partial.test."] = true
	})
}

func TestRouteMX(t *testing.T) {
	dnsSrv := newZoneDNS(t)
	r := newTestRouter(t, dnsSrv, nil, nil)
	tests := []struct {
		domain   string
		want     string
		enhanced string // failure
		perm     bool
	}{
		{"order.test", "a.order.test:2525[127.0.0.1,::1]opportunistic b.order.test:2525[127.0.0.2]opportunistic c.order.test:2525[::2]opportunistic", "", false},
		{"ORDER.test.", "a.order.test:2525[127.0.0.1,::1]opportunistic b.order.test:2525[127.0.0.2]opportunistic c.order.test:2525[::2]opportunistic", "", false},
		{"nomx.test", "nomx.test:2525[127.0.0.5,::5]opportunistic", "", false},
		{"null.test", "", "5.1.10", true},
		{"nullmixed.test", "a.order.test:2525[127.0.0.1,::1]opportunistic", "", false},
		{"nxdomain.test", "", "5.1.2", true},
		{"servfail.test", "", "4.4.3", false},
		{"refused.test", "", "4.4.3", false},
		{"silent.test", "", "4.4.3", false},
		{"alias.test", "mxalias.real.test:2525[127.0.0.6]opportunistic", "", false},
		{"partial.test", "mxalias.real.test:2525[127.0.0.6]opportunistic", "", false},
		{"skip.test", "ok.skip.test:2525[127.0.0.7]opportunistic", "", false},
		{"allgone.test", "", "5.4.4", true},
		{"tempmx.test", "", "4.4.3", false},
		{"noaddr.test", "", "5.1.2", true},
		{"unicast.test", "", "5.1.2", true},
		{"big.test", "a.order.test:2525[127.0.0.1,::1]opportunistic", "", false},
		{"bücher.test", "a.order.test:2525[127.0.0.1,::1]opportunistic", "", false},
		{"[127.0.0.8]", "127.0.0.8:2525[127.0.0.8]opportunistic", "", false},
		{"[IPv6:::1]", "::1:2525[::1]opportunistic", "", false},
		{"[999.1.1.1]", "", "5.1.2", true},
		{"", "", "5.1.2", true},
		{"a..b", "", "5.1.2", true},
		{strings.Repeat("a", 64) + ".test", "", "5.1.2", true},
	}
	for _, tc := range tests {
		t.Run(tc.domain, func(t *testing.T) {
			hops, err := r.Route(context.Background(), tc.domain)
			if tc.enhanced == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if got := hopString(hops); got != tc.want {
					t.Errorf("hops\n got %s\nwant %s", got, tc.want)
				}
				return
			}
			re := smtpclient.ReplyOf(err)
			if err == nil || re == nil || re.Enhanced != tc.enhanced || mailerr.IsPermanent(err) != tc.perm || mailerr.As(err) == nil {
				t.Errorf("got hops %s, err %v; want %s permanent=%v", hopString(hops), err, tc.enhanced, tc.perm)
			}
		})
	}
	// big.test was truncated over UDP and asked again over TCP;
	// partial.test's CNAME target was asked for separately.
	dnsSrv.mu.Lock()
	defer dnsSrv.mu.Unlock()
	for q, n := range map[string]int{"big.test. MX": 2, "real.test. MX": 1} {
		got := 0
		for _, x := range dnsSrv.queries {
			if x == q {
				got++
			}
		}
		if got != n {
			t.Errorf("%d queries %q, want %d", got, q, n)
		}
	}
}

func TestRouteEqualPreferenceShuffled(t *testing.T) {
	dnsSrv := newZoneDNS(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("shuffle seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed))
	r := newTestRouter(t, dnsSrv, nil, rnd.Shuffle)
	firsts := map[string]int{}
	for range 60 {
		hops, err := r.Route(context.Background(), "equal.test")
		if err != nil {
			t.Fatal(err)
		}
		if len(hops) != 4 || hops[0].Host != "first.equal.test" {
			t.Fatalf("hops %s: want first.equal.test first, then three", hopString(hops))
		}
		seen := map[string]bool{}
		for _, h := range hops[1:] {
			seen[h.Host] = true
		}
		if len(seen) != 3 {
			t.Fatalf("hops %s: want x, y and z once each", hopString(hops))
		}
		firsts[hops[1].Host]++
	}
	if len(firsts) < 2 {
		t.Errorf("equal-preference hosts never reordered: %v", firsts)
	}
}

func TestRouteStatic(t *testing.T) {
	dnsSrv := newZoneDNS(t)
	routes := []config.Route{
		{Domain: "peer.test", Host: "127.0.0.2:25", TLS: "required", CAFile: "/ca.pem"},
		{Domain: "v6.test", Host: "[::1]:2526", TLS: "none"},
		{Domain: "named.test", Host: "smarthost.test:587"},
		{Domain: "unresolved.test", Host: "nxdomain.test:25"},
		{Domain: "*", Host: "127.0.0.3:587", TLS: "required", Username: "u", Password: "p"},
	}
	r := newTestRouter(t, dnsSrv, routes, nil)
	tests := []struct {
		domain string
		want   Hop
		temp   bool
	}{
		{"peer.test", Hop{Host: "127.0.0.2", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, Port: 25, TLS: smtpclient.TLSRequired, CAFile: "/ca.pem"}, false},
		{"PEER.test.", Hop{Host: "127.0.0.2", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, Port: 25, TLS: smtpclient.TLSRequired, CAFile: "/ca.pem"}, false},
		{"v6.test", Hop{Host: "::1", Addrs: []netip.Addr{netip.MustParseAddr("::1")}, Port: 2526, TLS: smtpclient.TLSNone}, false},
		{"named.test", Hop{Host: "smarthost.test", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.9")}, Port: 587}, false},
		{"order.test", Hop{Host: "127.0.0.3", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.3")}, Port: 587, TLS: smtpclient.TLSRequired, Auth: &smtpclient.Auth{Username: "u", Password: "p"}}, false},
		{"unresolved.test", Hop{}, true},
	}
	for _, tc := range tests {
		hops, err := r.Route(context.Background(), tc.domain)
		if tc.temp {
			if err == nil || mailerr.IsPermanent(err) {
				t.Errorf("%s: hops %s err %v, want a temporary error", tc.domain, hopString(hops), err)
			}
			continue
		}
		if err != nil || len(hops) != 1 || !reflect.DeepEqual(hops[0], tc.want) {
			t.Errorf("%s: hops %+v err %v, want %+v", tc.domain, hops, err, tc.want)
		}
	}
	dnsSrv.mu.Lock()
	defer dnsSrv.mu.Unlock()
	for _, q := range dnsSrv.queries {
		if strings.HasPrefix(q, "order.test.") || strings.HasPrefix(q, "peer.test.") {
			t.Errorf("routed domain looked up in DNS: %s", q)
		}
	}
}

func TestRouteSecondNameserver(t *testing.T) {
	bad := newFakeDNS(t, nil, func(f *fakeDNS) { f.failAll = true })
	good := newZoneDNS(t)
	r, err := New(Config{Nameservers: []string{bad.addr, good.addr}, MXPort: 25, QueryTimeout: time.Second, Shuffle: func(int, func(int, int)) {}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hops, err := r.Route(context.Background(), "order.test")
	if err != nil || len(hops) != 3 {
		t.Fatalf("hops %s err %v", hopString(hops), err)
	}
}

func TestNewRejectsBadRoutes(t *testing.T) {
	for _, rt := range []config.Route{
		{Domain: "a.test", Host: "nohost"},
		{Domain: "a.test", Host: "h.test:99999"},
		{Domain: "a.test", Host: ":25"},
		{Domain: "a.test", Host: "h.test:25", TLS: "maybe"},
		{Domain: "", Host: "h.test:25"},
	} {
		if _, err := New(Config{Routes: []config.Route{rt}, Nameservers: []string{"127.0.0.1:53"}}); err == nil {
			t.Errorf("route %+v accepted", rt)
		}
	}
	dup := []config.Route{{Domain: "a.test", Host: "h:25"}, {Domain: "A.test.", Host: "h:26"}}
	if _, err := New(Config{Routes: dup, Nameservers: []string{"127.0.0.1:53"}}); err == nil {
		t.Error("duplicate route accepted")
	}
}

func TestSystemServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(path, []byte("# test\nnameserver 127.0.0.53\nnameserver ::1\nsearch example\n"), 0o600)
	got, err := systemServers(path)
	if err != nil || !reflect.DeepEqual(got, []string{"127.0.0.53:53", "[::1]:53"}) {
		t.Errorf("servers %q err %v", got, err)
	}
	r, err := New(Config{ResolvConf: filepath.Join(t.TempDir(), "missing"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil || !reflect.DeepEqual(r.res.servers, []string{"127.0.0.1:53"}) {
		t.Errorf("fallback servers %v err %v", r, err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"example.org", "EXAMPLE.org.", "bücher.test", "[127.0.0.1]", "[IPv6:::1]", "[ipv6:1.2.3.4]", "a..b", "xn--", "[", "-a.test"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, lit, isLit, err := normalize(s)
		if err != nil {
			if !mailerr.IsPermanent(err) || smtpclient.ReplyOf(err) == nil {
				t.Fatalf("error %v not permanent with a status", err)
			}
			return
		}
		if isLit {
			if !lit.IsValid() || name != s {
				t.Fatalf("literal %q -> %v %q", s, lit, name)
			}
			return
		}
		if name == "" || len(name) > maxDomain || name != strings.ToLower(name) || strings.HasSuffix(name, ".") {
			t.Fatalf("%q normalised to %q", s, name)
		}
		for i := 0; i < len(name); i++ {
			if name[i] >= 0x80 || name[i] <= ' ' {
				t.Fatalf("%q normalised to non-ASCII %q", s, name)
			}
		}
	})
}

func TestFromConfig(t *testing.T) {
	c := config.Default()
	c.Routes = []config.Route{{Domain: "p.test", Host: "127.0.0.2:25", TLS: "none"}}
	c.DNS.Nameservers = []string{"127.0.0.1:5353"}
	rc := FromConfig(c)
	if !reflect.DeepEqual(rc.Routes, c.Routes) || !reflect.DeepEqual(rc.Nameservers, c.DNS.Nameservers) {
		t.Errorf("config %+v", rc)
	}
	r, err := New(rc)
	if err != nil {
		t.Fatal(err)
	}
	hops, err := r.Route(context.Background(), "p.test")
	if err != nil || len(hops) != 1 || hops[0].TLS != smtpclient.TLSNone || hops[0].Port != 25 {
		t.Errorf("hops %+v err %v", hops, err)
	}
}
