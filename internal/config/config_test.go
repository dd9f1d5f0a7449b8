package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestDefaultValidates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"data_dir", c.DataDir, "posthorn-data"},
		{"domains", c.Domains, []string{"localhost"}},
		{"smtp", c.Listen.SMTP, []string{"127.0.0.1:2525"}},
		{"submission", c.Listen.Submission, []string{"127.0.0.1:2587"}},
		{"submissions", c.Listen.Submissions, []string{"127.0.0.1:2465"}},
		{"pop3", c.Listen.POP3, []string{"127.0.0.1:2110"}},
		{"pop3s", c.Listen.POP3S, []string{"127.0.0.1:2995"}},
		{"imap", c.Listen.IMAP, []string{"127.0.0.1:2143"}},
		{"imaps", c.Listen.IMAPS, []string{"127.0.0.1:2993"}},
		{"http", c.Listen.HTTP, []string{"127.0.0.1:8025"}},
		{"plaintext", c.AllowPlaintextAuth, false},
		{"max_message_size", c.Limits.MaxMessageSize, int64(26214400)},
		{"max_recipients", c.Limits.MaxRecipients, 100},
		{"max_connections", c.Limits.MaxConnections, 2000},
		{"default_quota", c.Limits.DefaultQuota, int64(0)},
		{"send_per_hour", c.Limits.SendPerHour, 1000},
		{"first_retry", c.Queue.FirstRetry.D(), 5 * time.Minute},
		{"delay_warning", c.Queue.DelayWarning.D(), 4 * time.Hour},
		{"max_interval", c.Queue.MaxInterval.D(), time.Hour},
		{"max_age", c.Queue.MaxAge.D(), 5 * 24 * time.Hour},
		{"per_destination", c.Queue.PerDestination, 20},
		{"driver", c.Store.Driver, "sqlite"},
		{"command_timeout", c.SMTP.CommandTimeout.D(), 5 * time.Minute},
		{"data_block_timeout", c.SMTP.DataBlockTimeout.D(), 3 * time.Minute},
		{"data_term_timeout", c.SMTP.DataTermTimeout.D(), 10 * time.Minute},
		{"data_init_timeout", c.SMTP.DataInitTimeout.D(), 2 * time.Minute},
		{"idle_timeout", c.POP3.IdleTimeout.D(), 10 * time.Minute},
		{"token", c.Admin.Token, ""},
		{"path", c.Path, ""},
		{"postmaster", c.PostmasterAddress(), "postmaster@localhost"},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.Hostname == "" {
		t.Error("hostname is empty")
	}
}

func TestLoadInterfaceExample(t *testing.T) {
	c, err := Load("testdata/interface.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Route{Domain: "peer.test", Host: "127.0.0.2:25", TLS: "opportunistic"}
	if len(c.Routes) != 1 || c.Routes[0] != want {
		t.Errorf("routes = %+v, want [%+v]", c.Routes, want)
	}
	if c.Hostname != "mx.example.test" || c.DataDir != "/var/lib/posthorn" {
		t.Errorf("hostname, data_dir = %q, %q", c.Hostname, c.DataDir)
	}
	if got := c.Listen.IMAPS; !reflect.DeepEqual(got, []string{"0.0.0.0:993"}) {
		t.Errorf("imaps = %v", got)
	}
	if c.Queue.MaxAge.D() != 5*24*time.Hour {
		t.Errorf("max_age = %v", c.Queue.MaxAge)
	}
	if c.PostmasterAddress() != "postmaster@example.test" {
		t.Errorf("postmaster = %q", c.PostmasterAddress())
	}
	if c.Path != "testdata/interface.toml" {
		t.Errorf("path = %q", c.Path)
	}
}

// A file is complete: listeners it leaves out are off, documented
// defaults fill the rest, relative paths follow the file.
func TestLoadMinimalFile(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "posthorn.toml", `
domains = ["Example.TEST."]
data_dir = "data"
postmaster = "admin@example.test"
[listen]
smtp = ["127.0.0.1:0"]
imap = []
[queue]
first_retry = "1m30s"
delay_warning = "0s"
[[route]]
domain = "*"
host = "smarthost.test:587"
tls = "required"
username = "u"
password = "p"
[smtp]
max_errors = 3
[pop3]
idle_timeout = "30m"
[admin]
token = "s3cret-token"
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Domains, []string{"example.test"}) {
		t.Errorf("domains = %q, want lower-cased without the root dot", c.Domains)
	}
	if c.DataDir != filepath.Join(dir, "data") {
		t.Errorf("data_dir = %q, want it under the file's directory", c.DataDir)
	}
	if len(c.Listen.Submission) != 0 || len(c.Listen.HTTP) != 0 || len(c.Listen.IMAP) != 0 {
		t.Errorf("unlisted listeners not off: %+v", c.Listen)
	}
	if c.Queue.FirstRetry.D() != 90*time.Second || c.Queue.MaxInterval.D() != time.Hour || c.Queue.DelayWarning != 0 {
		t.Errorf("queue = %+v", c.Queue)
	}
	if c.Limits != Default().Limits || c.Store.Driver != DriverSQLite {
		t.Errorf("limits/store defaults not applied: %+v %+v", c.Limits, c.Store)
	}
	if c.SMTP.MaxErrors != 3 || c.SMTP.CommandTimeout.D() != 5*time.Minute || c.POP3.IdleTimeout.D() != 30*time.Minute {
		t.Errorf("smtp/pop3 = %+v %+v", c.SMTP, c.POP3)
	}
	if c.Admin.Token != "s3cret-token" || c.PostmasterAddress() != "admin@example.test" {
		t.Errorf("token/postmaster = %q %q", c.Admin.Token, c.PostmasterAddress())
	}
	if c.Routes[0].Domain != "*" || c.Routes[0].TLS != RouteTLSRequired {
		t.Errorf("route = %+v", c.Routes[0])
	}
}

func TestLoadCertFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "cert.pem", "x")
	writeFile(t, dir, "key.pem", "x")
	path := writeFile(t, dir, "p.toml", "domains = [\"a.test\"]\n[tls]\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.CertFile != filepath.Join(dir, "cert.pem") || c.TLS.KeyFile != filepath.Join(dir, "key.pem") {
		t.Errorf("tls = %+v", c.TLS)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	c, err := Find("")
	if err != nil || c.Path != "" || len(c.Listen.SMTP) != 1 {
		t.Fatalf("Find without file = %+v, %v; want Default()", c, err)
	}
	writeFile(t, dir, DefaultFile, "domains = [\"found.test\"]\n")
	c, err = Find("")
	if err != nil || c.Path != DefaultFile || c.Domains[0] != "found.test" {
		t.Fatalf("Find with ./posthorn.toml = %+v, %v", c, err)
	}
	other := writeFile(t, dir, "other.toml", "domains = [\"other.test\"]\n")
	c, err = Find(other)
	if err != nil || c.Domains[0] != "other.test" {
		t.Fatalf("Find(explicit) = %+v, %v", c, err)
	}
	if _, err := Find(filepath.Join(dir, "missing.toml")); err == nil {
		t.Fatal("Find of a missing explicit file succeeded")
	}
}

func TestPostmasterAddress(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Postmaster: "pm@x.test", Domains: []string{"a.test"}}, "pm@x.test"},
		{Config{Domains: []string{"a.test", "b.test"}}, "postmaster@a.test"},
		{Config{Hostname: "mx.test"}, "postmaster@mx.test"},
	} {
		if got := tc.c.PostmasterAddress(); got != tc.want {
			t.Errorf("PostmasterAddress(%+v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
