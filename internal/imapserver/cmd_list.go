package imapserver

import (
	"slices"
	"sort"
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// listOpts are the LIST-EXTENDED selection and return options (RFC 5258,
// RFC 6154, RFC 5819 LIST-STATUS).
type listOpts struct {
	subscribed bool // selection SUBSCRIBED
	recursive  bool // RECURSIVEMATCH
	specialUse bool // selection SPECIAL-USE
	retSub     bool // return SUBSCRIBED
	status     []string
	lsub       bool
}

// cmdList implements RFC 9051 §6.3.9 with LIST-EXTENDED.
func (ss *session) cmdList(tag string, d *imapwire.Decoder) *status {
	var o listOpts
	d.SP()
	if d.Byte('(') {
		for d.Err() == nil && !d.Byte(')') {
			d.Byte(' ')
			switch strings.ToUpper(d.Atom()) {
			case "SUBSCRIBED":
				o.subscribed, o.retSub = true, true
			case "RECURSIVEMATCH":
				o.recursive = true
			case "SPECIAL-USE":
				o.specialUse = true
			case "REMOTE":
			default:
				if d.Err() == nil {
					return bad("unknown LIST selection option")
				}
			}
		}
		d.SP()
	}
	ref := ss.mailboxPatternArg(d)
	d.SP()
	var patterns []string
	if d.Byte('(') {
		for d.Err() == nil && !d.Byte(')') {
			if len(patterns) > 0 {
				d.SP()
			}
			patterns = append(patterns, ss.mailboxPatternArg(d))
			if len(patterns) > 50 {
				return bad("too many patterns")
			}
		}
	} else {
		patterns = append(patterns, ss.mailboxPatternArg(d))
	}
	if d.Byte(' ') {
		ss.listReturn(d, &o)
	}
	if !d.End() {
		return nil
	}
	if o.recursive && !o.subscribed {
		return bad("RECURSIVEMATCH needs another selection option")
	}
	return ss.list(ref, patterns, o)
}

// listReturn parses "RETURN (" options ")".
func (ss *session) listReturn(d *imapwire.Decoder, o *listOpts) {
	if !d.Word("RETURN") {
		d.Fail("expected RETURN")
		return
	}
	d.SP()
	d.Expect('(')
	for d.Err() == nil && !d.Byte(')') {
		d.Byte(' ')
		switch strings.ToUpper(d.Atom()) {
		case "SUBSCRIBED":
			o.retSub = true
		case "CHILDREN", "SPECIAL-USE":
			// Always returned.
		case "STATUS":
			d.SP()
			o.status = statusList(d)
		default:
			d.Fail("unknown LIST return option")
		}
	}
}

func (ss *session) mailboxPatternArg(d *imapwire.Decoder) string {
	raw := d.ListMailbox()
	if !ss.rev2 {
		if dec, err := imapwire.DecodeUTF7(raw); err == nil {
			return dec
		}
	}
	return raw
}

// cmdLsub implements RFC 3501 §6.3.9 (deprecated in IMAP4rev2).
func (ss *session) cmdLsub(tag string, d *imapwire.Decoder) *status {
	d.SP()
	ref := ss.mailboxPatternArg(d)
	d.SP()
	pat := ss.mailboxPatternArg(d)
	if !d.End() {
		return nil
	}
	return ss.list(ref, []string{pat}, listOpts{subscribed: true, lsub: true})
}

// listEntry is one line of a LIST reply.
type listEntry struct {
	name  string
	attrs []string
	info  *MailboxInfo
}

// list writes the LIST (or LSUB) responses.
func (ss *session) list(ref string, patterns []string, o listOpts) *status {
	if len(patterns) == 1 && patterns[0] == "" && !o.lsub {
		// RFC 9051 §6.3.9: the separator and root of the reference.
		ss.writef("* LIST (\\Noselect) \"/\" \"\"\r\n")
		return nil
	}
	boxes, err := ss.user.Mailboxes(ss.ctx)
	if err != nil {
		return errStatus(err)
	}
	for i := range patterns {
		if ref != "" && !strings.HasPrefix(patterns[i], "/") {
			r := ref
			if !strings.HasSuffix(r, "/") {
				r += "/"
			}
			patterns[i] = r + patterns[i]
		}
		patterns[i] = canonicalName(patterns[i])
	}
	entries := ss.listEntries(boxes, patterns, o)
	for _, e := range entries {
		b := []byte("* LIST ")
		if o.lsub {
			b = []byte("* LSUB ")
		}
		b = appendFlags(b, e.attrs)
		b = append(b, " \"/\" "...)
		b = ss.appendMailbox(b, e.name)
		b = append(b, "\r\n"...)
		ss.write(b)
		if o.status != nil && e.info != nil && !e.info.NonExistent && !e.info.NoSelect {
			ss.status(e.name, o.status)
		}
	}
	return nil
}

// listEntries selects and describes the mailboxes that match.
func (ss *session) listEntries(boxes []MailboxInfo, patterns []string, o listOpts) []listEntry {
	byName := make(map[string]*MailboxInfo, len(boxes))
	for i := range boxes {
		byName[boxes[i].Name] = &boxes[i]
	}
	hasChild := make(map[string]bool)
	for _, b := range boxes {
		for p := parentOf(b.Name); p != ""; p = parentOf(p) {
			if !b.NonExistent {
				hasChild[p] = true
			}
		}
	}
	matches := func(name string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return match(p, name) })
	}
	seen := make(map[string]bool)
	var out []listEntry
	add := func(name string, info *MailboxInfo) {
		if seen[name] {
			return
		}
		seen[name] = true
		out = append(out, listEntry{name: name, info: info, attrs: ss.listAttrs(name, info, hasChild[name], o)})
	}
	for i := range boxes {
		b := &boxes[i]
		switch {
		case o.subscribed && !b.Subscribed:
		case !o.subscribed && b.NonExistent:
		case o.specialUse && b.SpecialUse == "":
		case matches(b.Name):
			add(b.Name, b)
		}
		// A parent that does not exist is shown when it matches and its
		// child does not (a "%" pattern), so that the client can walk the
		// tree (RFC 9051 §6.3.9, RFC 5258 §3).
		if o.specialUse || matches(b.Name) || o.subscribed && !b.Subscribed {
			continue
		}
		for p := parentOf(b.Name); p != ""; p = parentOf(p) {
			if byName[p] == nil && matches(p) {
				add(p, nil)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].name == "INBOX") != (out[j].name == "INBOX") {
			return out[i].name == "INBOX"
		}
		return out[i].name < out[j].name
	})
	return out
}

// listAttrs returns the mailbox attributes of one LIST line.
func (ss *session) listAttrs(name string, info *MailboxInfo, hasChild bool, o listOpts) []string {
	var a []string
	switch {
	case info == nil && (o.lsub || !ss.rev2):
		// A placeholder parent: LSUB and IMAP4rev1 know only \Noselect.
		a = append(a, `\Noselect`)
	case info == nil || info.NonExistent && !o.lsub:
		a = append(a, `\NonExistent`)
	case info.NoSelect:
		a = append(a, `\Noselect`)
	}
	if !o.lsub {
		if hasChild {
			a = append(a, `\HasChildren`)
		} else if info != nil && !info.NonExistent {
			a = append(a, `\HasNoChildren`)
		}
	}
	if info != nil && info.Subscribed && o.retSub && !o.lsub {
		a = append(a, `\Subscribed`)
	}
	if info != nil && info.SpecialUse != "" && !o.lsub {
		a = append(a, info.SpecialUse)
	}
	return a
}

// parentOf returns the parent of a name, "" at the top.
func parentOf(name string) string {
	i := strings.LastIndexByte(name, sep)
	if i <= 0 {
		return ""
	}
	return name[:i]
}
