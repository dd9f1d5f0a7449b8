package smtp

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// param is one esmtp-param: keyword ["=" value] (RFC 5321 §4.1.2).
type param struct {
	key   string // upper case
	value string
	hasEq bool
}

// maxParams bounds the parameters on one line; real clients send a few.
const maxParams = 16

// splitParams splits the text after a path into parameters. It must be
// empty or start with a space; several spaces between parameters are
// tolerated.
func splitParams(s string) ([]param, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] != ' ' {
		return nil, newError(C501ParamSyntax, E554InvalidArgs, "Syntax: space required between address and parameters")
	}
	var out []param
	for _, f := range strings.Fields(s) {
		if len(out) == maxParams {
			return nil, newError(C501ParamSyntax, E554InvalidArgs, "Too many parameters")
		}
		key, value, hasEq := strings.Cut(f, "=")
		if !validKeyword(key) || hasEq && !validValue(value) {
			return nil, newError(C501ParamSyntax, E554InvalidArgs, "Syntax: bad parameter")
		}
		key = strings.ToUpper(key)
		for _, o := range out {
			if o.key == key {
				return nil, newError(C501ParamSyntax, E554InvalidArgs, "Duplicate parameter")
			}
		}
		out = append(out, param{key: key, value: value, hasEq: hasEq})
	}
	return out, nil
}

// validKeyword: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
func validKeyword(k string) bool {
	if k == "" || !isLetDig(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isLetDig(k[i]) && k[i] != '-' {
			return false
		}
	}
	return true
}

// validValue: esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 (RFC 6531
// §3.3). Whether UTF-8 is acceptable is the parameter's business.
func validValue(v string) bool {
	if v == "" || !utf8.ValidString(v) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 33 || c == '=' || c == 127 {
			return false
		}
	}
	return true
}

func badParam(msg string) *Error { return newError(C501ParamSyntax, E554InvalidArgs, msg) }

// unknownParam is RFC 5321 §4.1.1.11: 555 for parameters not recognized.
func unknownParam() *Error {
	return newError(C555ParamsUnknown, E554InvalidArgs, "Parameter not recognized or not implemented")
}

func (m *MailArgs) setParam(kv param) error {
	if kv.key == "SMTPUTF8" {
		if kv.hasEq {
			return badParam("SMTPUTF8 takes no value")
		}
		m.SMTPUTF8 = true
		return nil
	}
	if !kv.hasEq {
		if kv.key == "SIZE" || kv.key == "BODY" || kv.key == "RET" || kv.key == "ENVID" || kv.key == "AUTH" {
			return badParam(kv.key + " needs a value")
		}
		return unknownParam()
	}
	v := kv.value
	switch kv.key {
	case "SIZE": // RFC 1870 §5: 1*20DIGIT
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || len(v) > 20 || strings.IndexFunc(v, notDigit) >= 0 {
			return badParam("Syntax: SIZE=<number>")
		}
		m.Size = n
	case "BODY":
		switch u := strings.ToUpper(v); u {
		case "7BIT", "8BITMIME", "BINARYMIME":
			m.Body = u
		default:
			return badParam("Syntax: BODY=7BIT|8BITMIME|BINARYMIME")
		}
	case "RET":
		switch u := strings.ToUpper(v); u {
		case "FULL", "HDRS":
			m.Ret = u
		default:
			return badParam("Syntax: RET=FULL|HDRS")
		}
	case "ENVID": // RFC 3461 §4.4: at most 100 characters of xtext
		if len(v) > 100 {
			return badParam("ENVID too long")
		}
		d, err := DecodeXtext(v)
		if err != nil {
			return badParam("Syntax: ENVID must be xtext")
		}
		m.EnvID = d
	case "AUTH": // RFC 4954 §5: xtext mailbox or "<>"
		if v == "<>" {
			m.Auth = v
			return nil
		}
		d, err := DecodeXtext(v)
		if err != nil {
			return badParam("Syntax: AUTH must be xtext or <>")
		}
		m.Auth = d
	default:
		return unknownParam()
	}
	return nil
}

func notDigit(r rune) bool { return r < '0' || r > '9' }

func (r *RcptArgs) setParam(kv param, smtputf8 bool) error {
	if !kv.hasEq {
		if kv.key == "NOTIFY" || kv.key == "ORCPT" {
			return badParam(kv.key + " needs a value")
		}
		return unknownParam()
	}
	switch kv.key {
	case "NOTIFY":
		n, err := parseNotify(kv.value)
		if err != nil {
			return err
		}
		r.Notify = n
	case "ORCPT": // RFC 3461 §4.2: addr-type ";" xtext
		typ, addr, ok := strings.Cut(kv.value, ";")
		if !ok || !validKeyword(typ) {
			return badParam("Syntax: ORCPT=addr-type;address")
		}
		d, err := DecodeXtext(addr)
		if err != nil || d == "" {
			return badParam("Syntax: ORCPT address must be xtext")
		}
		if !smtputf8 && !isASCII(d) {
			return badParam("ORCPT with UTF-8 needs SMTPUTF8")
		}
		r.ORCPT = typ + ";" + d
	default:
		return unknownParam()
	}
	return nil
}

// parseNotify checks NOTIFY=NEVER / 1#(SUCCESS / FAILURE / DELAY) (RFC
// 3461 §4.1) and returns it upper case.
func parseNotify(v string) (string, error) {
	u := strings.ToUpper(v)
	if u == "NEVER" {
		return u, nil
	}
	seen := map[string]bool{}
	for _, w := range strings.Split(u, ",") {
		switch w {
		case "SUCCESS", "FAILURE", "DELAY":
			if seen[w] {
				return "", badParam("Syntax: duplicate NOTIFY value")
			}
			seen[w] = true
		default:
			return "", badParam("Syntax: NOTIFY=NEVER or SUCCESS,FAILURE,DELAY")
		}
	}
	return u, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
