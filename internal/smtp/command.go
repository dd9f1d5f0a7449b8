package smtp

import "strings"

// Command is one command line split into its verb and argument.
type Command struct {
	Verb string // upper case: "MAIL", "RCPT", ...
	Arg  string // the rest of the line after the verb and its space, trimmed
}

// maxVerb is longer than any SMTP verb; longer words are not commands.
const maxVerb = 16

// ParseCommand splits a command line (without its CRLF) into verb and
// argument (RFC 5321 §4.1.1: verb, a space, then the argument). The verb
// is upper-cased; control characters anywhere in the line are refused so
// that a bare CR never smuggles a second command.
func ParseCommand(line []byte) (Command, error) {
	for _, c := range line {
		if c < ' ' && c != '\t' || c == 0x7f {
			return Command{}, newError(C500SyntaxError, E552SyntaxError, "Control characters not allowed in commands")
		}
	}
	s := string(line)
	verb, arg, _ := strings.Cut(s, " ")
	if verb == "" {
		return Command{}, newError(C500SyntaxError, E552SyntaxError, "Command not recognized")
	}
	if len(verb) > maxVerb {
		return Command{}, newError(C500SyntaxError, E552SyntaxError, "Command not recognized")
	}
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return Command{}, newError(C500SyntaxError, E552SyntaxError, "Command not recognized")
		}
	}
	return Command{Verb: strings.ToUpper(verb), Arg: strings.Trim(arg, " \t")}, nil
}

// MailArgs is a parsed MAIL command (RFC 5321 §4.1.1.2) with the ESMTP
// parameters posthorn knows.
type MailArgs struct {
	From     Path   // the reverse-path; null for "<>"
	Size     int64  // SIZE= (RFC 1870); 0 when absent
	Body     string // BODY= (RFC 6152, RFC 3030): "7BIT", "8BITMIME", "BINARYMIME" or ""
	SMTPUTF8 bool   // SMTPUTF8 (RFC 6531)
	Ret      string // RET= (RFC 3461 §4.3): "FULL", "HDRS" or ""
	EnvID    string // ENVID= (RFC 3461 §4.4), xtext-decoded
	Auth     string // AUTH= (RFC 4954 §5), xtext-decoded; "<>" when unknown
}

// RcptArgs is a parsed RCPT command (RFC 5321 §4.1.1.3).
type RcptArgs struct {
	To     Path   // the forward-path; Domain is "" for <postmaster>
	Notify string // NOTIFY= (RFC 3461 §4.1): "NEVER" or a comma list of SUCCESS, FAILURE, DELAY; "" when absent
	ORCPT  string // ORCPT= (RFC 3461 §4.2): "addr-type;address", the address xtext-decoded
}

// ParseMail parses the argument of MAIL: "FROM:<path> [params]". A space
// after the colon is tolerated; missing angle brackets are not. UTF-8 in
// the path is accepted only with the SMTPUTF8 parameter (RFC 6531 §3.4).
func ParseMail(arg string) (MailArgs, error) {
	rest, ok := cutPrefixFold(arg, "FROM:")
	if !ok {
		return MailArgs{}, newError(C501ParamSyntax, E554InvalidArgs, "Syntax: MAIL FROM:<address> [parameters]")
	}
	rest = strings.TrimLeft(rest, " ")
	p := pathParser{s: rest, enh: E517BadSenderSynt}
	path, err := p.parse(false)
	if err != nil {
		return MailArgs{}, err
	}
	m := MailArgs{From: path}
	params, err := splitParams(p.s[p.i:])
	if err != nil {
		return MailArgs{}, err
	}
	for _, kv := range params {
		if err := m.setParam(kv); err != nil {
			return MailArgs{}, err
		}
	}
	if p.nonASCII && !m.SMTPUTF8 {
		return MailArgs{}, newError(C553BadMailbox, E567NonASCIIAddr, "Non-ASCII address not permitted without SMTPUTF8")
	}
	return m, nil
}

// ParseRcpt parses the argument of RCPT: "TO:<path> [params]". smtputf8
// says whether the transaction's MAIL carried SMTPUTF8.
func ParseRcpt(arg string, smtputf8 bool) (RcptArgs, error) {
	rest, ok := cutPrefixFold(arg, "TO:")
	if !ok {
		return RcptArgs{}, newError(C501ParamSyntax, E554InvalidArgs, "Syntax: RCPT TO:<address> [parameters]")
	}
	rest = strings.TrimLeft(rest, " ")
	p := pathParser{s: rest, enh: E513BadDestSyntax}
	path, err := p.parse(true)
	if err != nil {
		return RcptArgs{}, err
	}
	if path.IsNull() {
		return RcptArgs{}, newError(C501ParamSyntax, E513BadDestSyntax, "Null recipient not allowed")
	}
	if p.nonASCII && !smtputf8 {
		return RcptArgs{}, newError(C553BadMailbox, E567NonASCIIAddr, "Non-ASCII address not permitted without SMTPUTF8")
	}
	r := RcptArgs{To: path}
	params, err := splitParams(p.s[p.i:])
	if err != nil {
		return RcptArgs{}, err
	}
	for _, kv := range params {
		if err := r.setParam(kv, smtputf8); err != nil {
			return RcptArgs{}, err
		}
	}
	return r, nil
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
