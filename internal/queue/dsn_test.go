package queue

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mime"
)

// dsnParts is a DSN taken apart with the public mime package.
type dsnParts struct {
	subject, from, reportType string
	types                     []string // the media types of the report's parts
	human, status, original   string
}

func parseDSN(t *testing.T, msg []byte) dsnParts {
	t.Helper()
	root, err := mime.ParseBytes(context.Background(), msg)
	if err != nil {
		t.Fatalf("parsing the DSN: %v", err)
	}
	if root.ContentType != "multipart/report" {
		t.Fatalf("DSN is %s, want multipart/report", root.ContentType)
	}
	d := dsnParts{subject: root.Header.Subject(), from: root.Header.Get("From"), reportType: root.Params["report-type"]}
	for _, p := range root.Parts {
		d.types = append(d.types, p.ContentType)
	}
	read := func(r io.Reader) string {
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if len(root.Parts) > 0 {
		d.human = read(root.Parts[0].Body())
	}
	if len(root.Parts) > 1 {
		d.status = read(root.Parts[1].RawBody()) + "\r\n"
	}
	if len(root.Parts) > 2 {
		d.original = read(root.Parts[2].RawBody())
	}
	for _, p := range root.Parts {
		if len(p.Defects) > 0 {
			t.Errorf("part %s has defects %v", p.ContentType, p.Defects)
		}
	}
	return d
}

func (d dsnParts) wantParts(t *testing.T, types ...string) {
	t.Helper()
	if strings.Join(d.types, " ") != strings.Join(types, " ") {
		t.Errorf("report parts %v, want %v", d.types, types)
	}
	if want := strings.TrimPrefix(types[1], "message/"); d.reportType != want {
		t.Errorf("report-type %q, want %q", d.reportType, want)
	}
	if d.from != "Mail Delivery System <MAILER-DAEMON@mx.local.test>" && d.from != "Mail Delivery System <MAILER-DAEMON@mx.test>" {
		t.Errorf("From: %q", d.from)
	}
}

var (
	arrival = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	sent    = time.Date(2025, 3, 2, 11, 30, 0, 0, time.UTC)
)

func baseReport() *report {
	return &report{Hostname: "mx.test", QueueID: "QID1", Sender: "alice@local.test", Arrival: arrival,
		Date: sent, ID: "RID1", Boundary: "BOUNDARY", Return: returnHeaders,
		Rcpts: []rcptStatus{{Rcpt: "bob@far.test", ORCPT: "rfc822;Bob@far.test", Action: actionFailed,
			Status: "5.1.1", RemoteMTA: "mx.far.test", Code: 550, Text: "no such user", LastAttempt: sent}}}
}

const origMsg = "Received: from x\r\nSubject: original\r\n\r\nbody line\r\n"

// TestReportText checks the exact text of DSNs, field by field.
// reportCases are the DSNs TestReportText writes and checks.
var reportCases = []struct {
	name   string
	edit   func(r *report)
	orig   string
	want   []string // lines (or runs of lines) the DSN must hold
	absent []string
	parts  []string
}{
	{
		name: "failure with headers",
		orig: origMsg,
		want: []string{
			"From: Mail Delivery System <MAILER-DAEMON@mx.test>\r\nTo: <alice@local.test>\r\n" +
				"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <RID1@mx.test>\r\n" +
				"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"BOUNDARY\"\r\n\r\n",
			"Date: Sun, 02 Mar 2025 11:30:00 +0000\r\n",
			"\r\n--BOUNDARY\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n" +
				"Reporting-MTA: dns; mx.test\r\nX-Posthorn-Queue-ID: QID1\r\n" +
				"Arrival-Date: Sat, 01 Mar 2025 10:00:00 +0000\r\n\r\n" +
				"Original-Recipient: rfc822; Bob@far.test\r\nFinal-Recipient: rfc822; bob@far.test\r\n" +
				"Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.far.test\r\n" +
				"Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n" +
				"Last-Attempt-Date: Sun, 02 Mar 2025 11:30:00 +0000\r\n",
			"<bob@far.test>: delivery failed permanently\r\n    mx.far.test said: 550 5.1.1 no such user\r\n",
			"Content-Type: text/rfc822-headers\r\n\r\nReceived: from x\r\nSubject: original\r\n\r\n--BOUNDARY--\r\n",
		},
		absent: []string{"body line", "Original-Envelope-Id"},
		parts:  []string{"text/plain", "message/delivery-status", "text/rfc822-headers"},
	},
	{
		name: "full return, envid, local failure",
		edit: func(r *report) {
			r.Return, r.EnvID = returnFull, "id+1=x y"
			r.Rcpts[0] = rcptStatus{Rcpt: "bob@far.test", Action: actionFailed, Status: "4.4.1",
				Text: "connection refused", Expired: true}
		},
		orig: origMsg,
		want: []string{
			"Original-Envelope-Id: id+2B1+3Dx+20y\r\n",
			"Final-Recipient: rfc822; bob@far.test\r\nAction: failed\r\nStatus: 4.4.1\r\n" +
				"Diagnostic-Code: X-Posthorn; connection refused\r\n",
			"<bob@far.test>: delivery failed for too long; gave up\r\n    connection refused\r\n",
			"Content-Type: message/rfc822\r\n\r\n" + origMsg + "\r\n--BOUNDARY--\r\n",
		},
		absent: []string{"Remote-MTA", "Original-Recipient"},
		parts:  []string{"text/plain", "message/delivery-status", "message/rfc822"},
	},
	{
		name: "relayed, original without final CRLF",
		edit: func(r *report) {
			r.Return = returnFull
			r.Rcpts[0] = rcptStatus{Rcpt: "bob@far.test", Action: actionRelayed, Status: "2.0.0",
				RemoteMTA: "mx.far.test", Code: 250, Text: "ok"}
		},
		orig: "Subject: s\r\n\r\nno newline",
		want: []string{
			"Subject: Successful Mail Delivery Report\r\n",
			"Action: relayed\r\nStatus: 2.0.0\r\nRemote-MTA: dns; mx.far.test\r\nDiagnostic-Code: smtp; 250 2.0.0 ok\r\n",
			"was handed on to the recipients'",
			"\r\n\r\nno newline\r\n\r\n--BOUNDARY--\r\n",
		},
		parts: []string{"text/plain", "message/delivery-status", "message/rfc822"},
	},
	{
		name: "internationalised",
		edit: func(r *report) {
			r.UTF8 = true
			r.Sender = "älice@local.test"
			r.Rcpts[0].Rcpt, r.Rcpts[0].ORCPT = "bøb@far.test", "utf-8;bøb@far.test"
		},
		orig: "Subject: ünïcode\r\n\r\nx\r\n",
		want: []string{
			"To: <älice@local.test>\r\n",
			"report-type=global-delivery-status",
			"Content-Type: message/global-delivery-status\r\n",
			"Original-Recipient: utf-8; bøb@far.test\r\nFinal-Recipient: utf-8; bøb@far.test\r\n",
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
			"Content-Type: message/global-headers\r\n\r\nSubject: ünïcode\r\n\r\n--BOUNDARY--",
		},
		parts: []string{"text/plain", "message/global-delivery-status", "message/global-headers"},
	},
	{
		name: "hostile remote text",
		edit: func(r *report) {
			r.Rcpts[0].Text = "line1\r\nInjected: yes\x00 " + strings.Repeat("word ", 400) + "ünicode"
		},
		orig:   "Subject: s\r\n\r\n",
		want:   []string{"Diagnostic-Code: smtp; 550 5.1.1 line1  Injected: yes  word word", "...\r\n"},
		absent: []string{"\r\nInjected", "ü", "\x00"},
		parts:  []string{"text/plain", "message/delivery-status", "text/rfc822-headers"},
	},
}

func TestReportText(t *testing.T) {
	for _, tc := range reportCases {
		t.Run(tc.name, func(t *testing.T) {
			r := baseReport()
			if tc.edit != nil {
				tc.edit(r)
			}
			var buf bytes.Buffer
			if err := writeReport(&buf, r, strings.NewReader(tc.orig)); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("DSN lacks %q\n---\n%s", w, out)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("DSN holds %q\n---\n%s", a, out)
				}
			}
			checkLines(t, out)
			d := parseDSN(t, buf.Bytes())
			d.wantParts(t, tc.parts...)
		})
	}
}

// checkLines: CRLF only, no line over 998 octets, and the status part's
// lines within 78 where folding can do it.
func checkLines(t *testing.T, msg string) {
	t.Helper()
	if strings.Contains(strings.ReplaceAll(msg, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(msg, "\r\n", ""), "\r") {
		t.Error("bare CR or LF in the DSN")
	}
	sc := bufio.NewScanner(strings.NewReader(msg))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if len(line) > 998 {
			t.Errorf("line of %d octets", len(line))
		}
		if strings.HasPrefix(line, "\t") && len(line) > 78 && strings.Count(line, " ") > 0 {
			t.Errorf("folded line of %d octets: %q", len(line), line)
		}
	}
}

func TestCopyHeader(t *testing.T) {
	long := strings.Repeat("x", 10000)
	for _, tc := range []struct{ in, want string }{
		{"A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\nB: 2\r\n"},
		{"A: 1\r\n", "A: 1\r\n"},
		{"A: 1", "A: 1\r\n"},
		{"\r\nbody", ""},
		{"Long: " + long + "\r\n\r\nbody", "Long: " + long + "\r\n"},
		{"Long: " + strings.Repeat("y", 4090) + "\r\n\r\nb", "Long: " + strings.Repeat("y", 4090) + "\r\n"},
		{strings.Repeat("H: v\r\n", 100000), strings.Repeat("H: v\r\n", maxReturnedHeader/6) + "H: v\r\n"},
	} {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		if err := copyHeader(w, strings.NewReader(tc.in)); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got := buf.String()
		if got != tc.want && !(len(tc.in) > maxReturnedHeader && len(got) <= maxReturnedHeader+2) {
			t.Errorf("copyHeader(%.30q...) = %.60q... (%d octets), want %d octets", tc.in, got, len(got), len(tc.want))
		}
	}
}

func TestValidStatus(t *testing.T) {
	for s, want := range map[string]bool{"5.1.1": true, "4.4.7": true, "2.0.0": true, "5.123.999": true,
		"3.1.1": false, "5.1": false, "5.1.1.1": false, "x.1.1": false, "5..1": false, "5.1.1234": false, "": false} {
		if got := validStatus(s); got != want {
			t.Errorf("validStatus(%q) = %v", s, got)
		}
	}
}

func TestWantsNotify(t *testing.T) {
	for _, tc := range []struct {
		notify, kind string
		want         bool
	}{
		{"", "FAILURE", true}, {"", "SUCCESS", false}, {"", "DELAY", false},
		{"NEVER", "FAILURE", false}, {"SUCCESS", "FAILURE", false}, {"SUCCESS,FAILURE", "FAILURE", true},
		{"success, delay", "SUCCESS", true}, {"DELAY", "DELAY", true},
	} {
		if got := wantsNotify(tc.notify, tc.kind); got != tc.want {
			t.Errorf("wantsNotify(%q, %s) = %v", tc.notify, tc.kind, got)
		}
	}
}
