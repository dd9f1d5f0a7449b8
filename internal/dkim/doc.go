// Package dkim holds posthorn's DKIM signing keys, one per local domain,
// and signs outgoing messages with them (RFC 6376, DomainKeys Identified
// Mail). The cryptography and canonicalization are
// github.com/emersion/go-msgauth's; this package chooses what to sign,
// keeps the keys on disk and bounds what a hostile message may cost.
//
// # Keys on disk
//
// Each key lives in DATA_DIR/dkim/DOMAIN.SELECTOR.key: a PEM file, mode
// 0600, PKCS#8 ("PRIVATE KEY") as written here, PKCS#1 ("RSA PRIVATE KEY")
// also accepted so that an operator may drop in a key made by openssl.
// Load makes a missing key on first start: RSA 2048 bits (RFC 8301 §3.2:
// at least 1024, and 2048 is what every large receiver verifies) with the
// selector "ph" + the UTC year and month ("ph202601"). The selector is
// part of the file name, so it survives restarts and needs no other
// state. A new file is written to a temporary name, synced, hard-linked
// to its final name (so two processes starting at once cannot both win:
// the loser reads the winner's key) and the directory synced.
//
// When several files exist for one domain the greatest selector in byte
// order wins, which for "phYYYYMM" selectors is the newest; the others are
// ignored with a warning.
//
// # Signatures
//
// Sign makes one rsa-sha256 (or ed25519-sha256, RFC 8463, for an Ed25519
// key file) signature with relaxed/relaxed canonicalization (RFC 6376
// §3.4.2, §3.4.4), because relaxed survives the whitespace changes that
// relays make. It signs the fields of SignedFields that the message has,
// each as many times as it occurs, and lists From once more than it occurs
// (oversigning, RFC 6376 §5.4.2, §8.15), so a second From added in
// transit breaks the signature. Fields the message lacks are not listed,
// so a mailing list that adds, say, Reply-To does not break it.
//
// The message is streamed once through the signer: only the header block
// (at most MaxHeaderBytes) is held. go-msgauth's relaxed body
// canonicalizer buffers a run of empty lines until the next text, so a run
// of CR and LF octets longer than MaxBlankRun is refused rather than
// buffered.
//
// Keys is immutable after Load, so Sign may be called concurrently.
//
// Left out, deliberately: verification of inbound signatures (go-msgauth's
// Verify is the tool when it is wanted), the l= body length tag (RFC 6376
// §8.2: it lets anyone append content), the x= expiry and i= identity
// tags, key rotation (publish a new key, wait for DNS, then switch: a
// later issue), and ARC (RFC 8617).
package dkim
