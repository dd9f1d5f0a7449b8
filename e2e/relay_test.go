package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRelayPostfix relays with a real MTA both ways on loopback (issue 4):
// Postfix (Debian's package) is the MX of example.test on peerAddr:25,
// dnsmasq serves the MX record, and posthorn (domain posthorn.test) finds
// Postfix by its own MX lookup. Not parallel: it owns the Postfix peer.
func TestRelayPostfix(t *testing.T) {
	peer := startPostfixPeer(t)
	dnsAddr := startDnsmasq(t, "example.test",
		"--mx-host=example.test,mx.example.test,10",
		"--address=/mx.example.test/"+peerAddr)
	s := newRelayServer(t, Options{Submission: true, Extra: fmt.Sprintf("[dns]\nnameservers = [%q]\n", dnsAddr)})
	sender, carol := "sender@"+relayDomain, "carol@"+relayDomain
	s.AddUser(sender, subPass)
	s.AddUser(carol, subPass)
	s.MustCLI("", "alias", "add", "fwd@"+relayDomain, "bob@example.test")

	// Postfix sends posthorn.test to posthorn's MX listener.
	transport := filepath.Join(peer.Dir, "etc", "transport")
	if err := os.WriteFile(transport, []byte(relayDomain+" smtp:["+strings.Replace(s.SMTP, ":", "]:", 1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	peer.Postconf("transport_maps = texthash:" + transport)

	t.Run("posthorn-to-postfix-by-mx", func(t *testing.T) {
		tag := runTag(t, "mx")
		logOff := peer.LogSize()
		msg := []byte("From: Sender <" + sender + ">\r\nTo: Alice <alice@example.test>\r\nSubject: relay " + tag +
			"\r\n\r\nbody of " + tag + "\r\n")
		submit(t, s, sender, subPass, "", []string{"alice@example.test"}, msg)
		got := peer.WaitMail("alice", tag)
		hdr, _, _ := bytes.Cut(got, []byte("\n\n"))
		if !bytes.Contains(hdr, []byte("DKIM-Signature:")) || !bytes.Contains(hdr, []byte("d="+relayDomain)) {
			t.Errorf("no DKIM-Signature with d=%s in the delivered header:\n%s", relayDomain, hdr)
		}
		if rcv := firstReceivedLF(got); !strings.Contains(rcv, "by peer.example.test") || !strings.Contains(rcv, "using TLS") {
			t.Errorf("Postfix's Received field does not record TLS (STARTTLS not used?):\n%s", rcv)
		}
		if !bytes.Contains(got, []byte("\nbody of "+tag+"\n")) {
			t.Errorf("body lost:\n%s", got)
		}
		// The signature must survive the trip through Postfix.
		dkimVerify(t, s, relayDomain, got)
		log := peer.LogSince(logOff)
		if !strings.Contains(log, "TLS connection established from") {
			t.Errorf("Postfix's log shows no inbound TLS session:\n%s", log)
		}
		waitQueueEmpty(t, s)
	})

	t.Run("forward-alias-to-postfix", func(t *testing.T) {
		tag := runTag(t, "fwd")
		orig := "From: Someone <someone@remote.test>\r\nTo: fwd@" + relayDomain + "\r\nSubject: forward " + tag +
			"\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + tag + "@remote.test>\r\nX-Unusual:   spacing\tkept \r\n\r\n" +
			"line one " + tag + "\r\n..leading dot\r\n\r\n  indented  \r\nlast\r\n"
		mustSend(t, s.SMTP, "someone@remote.test", []string{"fwd@" + relayDomain}, []byte(orig))
		got := peer.WaitMail("bob", tag)
		// Postfix stores LF; the forwarded message must hold the original
		// header and body byte for byte below the trace fields. (The
		// original has a Date: Postfix's cleanup would add a missing one.)
		want := strings.ReplaceAll(orig, "\r\n", "\n")
		if !bytes.HasSuffix(got, []byte(want)) {
			t.Errorf("forwarded message is not intact; want it to end with\n%q\ngot\n%q", want, got)
		}
		if !bytes.HasPrefix(got, []byte("Return-Path: <someone@remote.test>\n")) {
			t.Errorf("envelope sender changed by forwarding:\n%s", head(got, 300))
		}
		waitQueueEmpty(t, s)
	})

	t.Run("postfix-to-posthorn", func(t *testing.T) {
		tag := runTag(t, "in")
		logOff := peer.LogSize()
		msg := []byte("From: Alice <alice@example.test>\r\nTo: Carol <" + carol + ">\r\nSubject: inbound " + tag +
			"\r\n\r\nbody of " + tag + "\r\n")
		// Injected over SMTP into Postfix (mynetworks lets 127/8 relay).
		mustSend(t, peerAddr+":25", "alice@example.test", []string{carol}, msg)
		var got []byte
		waitFor(t, waitTimeout, "message "+tag+" in posthorn's mailbox of "+carol, func() (bool, string) {
			msgs, err := FetchAll(s.POP3, carol, subPass, false)
			if err != nil {
				return false, err.Error()
			}
			for _, m := range msgs {
				if bytes.Contains(m.Data, []byte(tag)) {
					got = m.Data
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d messages", len(msgs))
		})
		if !receivedSays(got, "ESMTPS") {
			t.Errorf("posthorn's Received field does not record TLS from Postfix:\n%s", head(got, 800))
		}
		if !bytes.Contains(got, []byte("Return-Path: <alice@example.test>\r\n")) || !bytes.HasSuffix(got, msg[bytes.Index(msg, []byte("\r\n\r\n")):]) {
			t.Errorf("delivered copy lacks the envelope sender or the body:\n%s", head(got, 1500))
		}
		waitFor(t, waitTimeout, "Postfix logs the delivery to posthorn", func() (bool, string) {
			log := peer.LogSince(logOff)
			return strings.Contains(log, "status=sent") && strings.Contains(log, "relay=127.0.0.1"), log
		})
		if log := peer.LogSince(logOff); !strings.Contains(log, "TLS connection established to 127.0.0.1") {
			t.Errorf("Postfix's log shows no outbound TLS session to posthorn:\n%s", log)
		}
	})
}

// firstReceivedLF returns the first Received field of a message with LF
// line ends, unfolded lines included.
func firstReceivedLF(msg []byte) string {
	lines := strings.Split(string(msg), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(strings.ToLower(l), "received:") {
			continue
		}
		f := l
		for _, c := range lines[i+1:] {
			if c == "" || (c[0] != ' ' && c[0] != '\t') {
				break
			}
			f += "\n" + c
		}
		return f
	}
	return ""
}
