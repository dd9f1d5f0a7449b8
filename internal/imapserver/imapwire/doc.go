// Package imapwire is the IMAP wire format as the server sees it: reading
// one complete command (its lines and the literals between them) under
// size limits, decoding its arguments, and encoding the strings, lists and
// sequence sets of responses.
//
// Implemented: the command syntax of RFC 9051 §9 (formal syntax) and
// RFC 3501 §9, synchronizing literals, LITERAL+ and LITERAL- non-
// synchronizing literals (RFC 7888), binary literals "~{n}" (RFC 3516),
// sequence sets with "*" and "$" (RFC 5182 search result reference, parsed
// only), and modified UTF-7 mailbox names (RFC 3501 §5.1.3) for clients
// that have not enabled IMAP4rev2 or UTF8=ACCEPT.
//
// A command is read into a Line: its text, in which each literal stays as
// its "{n}" marker, and the literals' octets in order. The Decoder walks
// the text and takes the next literal when it meets a marker, so a parser
// for one command never sees the line breaks around literals.
//
// Every read is bounded: a line by Limits.MaxLine, a literal by
// Limits.MaxLiteral, the literals of one command by Limits.MaxCommand, and
// nesting of parenthesised lists by the callers (see MaxDepth).
package imapwire
