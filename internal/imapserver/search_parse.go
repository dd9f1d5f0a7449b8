package imapserver

import (
	"io"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
	"github.com/posthorn/posthorn/mime"
)

// searchKey is one node of a parsed search program (RFC 9051 §6.4.4).
type searchKey struct {
	op    string // upper-case key name; "AND" for a list, "SEQ" for a set
	args  []*searchKey
	str   string // string argument (UTF-8, lower-cased for matching)
	field string // HEADER field name
	num   int64  // LARGER, SMALLER, MODSEQ
	date  time.Time
	set   imapwire.SeqSet
	// resolved is set, resolved against the view once per command.
	resolved []imapwire.SeqRange
}

// maxSearchKeys bounds the keys of one SEARCH command.
const maxSearchKeys = 1000

// searchParser reads search keys, converting strings from charset.
type searchParser struct {
	d       *imapwire.Decoder
	charset string
	count   int
}

// keys reads search keys up to the end of the command or a ")".
func (p *searchParser) keys(depth int) *searchKey {
	and := &searchKey{op: "AND"}
	for p.d.Err() == nil {
		and.args = append(and.args, p.key(depth))
		if !p.d.Byte(' ') {
			break
		}
	}
	if len(and.args) == 1 {
		return and.args[0]
	}
	return and
}

// key reads one search key.
func (p *searchParser) key(depth int) *searchKey {
	d := p.d
	if p.count++; p.count > maxSearchKeys || depth > imapwire.MaxDepth {
		d.Fail("search program too large or nested too deep")
		return &searchKey{op: "ALL"}
	}
	if c := d.Peek(); c == '(' {
		d.Byte('(')
		k := p.keys(depth + 1)
		d.Expect(')')
		return k
	} else if imapwire.IsSeqSetStart(c) {
		return &searchKey{op: "SEQ", set: d.SeqSet()}
	}
	op := strings.ToUpper(d.Keyword())
	k := &searchKey{op: op}
	switch op {
	case "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
		"UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		d.SP()
		k.str = p.str()
	case "KEYWORD", "UNKEYWORD":
		d.SP()
		k.str = d.Flag()
	case "HEADER":
		d.SP()
		k.field = d.AString()
		d.SP()
		k.str = p.str()
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		d.SP()
		k.date = p.date()
	case "LARGER", "SMALLER":
		d.SP()
		k.num = int64(d.Number())
	case "UID":
		d.SP()
		k.set = d.SeqSet()
	case "NOT":
		d.SP()
		k.args = []*searchKey{p.key(depth + 1)}
	case "OR":
		d.SP()
		a := p.key(depth + 1)
		d.SP()
		k.args = []*searchKey{a, p.key(depth + 1)}
	case "MODSEQ":
		// RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence
		d.SP()
		if d.Peek() == '"' {
			_ = d.String()
			d.SP()
			d.Atom()
			d.SP()
		}
		k.num = int64(d.Number64())
	default:
		if d.Err() == nil {
			d.Fail("unknown search key %s", op)
		}
	}
	return k
}

// str reads a search string and converts it to lower-case UTF-8.
func (p *searchParser) str() string {
	s := p.d.AString()
	if p.charset != "" && p.charset != "UTF-8" && p.charset != "US-ASCII" {
		if r, err := mime.NewCharsetReader(p.charset, strings.NewReader(s)); err == nil {
			if b, err := io.ReadAll(io.LimitReader(r, 1<<20)); err == nil {
				s = string(b)
			}
		}
	}
	return strings.ToLower(s)
}

// date reads a date (RFC 9051 date: "1-Feb-2024", quoted or not).
func (p *searchParser) date() time.Time {
	var s string
	if p.d.Peek() == '"' {
		s = p.d.String()
	} else {
		s = p.d.Atom()
	}
	t, err := time.Parse("_2-Jan-2006", strings.TrimSpace(s))
	if err != nil {
		t, err = time.Parse("2-Jan-2006", s)
	}
	if err != nil && p.d.Err() == nil {
		p.d.Fail("bad date %q", s)
	}
	return t
}

// searchReq is a parsed SEARCH command.
type searchReq struct {
	ret     []string // ESEARCH RETURN options; nil: plain SEARCH
	esearch bool
	key     *searchKey
	modseq  bool // the program uses MODSEQ
}

// parseSearch reads [RETURN (...)] [CHARSET x] keys.
func parseSearch(d *imapwire.Decoder) (*searchReq, *status) {
	r := &searchReq{}
	d.SP()
	if d.Word("RETURN ") {
		r.esearch = true
		d.Expect('(')
		for d.Err() == nil && !d.Byte(')') {
			if len(r.ret) > 0 {
				d.SP()
			}
			opt := strings.ToUpper(d.Atom())
			switch opt {
			case "MIN", "MAX", "ALL", "COUNT":
			default:
				if d.Err() == nil {
					return nil, bad("unknown RETURN option %s", opt)
				}
			}
			r.ret = append(r.ret, opt)
		}
		d.SP()
	}
	p := &searchParser{d: d}
	if d.Word("CHARSET ") {
		cs := strings.ToUpper(d.AString())
		d.SP()
		if cs != "UTF-8" && cs != "US-ASCII" {
			if _, err := mime.NewCharsetReader(cs, strings.NewReader("")); err != nil {
				return nil, no("BADCHARSET (US-ASCII UTF-8)", "unsupported charset")
			}
		}
		p.charset = cs
	}
	r.key = p.keys(0)
	if !d.End() {
		return nil, nil
	}
	r.modseq = usesModSeq(r.key)
	return r, nil
}

func usesModSeq(k *searchKey) bool {
	if k.op == "MODSEQ" {
		return true
	}
	for _, a := range k.args {
		if usesModSeq(a) {
			return true
		}
	}
	return false
}
