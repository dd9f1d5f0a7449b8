package imapserver

import (
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// lineResult is a line read while idling.
type lineResult struct {
	line []byte
	err  error
}

// cmdIdle implements RFC 2177 IDLE: changes to the selected mailbox are
// reported as they come, until the client sends DONE. The backend's change
// signal only says "look again"; the report comes from a fresh snapshot.
func (ss *session) cmdIdle(tag string, d *imapwire.Decoder) *status {
	if !d.End() {
		return nil
	}
	ss.writef("+ idling\r\n")
	if ss.sel != nil {
		ss.sync(true)
	}
	if ss.flush() != nil {
		return handled
	}
	var changes <-chan struct{}
	if ss.sel != nil {
		changes = ss.sel.mbox.Changes()
	}
	lines := make(chan lineResult, 1)
	ss.conn.SetReadDeadline(time.Now().Add(ss.srv.cfg.IdleCommandTimeout))
	ss.reading.Store(true)
	if ss.closing.Load() {
		ss.conn.SetReadDeadline(time.Now())
	}
	go func() {
		l, err := ss.rd.ReadLine()
		lines <- lineResult{l, err}
	}()
	for {
		select {
		case _, open := <-changes:
			if !open {
				changes = nil
			}
			ss.sync(true)
			if ss.flush() != nil || ss.state == stateLogout {
				// The reader goroutine ends with the connection.
				ss.conn.Close()
				<-lines
				ss.reading.Store(false)
				ss.state = stateLogout
				return handled
			}
		case r := <-lines:
			ss.reading.Store(false)
			if r.err != nil {
				if !ss.readFailed(r.err) {
					ss.state = stateLogout
					return handled
				}
				return bad("line too long")
			}
			if !strings.EqualFold(string(r.line), "DONE") {
				return bad("expected DONE")
			}
			return nil
		}
	}
}
