package pop3server

import (
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// cmdStat answers "+OK count octets" over messages not deleted (RFC 1939
// §5).
func (ss *session) cmdStat(arg string) error {
	if !noArgs(arg) {
		ss.fail("STAT takes no argument")
		return nil
	}
	ss.reply("+OK " + strconv.Itoa(ss.live) + " " + strconv.FormatInt(ss.liveSize, 10))
	return nil
}

// cmdList gives the size of one message, or a listing of all not
// deleted (RFC 1939 §5).
func (ss *session) cmdList(arg string) error {
	if arg = strings.TrimSpace(arg); arg != "" {
		if i, ok := ss.message(arg); ok {
			ss.reply("+OK " + strconv.Itoa(i+1) + " " + strconv.FormatInt(ss.msgs[i].Size, 10))
		}
		return nil
	}
	ss.reply("+OK " + ss.summary())
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			ss.listLine(i+1, m.Size)
		}
	}
	ss.reply(".")
	return nil
}

// cmdUidl gives the unique-id of one message, or of all not deleted
// (RFC 1939 §7).
func (ss *session) cmdUidl(arg string) error {
	if arg = strings.TrimSpace(arg); arg != "" {
		if i, ok := ss.message(arg); ok {
			ss.reply("+OK " + strconv.Itoa(i+1) + " " + ss.msgs[i].UID)
		}
		return nil
	}
	ss.reply("+OK unique-id listing follows")
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			ss.uidLine(i+1, m.UID)
		}
	}
	ss.reply(".")
	return nil
}

// cmdDele marks a message deleted; it goes only in the UPDATE state
// (RFC 1939 §5).
func (ss *session) cmdDele(arg string) error {
	i, ok := ss.message(strings.TrimSpace(arg))
	if !ok {
		return nil
	}
	ss.deleted[i] = true
	ss.ndeleted++
	ss.live--
	ss.liveSize -= ss.msgs[i].Size
	ss.reply("+OK message " + strconv.Itoa(i+1) + " deleted")
	return nil
}

// cmdNoop does nothing (RFC 1939 §5).
func (ss *session) cmdNoop(arg string) error {
	if !noArgs(arg) {
		ss.fail("NOOP takes no argument")
		return nil
	}
	ss.reply("+OK")
	return nil
}

// cmdRset unmarks every deleted message (RFC 1939 §5).
func (ss *session) cmdRset(arg string) error {
	if !noArgs(arg) {
		ss.fail("RSET takes no argument")
		return nil
	}
	clear(ss.deleted)
	ss.ndeleted = 0
	ss.live = len(ss.msgs)
	ss.liveSize = 0
	for _, m := range ss.msgs {
		ss.liveSize += m.Size
	}
	ss.reply("+OK maildrop has " + ss.summary())
	return nil
}

// cmdQuit ends the session. In the TRANSACTION state it enters UPDATE
// (RFC 1939 §6): the deletions are committed at once, all or none, and
// only then is +OK sent.
func (ss *session) cmdQuit(arg string) error {
	if !noArgs(arg) {
		ss.fail("QUIT takes no argument")
		return nil
	}
	ss.quit = true
	signoff := "+OK " + ss.name() + " POP3 server signing off"
	if ss.state != stateTransaction {
		ss.reply(signoff)
		return nil
	}
	ss.state = stateUpdate
	if ss.ndeleted > 0 {
		idx := make([]int, 0, ss.ndeleted)
		for i, d := range ss.deleted {
			if d {
				idx = append(idx, i)
			}
		}
		if err := ss.md.Commit(ss.ctx, idx); err != nil {
			code := "[SYS/TEMP]"
			if mailerr.IsPermanent(err) {
				code = "[SYS/PERM]"
			}
			ss.failSys(code+" some deleted messages not removed", err)
			return nil
		}
		ss.committed = len(idx)
		ss.srv.m.messagesDeleted(len(idx))
	}
	// Release the maildrop lock before the sign-off: a client that logs
	// in again (possibly on another node) right after +OK must not find
	// the maildrop still in use.
	if err := ss.md.Close(); err != nil {
		ss.srv.log.Warn("pop3 maildrop close", "user", ss.loggedIn, "err", err)
	}
	ss.md = nil
	ss.reply(signoff + " (" + strconv.Itoa(ss.committed) + " messages deleted)")
	return nil
}

// name is the server's name for the sign-off line.
func (ss *session) name() string {
	if h := ss.srv.cfg.Hostname; h != "" {
		return h
	}
	return "posthorn"
}
