package e2e

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSwaks sends with swaks, a widely used SMTP test client: plain,
// STARTTLS, an attachment and pipelining; each message is checked over
// POP3.
func TestSwaks(t *testing.T) {
	t.Parallel()
	needTool(t, "swaks")
	s := StartServer(t, Options{})
	const user = "swaks@example.test"
	s.AddUser(user, "pw")

	att := filepath.Join(t.TempDir(), "report.bin")
	attData := []byte("binary \x00\x01\x02\xff attachment payload, long enough to need a second base64 line: " +
		strings.Repeat("0123456789", 10))
	if err := os.WriteFile(att, attData, 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, msg []byte)
	}{
		{name: "plain", check: func(t *testing.T, msg []byte) {
			if !bytes.Contains(msg, []byte("\r\n\r\nbody of plain\r\n")) {
				t.Errorf("plain body missing:\n%s", msg)
			}
		}},
		{name: "starttls", args: []string{"--tls"}, check: func(t *testing.T, msg []byte) {
			if !receivedSays(msg, "ESMTPS") {
				t.Errorf("Received of a STARTTLS session does not say ESMTPS:\n%s", head(msg, 600))
			}
		}},
		{name: "attachment", args: []string{"--attach-type", "application/octet-stream", "--attach", swaksAttachArg(t, att)},
			check: func(t *testing.T, msg []byte) {
				enc := base64.StdEncoding.EncodeToString(attData)
				flat := bytes.ReplaceAll(msg, []byte("\r\n"), nil)
				if !bytes.Contains(flat, []byte(enc)) || !bytes.Contains(msg, []byte("report.bin")) {
					t.Errorf("attachment report.bin (base64 %s) not found in:\n%s", enc, msg)
				}
			}},
		{name: "pipeline", args: []string{"--pipeline"}, check: func(t *testing.T, msg []byte) {
			if !bytes.Contains(msg, []byte("body of pipeline")) {
				t.Errorf("pipelined body missing:\n%s", msg)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--from", "sender@remote.test", "--to", user,
				"--header", "Subject: swaks " + c.name, "--body", "body of " + c.name}, c.args...)
			out, err := runSwaks(t, s, args...)
			if err != nil {
				t.Fatalf("swaks failed: %v\n%s", err, out)
			}
			if c.name == "pipeline" && !strings.Contains(out, "PIPELINING") {
				t.Errorf("the server did not announce PIPELINING to swaks:\n%s", out)
			}
			msgs := mustFetch(t, s.POP3, user, "pw", true)
			if len(msgs) != 1 {
				t.Fatalf("%d messages after one swaks run, want 1\nswaks:\n%s", len(msgs), out)
			}
			if !bytes.Contains(msgs[0].Data, []byte("Subject: swaks "+c.name+"\r\n")) {
				t.Errorf("subject missing:\n%s", msgs[0].Data)
			}
			c.check(t, msgs[0].Data)
		})
	}
}

// receivedSays reports whether the first Received field contains s.
func receivedSays(msg []byte, s string) bool {
	trace, _ := SplitTrace(msg)
	for _, f := range trace {
		if strings.EqualFold(f.Name, "Received") {
			return strings.Contains(f.Raw, s)
		}
	}
	return false
}

// swaksAttachArg names a file for --attach: swaks releases after 2020
// read "@FILE" as a file and anything else as the content itself, while
// 20201014 (Debian 12) takes a plain file name.
func swaksAttachArg(t *testing.T, path string) string {
	out, err := exec.Command("swaks", "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks --version: %v", err)
	}
	m := regexp.MustCompile(`version (\d{8})`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("cannot read the swaks version from %q", out)
	}
	if v, _ := strconv.Atoi(string(m[1])); v > 20201014 {
		return "@" + path
	}
	return path
}
