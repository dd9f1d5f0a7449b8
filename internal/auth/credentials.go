package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/secure/precis"
)

// Argon2id parameters for new hashes (RFC 9106): m=7 MiB, t=5, p=1, one
// of the five settings the OWASP Password Storage Cheat Sheet gives as
// its minimum, which it rates as equal in defence (m=46 MiB t=1, 19/2,
// 12/3, 9/4, 7/5: the same memory-time product). Of those this one costs
// the least CPU here, about three quarters of m=19 MiB t=2's (less memory
// to allocate, zero and stream through the caches; measured in
// docs/performance.md, issue 3 session 2), and 7 MiB per login instead
// of 19. Hashes made with other parameters keep verifying: each PHC
// string carries its own.
const (
	argonMemory  = 7 * 1024 // KiB
	argonTime    = 5
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16

	// ScramIterations is the PBKDF2 iteration count of new SCRAM-SHA-256
	// credentials (RFC 7677 §4 recommends at least 4096).
	ScramIterations = 4096

	// Limits when parsing a stored hash: a hostile or corrupt row must not
	// make us allocate gigabytes or spin for minutes.
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	maxPasswordLen  = 1024
)

// argonSlots bounds concurrent argon2 computations process-wide. It is the
// package's one piece of shared state, on purpose: the memory it protects
// is the process's, and Verify's signature has no place to carry a limiter.
var argonSlots = make(chan struct{}, min(4, max(1, runtime.NumCPU())))

// Credentials is what the store keeps of a password: never the password.
type Credentials struct {
	Hash      string // PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
	ScramSalt []byte // SCRAM-SHA-256 (RFC 5802, RFC 7677)
	ScramIter int
	StoredKey []byte
	ServerKey []byte
}

// ErrPasswordTooLong is returned for passwords over 1024 bytes; longer ones
// are only a way to make hashing expensive.
var ErrPasswordTooLong = errors.New("auth: password longer than 1024 bytes")

// NewCredentials hashes password with argon2id and derives SCRAM-SHA-256
// keys, each with its own random salt.
func NewCredentials(password string) (Credentials, error) {
	if password == "" {
		return Credentials{}, errors.New("auth: empty password")
	}
	if len(password) > maxPasswordLen {
		return Credentials{}, ErrPasswordTooLong
	}
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand, Go 1.24+)
	key := argonKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	hash := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))

	scramSalt := make([]byte, saltLen)
	rand.Read(scramSalt)
	stored, server, err := ScramKeys(password, scramSalt, ScramIterations)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Hash: hash, ScramSalt: scramSalt, ScramIter: ScramIterations,
		StoredKey: stored, ServerKey: server}, nil
}

// Verify reports whether password matches the argon2id hash, comparing in
// constant time. A malformed hash never matches.
func (c Credentials) Verify(password string) bool {
	if len(password) > maxPasswordLen {
		return false
	}
	p, err := parsePHC(c.Hash)
	if err != nil {
		return false
	}
	key := argonKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

// argonKey runs argon2id inside a slot of argonSlots.
func argonKey(pw, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	return argon2.IDKey(pw, salt, t, m, p, n)
}

// ScramKeys derives the SCRAM-SHA-256 StoredKey and ServerKey
// (RFC 5802 §3): SaltedPassword := Hi(Normalize(password), salt, i),
// StoredKey := H(HMAC(SaltedPassword, "Client Key")),
// ServerKey := HMAC(SaltedPassword, "Server Key").
func ScramKeys(password string, salt []byte, iter int) (storedKey, serverKey []byte, err error) {
	if iter < 1 || iter > 1_000_000 {
		return nil, nil, fmt.Errorf("auth: SCRAM iteration count %d out of range", iter)
	}
	norm, err := precis.OpaqueString.String(password)
	if err != nil {
		// RFC 8265 rejects some strings (control characters); hashing the
		// raw bytes keeps such passwords usable with PLAIN, and SCRAM
		// clients that cannot prepare them fail anyway.
		norm = password
	}
	salted, err := pbkdf2.Key(sha256.New, norm, salt, iter, sha256.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: SCRAM key derivation: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], hmacSHA256(salted, "Server Key"), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash" (the PHC string
// format), bounding every parameter.
func parsePHC(s string) (phc, error) {
	var p phc
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, errors.New("auth: not an argon2id PHC string")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("auth: unsupported argon2 version %q", f[2])
	}
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return p, errors.New("auth: argon2 parameters must be m,t,p")
	}
	want := [3]struct {
		name string
		max  uint64
	}{{"m", maxArgonMemory}, {"t", maxArgonTime}, {"p", maxArgonThreads}}
	var vals [3]uint64
	for i, kv := range params {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name != want[i].name {
			return p, fmt.Errorf("auth: argon2 parameter %q", kv)
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil || n < 1 || n > want[i].max {
			return p, fmt.Errorf("auth: argon2 parameter %q out of range", kv)
		}
		vals[i] = n
	}
	p.memory, p.time, p.threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	var err error
	b64 := base64.RawStdEncoding
	if len(f[4]) > 128 || len(f[5]) > 128 {
		return p, errors.New("auth: argon2 salt or hash too long")
	}
	if p.salt, err = b64.DecodeString(f[4]); err != nil || len(p.salt) < 8 {
		return p, errors.New("auth: bad argon2 salt")
	}
	if p.key, err = b64.DecodeString(f[5]); err != nil || len(p.key) < 16 {
		return p, errors.New("auth: bad argon2 hash")
	}
	return p, nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
