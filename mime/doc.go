// Package mime parses and composes Internet messages: RFC 5322 header
// fields, the MIME entities of RFC 2045 (format of bodies), RFC 2046
// (media types and the multipart tree), RFC 2047 (encoded words in
// headers), RFC 2231 (parameter continuations, charsets and languages),
// RFC 2183 (Content-Disposition) and RFC 6532 (raw UTF-8 in headers).
//
// # Parsing
//
// [Parse] reads a message once, front to back, through an [io.ReaderAt]
// and returns a tree of [Part]s. A part holds its decoded header and the
// offsets of its header and body in the message; it never holds the body.
// A body is read when it is asked for ([Part.Body], [Part.Text],
// [Part.RawBody]), streaming from the ReaderAt, so a 50 MB attachment is
// decoded with a few tens of kilobytes of buffers and an IMAP server can
// answer BODYSTRUCTURE and partial FETCH from the offsets alone. The
// buffers (8 KiB each: two for the parser, one for each decoder) come
// from a pool and go back when a parse or a body read ends, so a
// message of many parts costs its tree (each part's header and a few
// hundred bytes) and a few buffers, not buffers for every part.
//
// The parser is lenient the way a mail reader must be: real mail has an
// mbox "From " line in front, header names with spaces, a first header
// line that is a continuation, lines ending in LF only, bad parameters,
// missing close delimiters, base64 without its padding and
// quoted-printable with stray "=" signs. None of these stop the parser:
// it recovers the way common readers do and records a [Defect] on the
// part. Only the [Limits] (nesting depth, number of parts, header size
// and field count) make it fail, with an error that says which limit was
// hit (a [*LimitError], wrapped as a permanent TooBig error of posthorn's
// internal/mailerr).
//
// Offsets follow RFC 2046 section 5.1.1: the line break in front of a
// delimiter line belongs to the delimiter, so a part's body ends before
// it. Line breaks are never rewritten: a message with LF line endings
// yields bodies with LF line endings.
//
// # Composing
//
// [Builder] writes a message from a text body, an HTML alternative,
// inline images (multipart/related) and attachments. It chooses 7bit,
// quoted-printable or base64 per part, encodes non-ASCII subjects and
// display names as RFC 2047 encoded words and non-ASCII filenames with
// RFC 2231, keeps every line within 78 characters where the content
// allows and always within 998, chooses boundaries that cannot occur in
// the encoded content, and adds Date, Message-ID and MIME-Version.
//
// # Left out
//
// Decoding uuencode and BinHex bodies, S/MIME and PGP (multipart/signed is
// parsed as a tree; its signature is not checked), RFC 2231 language tags
// (parsed and dropped), message/partial reassembly, and base64 or
// quoted-printable encoded message/rfc822 parts (kept as leaves, as
// RFC 2046 section 5.2.1 forbids those encodings). Header names are kept
// as written; a name is never canonicalised.
package mime
