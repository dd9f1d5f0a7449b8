package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/posthorn/posthorn/internal/dkim"
)

// fakeDNS is a recursive nameserver's stand-in on 127.0.0.1 (UDP and TCP
// on one port) answering from a fixed set of records.
type fakeDNS struct {
	rrs      map[string][]dns.RR // lower-case FQDN → records
	servfail map[string]bool     // names answered with SERVFAIL
	truncate map[string]bool     // names whose UDP answer is truncated
	refuse   bool                // answer REFUSED to everything
}

func (f *fakeDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	switch rrs, known := f.rrs[name]; {
	case f.refuse:
		m.Rcode = dns.RcodeRefused
	case f.servfail[name]:
		m.Rcode = dns.RcodeServerFailure
	case udp && f.truncate[name]:
		m.Truncated = true
	case !known:
		m.Rcode = dns.RcodeNameError
	default:
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	w.WriteMsg(m)
}

// add parses zone-file lines into the fake's records.
func (f *fakeDNS) add(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		f.addRR(rr)
	}
}

func (f *fakeDNS) addRR(rr dns.RR) {
	name := strings.ToLower(rr.Header().Name)
	f.rrs[name] = append(f.rrs[name], rr)
}

// start serves f on 127.0.0.1 until the test ends and returns host:port.
func (f *fakeDNS) start(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: f}, {Listener: ln, Handler: f}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func newFakeDNS() *fakeDNS {
	return &fakeDNS{rrs: map[string][]dns.RR{}, servfail: map[string]bool{}, truncate: map[string]bool{}}
}

// runDNSCmd runs "posthorn dns ARGS" in-process.
func runDNSCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	io := &stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(string) string { return "" }}
	code = cmdDNS(context.Background(), io, args)
	return code, out.String(), errb.String()
}

// writeDNSConfig writes a configuration for the domains with the given
// nameservers and returns its path and data directory.
func writeDNSConfig(t *testing.T, domains []string, nameservers []string) (path, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	q := func(l []string) string {
		if len(l) == 0 {
			return "[]"
		}
		return `["` + strings.Join(l, `", "`) + `"]`
	}
	path = filepath.Join(dir, "posthorn.toml")
	cfg := fmt.Sprintf("hostname = \"mx.good.test\"\ndata_dir = \"data\"\ndomains = %s\n[dns]\nnameservers = %s\n",
		q(domains), q(nameservers))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, filepath.Join(dir, "data")
}

// statusOf returns the verdict comment of the line for NAME IN TYPE, or
// fails the test when there is no such line.
func statusOf(t *testing.T, out, name, typ string) string {
	t.Helper()
	prefix := dns.Fqdn(name) + " IN " + typ + " "
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			_, status, _ := strings.Cut(l, " ; ")
			return status
		}
	}
	t.Fatalf("no line %q in:\n%s", prefix, out)
	return ""
}

func TestDNSCheck(t *testing.T) {
	domains := []string{"good.test", "bad.test", "none.test", "broken.test"}
	refusing := &fakeDNS{refuse: true}
	fake := newFakeDNS()
	path, dataDir := writeDNSConfig(t, domains, []string{refusing.start(t), fake.start(t)})

	// The keys exist before the command runs, so the fake can publish one.
	keys, err := dkim.Load(dataDir, domains, nil)
	if err != nil {
		t.Fatal(err)
	}
	goodName, goodTXT := keys.Record("good.test")
	badName, _ := keys.Record("bad.test")
	// A published key is split into 255-octet strings.
	fake.addRR(&dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(goodName), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300},
		Txt: []string{goodTXT[:255], goodTXT[255:]}})
	fake.add(t,
		"good.test. 300 IN MX 10 MX.good.test.",
		`good.test. 300 IN TXT "google-site-verification=abc"`,
		`good.test. 300 IN TXT "v=spf1 mx -all"`,
		`_dmarc.good.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"`,
		"bad.test. 300 IN MX 10 mail.elsewhere.test.",
		`bad.test. 300 IN TXT "v=spf1 a:other.test -all"`,
		`_dmarc.bad.test. 300 IN TXT "v=DMARC1; p=none"`,
		`mx.good.test. 300 IN A 192.0.2.1`,
		`mx.good.test. 300 IN AAAA 2001:db8::25`,
		`1.2.0.192.in-addr.arpa. 300 IN PTR mx.good.test.`,
		`5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR vps-17.hoster.test.`,
	)
	fake.add(t, fmt.Sprintf(`%s. 300 IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAold"`, badName))
	fake.truncate["_dmarc.good.test."] = true // answered over TCP only
	for _, n := range []string{"broken.test.", "_dmarc.broken.test."} {
		fake.servfail[n] = true
	}
	brokenName, _ := keys.Record("broken.test")
	fake.servfail[dns.Fqdn(brokenName)] = true

	code, out, errs := runDNSCmd(t, "--config", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	t.Logf("output:\n%s", out)
	noneName, _ := keys.Record("none.test")
	tests := []struct{ name, typ, want string }{
		{"good.test", "MX", "ok"},
		{"good.test", "TXT", "ok"},
		{goodName, "TXT", "ok"},
		{"_dmarc.good.test", "TXT", "ok"},
		{"bad.test", "MX", "different: DNS has 10 mail.elsewhere.test."},
		{"bad.test", "TXT", `different: DNS has v=spf1 a:other.test -all`},
		{badName, "TXT", "different: DNS has v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAold"},
		{"_dmarc.bad.test", "TXT", "different: DNS has v=DMARC1; p=none"},
		{"none.test", "MX", "missing"},
		{"none.test", "TXT", "missing"},
		{noneName, "TXT", "missing"},
		{"_dmarc.none.test", "TXT", "missing"},
		{"mx.good.test", "A", "ok"},
		{"mx.good.test", "AAAA", "ok"},
		{"1.2.0.192.in-addr.arpa", "PTR", "ok"},
		{"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR", "different: DNS has vps-17.hoster.test."},
	}
	for _, tt := range tests {
		if got := statusOf(t, out, tt.name, tt.typ); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.name, tt.typ, got, tt.want)
		}
	}
	for _, n := range []string{"broken.test", brokenName, "_dmarc.broken.test"} {
		if got := statusOf(t, out, n, map[bool]string{true: "MX", false: "TXT"}[n == "broken.test"]); !strings.HasPrefix(got, "lookup failed: ") ||
			!strings.Contains(got, "SERVFAIL") || !strings.Contains(got, "REFUSED") {
			t.Errorf("%s: %q, want lookup failed naming both servers' answers", n, got)
		}
	}
	if !strings.Contains(out, "; 7 ok, 4 missing, 5 different, 4 lookup failed\n") {
		t.Errorf("summary line missing or wrong:\n%s", out)
	}
	// The records to publish are in the output, the DKIM key split into
	// 255-octet strings whose concatenation is the record.
	for _, want := range []string{
		"good.test. IN MX 10 mx.good.test. ;",
		`good.test. IN TXT "v=spf1 mx -all" ;`,
		`_dmarc.good.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@good.test" ;`,
		`5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. IN PTR mx.good.test. ;`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	line := out[strings.Index(out, dns.Fqdn(goodName)+" IN TXT "):]
	line = line[:strings.Index(line, " ;")]
	value := strings.TrimPrefix(line, dns.Fqdn(goodName)+" IN TXT ")
	parts := strings.Split(strings.Trim(value, `"`), `" "`)
	if len(parts) != 2 || len(parts[0]) != 255 || strings.Join(parts, "") != goodTXT {
		t.Errorf("DKIM record printed as %d strings %q, want %q split at 255", len(parts), value, goodTXT)
	}
}

func TestDNSNoCheck(t *testing.T) {
	path, dataDir := writeDNSConfig(t, []string{"a.test", "b.test"}, nil)
	// Flags after the positional argument, as everywhere.
	code, out, errs := runDNSCmd(t, "B.test.", "--no-check", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if strings.Contains(out, "a.test") || !strings.Contains(out, "b.test. IN MX 10 mx.good.test.\n") {
		t.Errorf("want the records of b.test only:\n%s", out)
	}
	if strings.Contains(out, " ; ") || !strings.HasSuffix(out, "; DNS not checked\n") {
		t.Errorf("--no-check output has verdicts:\n%s", out)
	}
	if !strings.Contains(out, "mx.good.test. IN A ADDRESS\n") {
		t.Errorf("host address placeholder missing:\n%s", out)
	}
	// The key was made on first use, for the domain asked for only.
	m, _ := filepath.Glob(filepath.Join(dataDir, "dkim", "*.key"))
	if len(m) != 1 || !strings.HasPrefix(filepath.Base(m[0]), "b.test.ph") {
		t.Errorf("key files %q, want one for b.test", m)
	}
	if !strings.Contains(errs, "DKIM key created") {
		t.Errorf("stderr %q does not report the new key", errs)
	}
	// A second run prints the same records (the key is kept).
	_, out2, errs2 := runDNSCmd(t, "b.test", "--no-check", "--config", path)
	if out2 != out || errs2 != "" {
		t.Errorf("second run differs:\n%s\nstderr %q", out2, errs2)
	}
}

func TestDNSHostWithoutAddress(t *testing.T) {
	tests := []struct {
		name     string
		servfail bool
		want     map[string]string // type → verdict prefix
	}{
		{"no address", false, map[string]string{"A": "missing: publish"}},
		{"lookups fail", true, map[string]string{"A": "lookup failed: ", "AAAA": "lookup failed: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeDNS()
			fake.servfail["mx.good.test."] = tt.servfail
			path, _ := writeDNSConfig(t, []string{"a.test"}, []string{fake.start(t)})
			code, out, errs := runDNSCmd(t, "--config", path)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			if n := strings.Count(out, "mx.good.test. IN A"); n != len(tt.want) {
				t.Errorf("%d host address lines, want %d:\n%s", n, len(tt.want), out)
			}
			for typ, want := range tt.want {
				if got := statusOf(t, out, "mx.good.test", typ); !strings.HasPrefix(got, want) {
					t.Errorf("host %s: %q, want %q...", typ, got, want)
				}
			}
		})
	}
}

func TestDNSErrors(t *testing.T) {
	path, _ := writeDNSConfig(t, []string{"a.test"}, nil)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not a local domain", []string{"--config", path, "other.test"}, 1, "other.test is not a local domain"},
		{"unreadable config", []string{"--config", filepath.Join(t.TempDir(), "nope.toml")}, 1, "nope.toml"},
		{"two domains", []string{"--config", path, "a.test", "b.test"}, 2, "usage"},
		{"unknown flag", []string{"--frobnicate"}, 2, "frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runDNSCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) || strings.Count(errs, "\n") != 1 || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and one line with %q", code, out, errs, tt.code, tt.want)
			}
		})
	}
}

func TestSPFCovers(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::25")}
	tests := []struct {
		rec    string
		mxHost bool
		want   bool
	}{
		{"v=spf1 mx -all", false, true}, // what we print: the MX line judges the MX
		{"V=SPF1  MX  -ALL", false, true},
		{"v=spf1 mx ~all", true, true},
		{"v=spf1 +mx:a.test -all", true, true},
		{"v=spf1 mx ~all", false, false},
		{"v=spf1 -mx ~all", true, false},
		{"v=spf1 a:mx.good.test -all", false, true},
		{"v=spf1 a -all", false, false}, // "a" is a.test's address, not the host's
		{"v=spf1 ip4:192.0.2.0/24 -all", false, true},
		{"v=spf1 ip4:192.0.2.1 -all", false, true},
		{"v=spf1 ip6:2001:db8::/32 -all", false, true},
		{"v=spf1 ip4:198.51.100.0/24 -all", false, false},
		{"v=spf1 ip4:bogus -all", false, false},
		{"v=spf1 include:_spf.provider.test -all", true, false},
		{"v=spf1", true, false},
	}
	for _, tt := range tests {
		if got := spfCovers(tt.rec, "a.test", "mx.good.test", addrs, tt.mxHost); got != tt.want {
			t.Errorf("spfCovers(%q, mx=%v) = %v, want %v", tt.rec, tt.mxHost, got, tt.want)
		}
	}
	for rec, want := range map[string]bool{"v=spf1": true, "v=spf1 -all": true, "V=SPF1 mx": true,
		"v=spf10 mx": false, "v=spf": false, "spf1": false, "": false} {
		if isSPF(rec) != want {
			t.Errorf("isSPF(%q) = %v", rec, !want)
		}
	}
}

func TestQuoteTXT(t *testing.T) {
	long := strings.Repeat("a", 255) + strings.Repeat("b", 255) + "c"
	tests := []struct{ in, want string }{
		{"", `""`},
		{"v=spf1 mx -all", `"v=spf1 mx -all"`},
		{`say "hi" \o/`, `"say \"hi\" \\o/"`},
		{long, `"` + strings.Repeat("a", 255) + `" "` + strings.Repeat("b", 255) + `" "c"`},
	}
	for _, tt := range tests {
		if got := quoteTXT(tt.in); got != tt.want {
			t.Errorf("quoteTXT(%.20q...) = %.60q..., want %.60q...", tt.in, got, tt.want)
		}
	}
}

func TestParseTags(t *testing.T) {
	got := parseTags(" v=DKIM1 ; K = rsa; p=AB CD\t EF;; junk; =x; p=second")
	want := map[string]string{"v": "DKIM1", "k": "rsa", "p": "AB CD\t EF"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseTags = %v, want %v", got, want)
	}
}

// FuzzParseTags: any TXT record parses without panic into trimmed tags.
func FuzzParseTags(f *testing.F) {
	f.Add("v=DKIM1; k=rsa; p=MIIB")
	f.Add("v=DMARC1;p=reject;;=;x")
	f.Fuzz(func(t *testing.T, s string) {
		for k, v := range parseTags(s) {
			if k == "" || k != strings.ToLower(strings.TrimSpace(k)) || v != strings.TrimSpace(v) {
				t.Fatalf("tag %q=%q from %q", k, v, s)
			}
		}
	})
}

// FuzzSPFCovers: any SPF record is judged without panic.
func FuzzSPFCovers(f *testing.F) {
	f.Add("v=spf1 ip4:192.0.2.0/24 ip6:::/0 a:mx.good.test mx -all", true)
	f.Add("v=spf1 ip4: ip6:/ +", false)
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::25")}
	f.Fuzz(func(t *testing.T, rec string, mx bool) {
		spfCovers(rec, "a.test", "mx.good.test", addrs, mx)
		isSPF(rec)
		quoteTXT(rec)
	})
}
