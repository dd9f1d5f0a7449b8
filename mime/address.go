package mime

import (
	"errors"
	"fmt"
	"strings"
)

// Address is one mailbox: a display name (decoded, "" when absent) and
// an addr-spec.
type Address struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// String formats the address for a header field: the display name as
// an atom sequence, a quoted string or RFC 2047 encoded words, as needed.
func (a Address) String() string {
	if a.Name == "" {
		return a.Address
	}
	return formatPhrase(a.Name) + " <" + a.Address + ">"
}

// formatPhrase writes a display name so that it parses back unchanged.
func formatPhrase(name string) string {
	if needsEncoding(name) {
		return encodeWords(name, true)
	}
	if hasLongWord(name) {
		return encodeLong(name, true)
	}
	for i := 0; i < len(name); i++ {
		if !isAtext(name[i]) && name[i] != ' ' {
			return quoteString(name)
		}
	}
	if strings.HasPrefix(name, " ") || strings.HasSuffix(name, " ") || strings.Contains(name, "  ") {
		return quoteString(name)
	}
	return name
}

func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// isAtext reports whether c may stand in an atom (RFC 5322 3.2.3).
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// ErrBadAddress reports an address list that could be read only in part.
var ErrBadAddress = errors.New("mime: malformed address")

// ParseAddressList parses an address-list (RFC 5322 section 3.4) with
// its obsolete forms and the common mistakes: group members are listed
// as mailboxes; display names are decoded (RFC 2047, also inside
// quotes); a comment stands for a missing display name; route addresses
// lose their route; "Doe, John <j@x>" is one mailbox; a missing ">" or
// ";" is supplied. Whatever could be read is returned, with an error
// wrapping ErrBadAddress that names the first problem.
func ParseAddressList(s string) ([]Address, error) {
	items, bad := splitAddressList(s)
	out := make([]Address, 0, len(items))
	for i := 0; i < len(items); i++ {
		it := items[i]
		if strings.TrimSpace(it) == "" {
			continue
		}
		// "Doe, John <j@x>": a bare word list joined to the next item.
		if !strings.ContainsAny(it, "@<") && i+1 < len(items) && startsWithPhraseAngle(items[i+1]) {
			items[i+1] = strings.TrimSpace(it) + ", " + strings.TrimLeft(items[i+1], " \t")
			continue
		}
		a, problem := parseMailbox(it)
		if problem != "" && bad == "" {
			bad = problem
		}
		if a.Address != "" || a.Name != "" {
			out = append(out, a)
		}
	}
	if bad != "" {
		return out, fmt.Errorf("%w: %s", ErrBadAddress, bad)
	}
	return out, nil
}

// startsWithPhraseAngle reports whether s is "phrase <addr>", the second
// half of a display name split at an unquoted comma.
func startsWithPhraseAngle(s string) bool {
	lt := indexTop(s, '<')
	at := indexTop(s, '@')
	return lt > 0 && (at < 0 || at > lt) && strings.TrimSpace(s[:lt]) != "" && !strings.Contains(s[:lt], "\"")
}

// splitAddressList splits s at top-level commas, unpacking groups into
// their members.
func splitAddressList(s string) (items []string, bad string) {
	var inQuote, inAngle bool
	depth, start := 0, 0
	inGroup, sawAt := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (inQuote || depth > 0):
			i++
		case inQuote:
			inQuote = c != '"'
		case c == '(':
			depth++
		case depth > 0:
			if c == ')' {
				depth--
			}
		case c == '"':
			inQuote = true
		case c == '<':
			inAngle, sawAt = true, true
		case c == '>':
			inAngle = false
		case inAngle:
		case c == '@':
			sawAt = true
		case c == ':' && !inGroup && !sawAt:
			inGroup, start = true, i+1 // the group's name is dropped
		case c == ';' && inGroup:
			items = append(items, s[start:i])
			inGroup, start, sawAt = false, i+1, false
		case c == ',':
			items = append(items, s[start:i])
			start, sawAt = i+1, false
		}
	}
	if inQuote || depth > 0 {
		bad = "unterminated quoted string or comment"
	}
	if inGroup {
		bad = "group without ';'"
	}
	items = append(items, s[start:])
	return items, bad
}

// parseMailbox reads "phrase <addr>" or "addr (comment)".
func parseMailbox(s string) (Address, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, ""
	}
	if lt := indexTop(s, '<'); lt >= 0 {
		rest := s[lt+1:]
		problem := ""
		gt := strings.IndexByte(rest, '>')
		if gt < 0 {
			gt, problem = len(rest), "missing '>'"
		}
		addr := cleanAddrSpec(rest[:gt])
		name := decodePhrase(s[:lt])
		if name == "" {
			name = decodePhrase(commentText(rest[min(gt+1, len(rest)):]))
		}
		if addr == "" && problem == "" {
			problem = "empty angle address"
		}
		return Address{Name: name, Address: addr}, problem
	}
	addr := cleanAddrSpec(s)
	name := decodePhrase(commentText(s))
	problem := ""
	if !strings.Contains(addr, "@") {
		problem = fmt.Sprintf("no '@' in %q", addr)
	}
	return Address{Name: name, Address: addr}, problem
}

// indexTop finds c outside quoted strings and comments.
func indexTop(s string, c byte) int {
	inQuote, depth := false, 0
	for i := 0; i < len(s); i++ {
		switch x := s[i]; {
		case x == '\\' && (inQuote || depth > 0):
			i++
		case inQuote:
			inQuote = x != '"'
		case x == '(':
			depth++
		case depth > 0:
			if x == ')' {
				depth--
			}
		case x == '"':
			inQuote = true
		case x == c:
			return i
		}
	}
	return -1
}

// cleanAddrSpec removes comments, white space outside quotes and an
// obsolete route ("@a,@b:") from an addr-spec.
func cleanAddrSpec(s string) string {
	s = stripComments(s)
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.HasPrefix(strings.TrimSpace(s), "@") {
		s = s[i+1:]
	}
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote && c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			i++
			c = s[i]
		case !inQuote && (c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			continue
		}
		b.WriteByte(c)
	}
	return fix8bit(unquoteLocal(b.String()))
}

// unquoteLocal drops the quotes of a quoted local part that does not
// need them ("john"@x is john@x).
func unquoteLocal(a string) string {
	if !strings.HasPrefix(a, "\"") {
		return a
	}
	at := strings.LastIndexByte(a, '@')
	if at < 2 || a[at-1] != '"' {
		return a
	}
	local := a[1 : at-1]
	for i := 0; i < len(local); i++ {
		if !isAtext(local[i]) && local[i] != '.' {
			return a
		}
	}
	if local == "" || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return a
	}
	return local + a[at:]
}

// commentText is the text of the first comment in s outside quoted
// strings, "" if none.
func commentText(s string) string {
	inQuote, depth, start := false, 0, -1
	for j := 0; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\\':
			j++
		case inQuote:
			inQuote = c != '"'
		case c == '"' && depth == 0:
			inQuote = true
		case c == '(':
			if depth == 0 {
				start = j + 1
			}
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				return s[start:j]
			}
		}
	}
	if start >= 0 {
		return s[start:]
	}
	return ""
}

// decodePhrase turns a display name into text: quotes and escapes
// removed, comments dropped, white space collapsed, encoded words
// decoded.
func decodePhrase(s string) string {
	s = strings.TrimSpace(stripComments(s))
	if s == "" {
		return ""
	}
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == '\\' && inQuote && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '\r' || c == '\n':
		case (c == ' ' || c == '\t') && !inQuote:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
				b.WriteByte(' ')
			}
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(DecodeText(b.String()))
}
