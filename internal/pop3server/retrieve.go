package pop3server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// cmdRetr sends a whole message (RFC 1939 §5).
func (ss *session) cmdRetr(arg string) error {
	i, ok := ss.message(strings.TrimSpace(arg))
	if !ok {
		return nil
	}
	return ss.send(i, -1)
}

// cmdTop sends a message's header, the blank line, and the first n lines
// of its body (RFC 1939 §7).
func (ss *session) cmdTop(arg string) error {
	f := strings.Fields(arg)
	if len(f) != 2 {
		ss.fail("usage: TOP msg lines")
		return nil
	}
	i, ok := ss.message(f[0])
	if !ok {
		return nil
	}
	n, ok := parseNumber(f[1])
	if !ok {
		ss.fail("invalid number of lines")
		return nil
	}
	return ss.send(i, n)
}

// send streams message i dot-stuffed after +OK; bodyLines < 0 sends it
// whole. A failure after +OK ends the session: the terminating "." must
// never vouch for a truncated message.
func (ss *session) send(i int, bodyLines int64) error {
	rc, err := ss.md.Open(ss.ctx, i)
	if err != nil {
		code := "[SYS/TEMP]"
		if mailerr.IsPermanent(err) {
			code = "[SYS/PERM]"
		}
		ss.failSys(code+" cannot read message "+strconv.Itoa(i+1), err)
		return nil
	}
	defer rc.Close()
	if bodyLines < 0 {
		b := append(ss.scratch[:0], "+OK "...)
		b = strconv.AppendInt(b, ss.msgs[i].Size, 10)
		ss.scratch = append(b, " octets\r\n"...)
		ss.bw.Write(ss.scratch)
	} else {
		ss.reply("+OK top of message follows")
	}
	if ss.copyBuf == nil {
		ss.copyBuf = make([]byte, copyBufSize)
	}
	n, err := copyMessage(ss.bw, rc, ss.copyBuf, bodyLines)
	ss.bytes += n
	ss.srv.m.messageSent(bodyLines < 0, n)
	if err != nil {
		return fmt.Errorf("sending message %d: %w", i+1, err)
	}
	if bodyLines < 0 {
		ss.retrieved++
		if n != ss.msgs[i].Size {
			ss.srv.log.Warn("pop3 message size differs from its listing",
				"user", ss.loggedIn, "uid", ss.msgs[i].UID, "listed", ss.msgs[i].Size, "sent", n)
		}
	}
	ss.reply(".")
	return nil
}
