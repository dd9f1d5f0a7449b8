package imapserver

import (
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// command is one entry of the command table.
type command struct {
	states state
	// run parses the arguments from d (after the command name) and
	// executes; a nil status means "OK <NAME> completed".
	run func(ss *session, tag string, d *imapwire.Decoder) *status
	// expungeOK: EXPUNGE responses may follow this command (RFC 9051
	// §7.5.1 forbids them after FETCH, STORE and SEARCH by sequence
	// number, as the client's numbers would shift under it).
	expungeOK bool
}

const (
	anyState  = stateNotAuth | stateAuth | stateSelected
	authState = stateAuth | stateSelected
)

// commands is the table of commands, by upper-case name, and the states
// that allow each (RFC 9051 §6).
var commands map[string]command

func init() {
	commands = map[string]command{
		"CAPABILITY":   {anyState, (*session).cmdCapability, true},
		"NOOP":         {anyState, (*session).cmdNoop, true},
		"LOGOUT":       {anyState, (*session).cmdLogout, true},
		"ID":           {anyState, (*session).cmdID, true},
		"STARTTLS":     {stateNotAuth, (*session).cmdStartTLS, true},
		"LOGIN":        {stateNotAuth, (*session).cmdLogin, true},
		"AUTHENTICATE": {stateNotAuth, (*session).cmdAuthenticate, true},
		"ENABLE":       {authState, (*session).cmdEnable, true},
		"SELECT":       {authState, (*session).cmdSelect, true},
		"EXAMINE":      {authState, (*session).cmdExamine, true},
		"CREATE":       {authState, (*session).cmdCreate, true},
		"DELETE":       {authState, (*session).cmdDelete, true},
		"RENAME":       {authState, (*session).cmdRename, true},
		"SUBSCRIBE":    {authState, (*session).cmdSubscribe, true},
		"UNSUBSCRIBE":  {authState, (*session).cmdUnsubscribe, true},
		"LIST":         {authState, (*session).cmdList, true},
		"LSUB":         {authState, (*session).cmdLsub, true},
		"NAMESPACE":    {authState, (*session).cmdNamespace, true},
		"STATUS":       {authState, (*session).cmdStatus, true},
		"APPEND":       {authState, (*session).cmdAppend, true},
		"IDLE":         {authState, (*session).cmdIdle, true},
		"GETQUOTA":     {authState, (*session).cmdGetQuota, true},
		"GETQUOTAROOT": {authState, (*session).cmdGetQuotaRoot, true},
		"CHECK":        {stateSelected, (*session).cmdNoop, true},
		"CLOSE":        {stateSelected, (*session).cmdClose, true},
		"UNSELECT":     {stateSelected, (*session).cmdUnselect, true},
		"EXPUNGE":      {stateSelected, (*session).cmdExpunge, true},
		"SEARCH":       {stateSelected, seqCmd((*session).cmdSearch), false},
		"FETCH":        {stateSelected, seqCmd((*session).cmdFetch), false},
		"STORE":        {stateSelected, seqCmd((*session).cmdStore), false},
		"COPY":         {stateSelected, seqCmd((*session).cmdCopy), false},
		"MOVE":         {stateSelected, seqCmd((*session).cmdMove), true},
		"UID":          {stateSelected, (*session).cmdUID, true},
	}
}

// seqCmd adapts a command that works on sequence numbers or UIDs.
func seqCmd(f func(*session, string, *imapwire.Decoder, bool) *status) func(*session, string, *imapwire.Decoder) *status {
	return func(ss *session, tag string, d *imapwire.Decoder) *status { return f(ss, tag, d, false) }
}

// uidCommands are the commands UID may prefix (RFC 9051 §6.4.9, RFC 4315
// UID EXPUNGE, RFC 6851 UID MOVE).
var uidCommands = map[string]func(*session, string, *imapwire.Decoder, bool) *status{
	"FETCH":   (*session).cmdFetch,
	"STORE":   (*session).cmdStore,
	"COPY":    (*session).cmdCopy,
	"MOVE":    (*session).cmdMove,
	"SEARCH":  (*session).cmdSearch,
	"EXPUNGE": (*session).cmdUIDExpunge,
}

func (ss *session) cmdUID(tag string, d *imapwire.Decoder) *status {
	d.SP()
	name := strings.ToUpper(d.Atom())
	if d.Err() != nil {
		return bad("missing command after UID")
	}
	f, found := uidCommands[name]
	if !found {
		return bad("unknown UID command")
	}
	if st := f(ss, tag, d, true); st != nil || d.Err() != nil {
		return st
	}
	return ok("", "UID "+name+" completed")
}

// execute parses the tag and name of line, checks the state and runs it.
func (ss *session) execute(line *imapwire.Line) {
	d := imapwire.NewDecoder(line)
	tagb := d.Atom()
	tag := string(tagb)
	if d.Err() != nil || !imapwire.ValidTag([]byte(tag)) {
		ss.errors++
		ss.writef("* BAD missing or invalid tag\r\n")
		return
	}
	d.SP()
	name := strings.ToUpper(d.Atom())
	if d.Err() != nil {
		ss.errors++
		ss.sendStatus(tag, bad("missing command"))
		return
	}
	ss.tag = tag
	cmd, found := commands[name]
	var st *status
	switch {
	case !found:
		st = bad("unknown command")
	case cmd.states&ss.state == 0:
		st = bad("%s not allowed now", name)
	default:
		st = cmd.run(ss, tag, d)
	}
	if st == nil {
		if err := d.Err(); err != nil {
			st = errStatus(err)
		} else {
			st = ok("", name+" completed")
		}
	}
	if st.kind == "BAD" {
		ss.errors++
	}
	expungeOK := cmd.expungeOK
	if name == "UID" {
		expungeOK = true
	}
	if ss.sel != nil && st.kind != "BAD" && st != handled && ss.writeErr == nil && name != "LOGOUT" {
		ss.sync(expungeOK)
	}
	ss.srv.m.command(name, st.kind)
	if st != handled {
		ss.sendStatus(tag, st)
	}
}
