package imapserver

import (
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// cmdCreate implements RFC 9051 §6.3.4 with the USE parameter of RFC 6154
// §3 (CREATE-SPECIAL-USE). A trailing separator is dropped: it only
// announces that children will follow.
func (ss *session) cmdCreate(tag string, d *imapwire.Decoder) *status {
	d.SP()
	name := strings.TrimSuffix(ss.mailboxArg(d), "/")
	use := ""
	if d.Byte(' ') {
		d.Expect('(')
		if d.Word("USE") {
			d.SP()
			d.Expect('(')
			for d.Err() == nil && !d.Byte(')') {
				if use != "" {
					return no("USEATTR", "one special-use attribute per mailbox")
				}
				use = specialUse(d.Flag())
				if use == "" && d.Err() == nil {
					return no("USEATTR", "unknown special-use attribute")
				}
			}
		}
		d.Expect(')')
	}
	if !d.End() {
		return nil
	}
	if st := checkName(name); st != nil {
		return st
	}
	if name == "INBOX" {
		return no("ALREADYEXISTS", "INBOX always exists")
	}
	if err := ss.user.Create(ss.ctx, name, use); err != nil {
		return errStatus(err)
	}
	return nil
}

// specialUse returns the canonical spelling of a special-use attribute.
func specialUse(f string) string {
	for _, u := range []string{UseDrafts, UseSent, UseTrash, UseJunk, UseArchive, UseAll, UseFlagged} {
		if strings.EqualFold(f, u) {
			return u
		}
	}
	return ""
}

// cmdDelete implements RFC 9051 §6.3.5.
func (ss *session) cmdDelete(tag string, d *imapwire.Decoder) *status {
	d.SP()
	name := ss.mailboxArg(d)
	if !d.End() {
		return nil
	}
	if name == "INBOX" {
		return no("CANNOT", "INBOX cannot be deleted")
	}
	if ss.sel != nil && ss.sel.name == name {
		// Leave it first, so that no session state points at it.
		ss.unselect()
	}
	if err := ss.user.Delete(ss.ctx, name); err != nil {
		return errStatus(err)
	}
	return nil
}

// cmdRename implements RFC 9051 §6.3.6.
func (ss *session) cmdRename(tag string, d *imapwire.Decoder) *status {
	d.SP()
	from := ss.mailboxArg(d)
	d.SP()
	to := strings.TrimSuffix(ss.mailboxArg(d), "/")
	if !d.End() {
		return nil
	}
	if st := checkName(to); st != nil {
		return st
	}
	if to == "INBOX" {
		return no("ALREADYEXISTS", "INBOX always exists")
	}
	if err := ss.user.Rename(ss.ctx, from, to); err != nil {
		return errStatus(err)
	}
	return nil
}

func (ss *session) cmdSubscribe(tag string, d *imapwire.Decoder) *status {
	return ss.subscribe(d, true)
}

func (ss *session) cmdUnsubscribe(tag string, d *imapwire.Decoder) *status {
	return ss.subscribe(d, false)
}

// subscribe implements RFC 9051 §6.3.7 and §6.3.8.
func (ss *session) subscribe(d *imapwire.Decoder, on bool) *status {
	d.SP()
	name := ss.mailboxArg(d)
	if !d.End() {
		return nil
	}
	if st := checkName(name); st != nil {
		return st
	}
	if err := ss.user.SetSubscribed(ss.ctx, name, on); err != nil {
		return errStatus(err)
	}
	return nil
}

// cmdNamespace implements RFC 2342 / RFC 9051 §6.3.10: one personal
// namespace, no others.
func (ss *session) cmdNamespace(tag string, d *imapwire.Decoder) *status {
	if !d.End() {
		return nil
	}
	ss.writef("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n")
	return nil
}

// statusItems are the STATUS data items we know (RFC 9051 §6.3.11,
// RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE).
var statusItems = map[string]bool{"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true,
	"UNSEEN": true, "DELETED": true, "SIZE": true, "RECENT": true, "HIGHESTMODSEQ": true}

// statusList reads "(" item *(SP item) ")".
func statusList(d *imapwire.Decoder) []string {
	d.Expect('(')
	var items []string
	for d.Err() == nil && !d.Byte(')') {
		if len(items) > 0 {
			d.SP()
		}
		it := strings.ToUpper(d.Atom())
		if d.Err() == nil && !statusItems[it] {
			d.Fail("unknown STATUS item %s", it)
		}
		items = append(items, it)
		if len(items) > 20 {
			d.Fail("too many STATUS items")
		}
	}
	return items
}

func (ss *session) cmdStatus(tag string, d *imapwire.Decoder) *status {
	d.SP()
	name := ss.mailboxArg(d)
	d.SP()
	items := statusList(d)
	if !d.End() {
		return nil
	}
	return ss.status(name, items)
}

// status writes one STATUS response.
func (ss *session) status(name string, items []string) *status {
	st, err := ss.user.Status(ss.ctx, name)
	if err != nil {
		return errStatus(err)
	}
	b := ss.appendMailbox([]byte("* STATUS "), name)
	b = append(b, " ("...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, it...)
		b = append(b, ' ')
		switch it {
		case "MESSAGES":
			b = strconv.AppendUint(b, uint64(st.Messages), 10)
		case "UIDNEXT":
			b = strconv.AppendUint(b, uint64(st.UIDNext), 10)
		case "UIDVALIDITY":
			b = strconv.AppendUint(b, uint64(st.UIDValidity), 10)
		case "UNSEEN":
			b = strconv.AppendUint(b, uint64(st.Unseen), 10)
		case "DELETED":
			b = strconv.AppendUint(b, uint64(st.Deleted), 10)
		case "SIZE":
			b = strconv.AppendInt(b, st.Size, 10)
		case "RECENT":
			b = append(b, '0')
		case "HIGHESTMODSEQ":
			b = strconv.AppendUint(b, st.HighestModSeq, 10)
		}
	}
	b = append(b, ")\r\n"...)
	ss.write(b)
	return nil
}
