package auth

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestCredentials(t *testing.T) {
	c, err := NewCredentials("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Hash, "$argon2id$v=19$m=7168,t=5,p=1$") {
		t.Errorf("hash %q lacks the expected parameters", c.Hash)
	}
	if c.ScramIter != 4096 || len(c.ScramSalt) != 16 || len(c.StoredKey) != 32 || len(c.ServerKey) != 32 {
		t.Errorf("SCRAM fields: %+v", c)
	}
	c2, err := NewCredentials("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash == c2.Hash || string(c.ScramSalt) == string(c2.ScramSalt) {
		t.Error("two hashes of one password share a salt")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horsE", false},
		{"", false},
		{"correct horse ", false},
		{strings.Repeat("x", 2000), false},
	} {
		if got := c.Verify(tc.pw); got != tc.want {
			t.Errorf("Verify(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
	for _, pw := range []string{"", strings.Repeat("x", 1025)} {
		if _, err := NewCredentials(pw); err == nil {
			t.Errorf("NewCredentials(%d bytes) succeeded", len(pw))
		}
	}
}

// TestScramKeysVector checks the derivation against RFC 7677 §3's example:
// user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, i=4096.
// The server signature there is HMAC(ServerKey, AuthMessage); we check
// ServerKey through it.
func TestScramKeysVector(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	stored, server, err := ScramKeys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	authMsg := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	sig := base64.StdEncoding.EncodeToString(hmacSHA256(server, authMsg))
	if sig != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("server signature %s", sig)
	}
	// ClientProof = ClientKey XOR ClientSignature; the RFC's proof lets us
	// recover ClientKey and check StoredKey = H(ClientKey).
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	csig := hmacSHA256(stored, authMsg)
	ck := make([]byte, len(proof))
	for i := range proof {
		ck[i] = proof[i] ^ csig[i]
	}
	if h := sha256Sum(ck); string(h) != string(stored) {
		t.Error("StoredKey does not match the RFC 7677 client proof")
	}
	if _, _, err := ScramKeys("x", salt, 0); err == nil {
		t.Error("iteration count 0 accepted")
	}
}

func TestParsePHC(t *testing.T) {
	good := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	if _, err := parsePHC(good); err != nil {
		t.Fatalf("parsePHC(good): %v", err)
	}
	for _, bad := range []string{
		"",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=9999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$t=2,m=19456,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0",
	} {
		if _, err := parsePHC(bad); err == nil {
			t.Errorf("parsePHC(%q) accepted", bad)
		}
		if (Credentials{Hash: bad}).Verify("x") {
			t.Errorf("Verify with hash %q succeeded", bad)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			return
		}
		if p.memory > maxArgonMemory || p.time > maxArgonTime || p.threads > maxArgonThreads || len(p.key) < 16 {
			t.Fatalf("parsePHC(%q) returned out-of-bounds %+v", s, p)
		}
	})
}

func TestDecodePlain(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		in                string
		authz, user, pass string
		ok                bool
	}{
		{"\x00tim\x00tanstaaftanstaaf", "", "tim", "tanstaaftanstaaf", true},
		{"Ursel\x00Kurt\x00xipj3plmq", "Ursel", "Kurt", "xipj3plmq", true},
		{b64("\x00tim\x00secret"), "", "tim", "secret", true},
		{b64("a\x00b\x00c") + "\r\n", "a", "b", "c", true},
		{"\x00\x00pw", "", "", "", false},
		{"\x00user\x00", "", "", "", false},
		{"user\x00pw", "", "", "", false},
		{"a\x00b\x00c\x00d", "", "", "", false},
		{"\x00us\xffer\x00pw", "", "", "", false},
		{"\x00" + strings.Repeat("u", 256) + "\x00pw", "", "", "", false},
		{"not base64!", "", "", "", false},
		{"", "", "", "", false},
		{b64("no nul here"), "", "", "", false},
	} {
		a, u, p, err := DecodePlain([]byte(tc.in))
		if (err == nil) != tc.ok || a != tc.authz || u != tc.user || p != tc.pass {
			t.Errorf("DecodePlain(%q) = %q,%q,%q,%v", tc.in, a, u, p, err)
		}
	}
}

func FuzzDecodePlain(f *testing.F) {
	f.Add([]byte("\x00tim\x00tanstaaf"))
	f.Add([]byte("AHRpbQBzZWNyZXQ="))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, u, p, err := DecodePlain(b)
		if err != nil {
			return
		}
		if u == "" || p == "" || len(a) > 255 || len(u) > 255 || len(p) > 255 {
			t.Fatalf("DecodePlain(%q) = %q,%q,%q", b, a, u, p)
		}
		if strings.ContainsRune(a+u+p, 0) {
			t.Fatalf("NUL in a field")
		}
	})
}

func TestThrottle(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	th := NewThrottle(3, time.Minute)
	th.now = func() time.Time { return now }
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	v6a := netip.MustParseAddr("2001:db8::1")
	v6b := netip.MustParseAddr("2001:db8::ffff:1") // same /64
	v6c := netip.MustParseAddr("2001:db8:0:1::1")  // another /64

	wantDelays := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, want := range wantDelays {
		if i == 3 && th.Allowed(a) {
			t.Error("allowed after 3 failures")
		}
		if got := th.Failed(a); got != want {
			t.Errorf("failure %d: delay %v, want %v", i+1, got, want)
		}
	}
	if th.Allowed(a) {
		t.Error("a allowed while over the limit")
	}
	if !th.Allowed(b) {
		t.Error("b refused for a's failures")
	}
	now = now.Add(time.Minute)
	if !th.Allowed(a) {
		t.Error("a still refused after the window")
	}
	if got := th.Failed(a); got != time.Second {
		t.Errorf("after expiry the delay restarts at 1s, got %v", got)
	}

	for range 3 {
		th.Failed(v6a)
	}
	if th.Allowed(v6b) {
		t.Error("same /64 allowed")
	}
	if !th.Allowed(v6c) {
		t.Error("other /64 refused")
	}
	if th.Allowed(netip.MustParseAddr("::ffff:192.0.2.1")) != th.Allowed(a) {
		t.Error("v4-mapped address counted apart from its v4 form")
	}
}

func TestThrottleBounded(t *testing.T) {
	th := NewThrottle(3, time.Hour)
	th.maxEntries = 1000
	for i := range 5000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		th.Failed(ip)
		if len(th.entries) > th.maxEntries {
			t.Fatalf("%d entries, limit %d", len(th.entries), th.maxEntries)
		}
	}
}

// phcFor makes a PHC string of password with the given parameters, as an
// older posthorn (or another tool) would have stored it.
func phcFor(password string, m, t uint32, p uint8) string {
	salt := []byte("sixteen byte slt")
	key := argon2.IDKey([]byte(password), salt, t, m, p, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// TestVerifyOtherParameters: hashes stored with other parameters than
// today's (m=19 MiB, t=2 before issue 3's second session) keep verifying.
func TestVerifyOtherParameters(t *testing.T) {
	for _, tc := range []struct {
		m, t uint32
		p    uint8
	}{{19456, 2, 1}, {7168, 5, 1}, {12288, 3, 1}, {8192, 1, 2}} {
		c := Credentials{Hash: phcFor("old pass", tc.m, tc.t, tc.p)}
		if !c.Verify("old pass") {
			t.Errorf("m=%d t=%d p=%d: the right password fails", tc.m, tc.t, tc.p)
		}
		if c.Verify("old pasS") {
			t.Errorf("m=%d t=%d p=%d: a wrong password verifies", tc.m, tc.t, tc.p)
		}
	}
}

// BenchmarkVerify compares a login's hash check with today's parameters
// and the previous ones; run them side by side (-count, interleaved).
func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		m, t uint32
	}{{"m=7168,t=5", argonMemory, argonTime}, {"m=19456,t=2", 19456, 2}} {
		b.Run(bc.name, func(b *testing.B) {
			c := Credentials{Hash: phcFor("secret-bob", bc.m, bc.t, 1)}
			for b.Loop() {
				if !c.Verify("secret-bob") {
					b.Fatal("no match")
				}
			}
		})
	}
}
