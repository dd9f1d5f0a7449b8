package mime

import "fmt"

// DefectKind names a way in which a message departs from the RFCs. The
// parser recovers from each of them; the defect is recorded so that a
// caller can judge the message (a spam score, a warning, a test).
type DefectKind int

const (
	DefectMboxFrom            DefectKind = iota + 1 // a leading mbox "From " line, skipped
	DefectFirstLineFolded                           // the header starts with a continuation line
	DefectBadHeaderLine                             // a header line without a colon ended the header
	DefectNoHeaderEnd                               // the header ended at a delimiter or end of input, no blank line
	DefectBadContentType                            // Content-Type unparsable; text/plain assumed
	DefectBadParameter                              // a parameter was malformed and skipped or repaired
	DefectNoBoundary                                // a multipart without a boundary parameter, kept as a leaf
	DefectNoFirstDelimiter                          // a multipart in which the boundary never occurs
	DefectNoCloseDelimiter                          // a multipart that ends without its close delimiter
	DefectBadTransferEncoding                       // an unknown Content-Transfer-Encoding, read as binary
	DefectEncodedMessage                            // a message/rfc822 part that is base64 or quoted-printable, kept as a leaf
	DefectBase64                                    // base64 with bad characters or without its padding
	DefectQuotedPrintable                           // quoted-printable with an "=" not followed by two hex digits
	DefectBareCR                                    // a CR not followed by LF in the header
)

var defectNames = [...]string{"", "mbox From line", "first header line is a continuation",
	"header line without colon", "header not ended by a blank line", "bad Content-Type",
	"bad parameter", "multipart without boundary", "multipart without first delimiter",
	"multipart without close delimiter", "unknown Content-Transfer-Encoding",
	"encoded message/rfc822", "bad base64", "bad quoted-printable", "bare CR in header"}

func (k DefectKind) String() string {
	if k > 0 && int(k) < len(defectNames) {
		return defectNames[k]
	}
	return fmt.Sprintf("defect(%d)", int(k))
}

// Defect is one departure from the RFCs, found at Offset in the message.
type Defect struct {
	Kind   DefectKind
	Offset int64
	Detail string // what was found, for a human; may be empty
}

func (d Defect) String() string {
	if d.Detail == "" {
		return fmt.Sprintf("%s at offset %d", d.Kind, d.Offset)
	}
	return fmt.Sprintf("%s at offset %d: %s", d.Kind, d.Offset, d.Detail)
}
