package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
)

const okHead = "domains = [\"example.test\"]\n" // line 1 of every bad case

func TestParseBad(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int
		want string // the whole message after "posthorn.toml:LINE: "
	}{
		{"unknown key in table", okHead + "[listen]\nsmtp = []\nsmpt = [\"127.0.0.1:25\"]\n", 4,
			`unknown key "listen.smpt"`},
		{"unknown top key", okHead + "\n\nhostnme = \"x\"\n", 4, `unknown key "hostnme"`},
		{"unknown key in second route", okHead + "[[route]]\ndomain = \"a.test\"\nhost = \"h.test:25\"\n[[route]]\ndomian = \"b.test\"\n", 6,
			`unknown key "route.domian"`},
		{"unknown dotted key", okHead + "limits.max_size = 3\n", 2, `unknown key "limits.max_size"`},
		{"first unknown key by line", okHead + "zz = 1\n[queue]\naa = 2\n", 2, `unknown key "zz"`},
		{"wrong type string", "hostname = 5\n" + okHead, 1,
			`key "hostname": cannot decode TOML integer into struct field config.Config.Hostname of type string`},
		{"wrong type list", okHead + "[listen]\nsmtp = \"127.0.0.1:25\"\n", 3,
			`key "listen.smtp": cannot decode TOML string into struct field config.Listen.SMTP of type []string`},
		{"wrong type bool", okHead + "allow_plaintext_auth = \"yes\"\n", 2,
			`key "allow_plaintext_auth": cannot decode TOML string into struct field config.Config.AllowPlaintextAuth of type bool`},
		{"integer overflow", okHead + "[limits]\nmax_recipients = 99999999999999999999\n", 3,
			`key "limits.max_recipients": decimal number is too large to fit in a 64-bit signed integer`},
		{"syntax", okHead + "hostname = \n", 2, `unexpected character U+000A at start of value`},
		{"bad duration unit", okHead + "[queue]\nfirst_retry = \"5x\"\n", 3,
			`key "queue.first_retry": bad duration "5x": unknown unit 'x' (want s, m, h, d)`},
		{"duration as number", okHead + "[smtp]\ncommand_timeout = 300\n", 3,
			`key "smtp.command_timeout": a duration is a string with units s, m, h, d ("5m", "1h30m"), not a number`},
		{"duration in inline table", okHead + "pop3 = { idle_timeout = 60 }\n", 2,
			`key "pop3.idle_timeout": a duration is a string with units s, m, h, d ("5m", "1h30m"), not a number`},
		{"zero duration", okHead + "[queue]\nmax_age = \"0s\"\n", 3, `key "queue.max_age": must be a positive duration, got 0s`},
		{"interval below first retry", okHead + "[queue]\nfirst_retry = \"2h\"\n", 2,
			`key "queue.max_interval": 1h is shorter than queue.first_retry (2h)`},
		{"no domains", "hostname = \"mx.test\"\n", 0, `key "domains": at least one local domain is required`},
		{"bad domain", "domains = [\"ok.test\",\n  \"bad_domain.test\"]\n", 2,
			`key "domains[1]": bad domain name "bad_domain.test": character '_' not allowed`},
		{"duplicate domain", "domains = [\"a.test\", \"A.test\"]\n", 1, `key "domains[1]": domain "a.test" listed twice`},
		{"bad hostname", okHead + "hostname = \"-mx.test\"\n", 2,
			`key "hostname": bad domain name "-mx.test": label starts or ends with '-'`},
		{"bad postmaster", okHead + "postmaster = \"nobody\"\n", 2, `key "postmaster": bad address "nobody": want local@domain`},
		{"listen no port", okHead + "[listen]\nsmtp = [\"127.0.0.1\"]\n", 3,
			`key "listen.smtp[0]": bad address "127.0.0.1": want host:port`},
		{"listen port range", okHead + "[listen]\nimap = [\n  \"127.0.0.1:143\",\n  \"127.0.0.1:99999\",\n]\n", 5,
			`key "listen.imap[1]": bad address "127.0.0.1:99999": port must be a number from 0 to 65535`},
		{"listen duplicate", okHead + "[listen]\nsmtp = [\"127.0.0.1:25\"]\npop3 = [\"127.0.0.1:25\"]\n", 4,
			`key "listen.pop3[0]": address "127.0.0.1:25" is already used by listen.smtp`},
		{"cert without key", okHead + "[tls]\ncert_file = \"/nonexistent/cert.pem\"\n", 2,
			`key "tls.key_file": must be set when tls.cert_file is`},
		{"missing cert file", okHead + "[tls]\ncert_file = \"/nonexistent/cert.pem\"\nkey_file = \"/nonexistent/key.pem\"\n", 3,
			`key "tls.cert_file": cannot read file: open /nonexistent/cert.pem: no such file or directory`},
		{"negative size", okHead + "[limits]\nmax_message_size = -1\n", 3, `key "limits.max_message_size": must be positive, got -1`},
		{"zero connections", okHead + "[limits]\nmax_connections = 0\n", 3, `key "limits.max_connections": must be positive, got 0`},
		{"zero imap sessions", okHead + "[limits]\nimap_sessions_per_user = 0\n", 3, `key "limits.imap_sessions_per_user": must be positive, got 0`},
		{"nameserver not ip", okHead + "[dns]\nnameservers = [\"ns.test:53\"]\n", 3,
			`key "dns.nameservers[0]": bad address "ns.test:53": host must be an IP address`},
		{"route tls", okHead + "[[route]]\ndomain = \"p.test\"\nhost = \"h.test:25\"\ntls = \"maybe\"\n", 5,
			`key "route[0].tls": must be "opportunistic", "required" or "none", got "maybe"`},
		{"route without host", okHead + "[[route]]\ndomain = \"p.test\"\n[[route]]\ndomain = \"q.test\"\n", 2,
			`key "route[0].host": is required (host:port)`},
		{"second route without host", okHead + "[[route]]\ndomain = \"p.test\"\nhost = \"h.test:25\"\n[[route]]\ndomain = \"q.test\"\n", 5,
			`key "route[1].host": is required (host:port)`},
		{"route duplicate", okHead + "route = [{domain = \"p.test\", host = \"a.test:25\"},\n {domain = \"p.test\", host = \"b.test:25\"}]\n", 3,
			`key "route[1].domain": a route for "p.test" is already given`},
		{"route username alone", okHead + "[[route]]\ndomain = \"*\"\nhost = \"h.test:587\"\nusername = \"u\"\n", 5,
			`key "route[0].username": username and password go together`},
		{"store driver", okHead + "[store]\ndriver = \"mysql\"\n", 3, `key "store.driver": must be "sqlite" or "postgres", got "mysql"`},
		{"postgres without dsn", okHead + "[store]\ndriver = \"postgres\"\n", 2, `key "store.dsn": is required with driver "postgres"`},
		{"max errors", okHead + "[smtp]\nmax_errors = 0\n", 3, `key "smtp.max_errors": must be positive, got 0`},
		{"token with space", okHead + "[admin]\ntoken = \"a b\"\n", 3, `key "admin.token": must be printable ASCII without spaces`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("posthorn.toml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			want := "posthorn.toml: " + tc.want
			if tc.line > 0 {
				want = "posthorn.toml:" + strconv.Itoa(tc.line) + ": " + tc.want
			}
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Line != tc.line {
				t.Errorf("not an *Error with line %d: %#v", tc.line, err)
			}
			if !mailerr.IsPermanent(err) || !mailerr.Is(err, mailerr.BadInput) {
				t.Errorf("not a permanent BadInput: %v", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.toml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist in the chain", err)
	}
	if !strings.HasPrefix(err.Error(), path+": cannot read configuration") {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestLoadTooLarge(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "big.toml", okHead+"#"+strings.Repeat("x", MaxFileSize)+"\n")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Load(big) = %v", err)
	}
}

func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Routes = []Route{{Domain: "p.test", Host: "h.test:25", TLS: "bogus"}}
	err := c.Validate()
	want := `key "route[0].tls": must be "opportunistic", "required" or "none", got "bogus"`
	if err == nil || err.Error() != want {
		t.Fatalf("Validate = %v, want %s", err, want)
	}
}

func TestCheckHostPort(t *testing.T) {
	tests := []struct {
		in   string
		rule hostRule
		ok   bool
	}{
		{"127.0.0.1:25", hostAny, true},
		{"[::1]:25", hostAny, true},
		{":25", hostAny, true},
		{"localhost:0", hostAny, true},
		{"mx.example.test:25", hostRequired, true},
		{":25", hostRequired, false},
		{"h.test:0", hostRequired, false},
		{"::1:25", hostAny, false},
		{"h.test:smtp", hostRequired, false},
		{"h.test:", hostRequired, false},
		{"[::1]:53", hostIP, true},
		{"1.1.1.1:53", hostIP, true},
		{"dns.test:53", hostIP, false},
		{"bad host:25", hostRequired, false},
	}
	for _, tc := range tests {
		err := checkHostPort(tc.in, tc.rule)
		if (err == nil) != tc.ok {
			t.Errorf("checkHostPort(%q, %d) = %v, want ok=%v", tc.in, tc.rule, err, tc.ok)
		}
	}
}

func TestCheckAddress(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"postmaster@example.test", true},
		{"first.last+tag@example.test", true},
		{"@example.test", false},
		{"a@", false},
		{"a@b@c.test", false},
		{"a b@example.test", false},
		{"<a>@example.test", false},
		{strings.Repeat("a", 65) + "@example.test", false},
	} {
		if err := checkAddress(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkAddress(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCheckDomain(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"localhost", true},
		{"xn--bcher-kva.example", true},
		{"a-b.c0.test", true},
		{"", false},
		{"a..b", false},
		{"a.-b", false},
		{"b-.a", false},
		{"bücher.example", false},
		{strings.Repeat("a", 64) + ".test", false},
		{strings.Repeat("abcdefghi.", 26), false},
	} {
		if err := checkDomain(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkDomain(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
