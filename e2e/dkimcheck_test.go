package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DKIM verification of relayed mail by an independent implementation:
// dkimpy (Debian's python3-dkim) through py/dkim_verify.py, with the
// public key taken from the server's key file instead of DNS.

// dkimPython returns a python3 that can import dkim: the first python3
// on PATH (a pyenv one may lack Debian's packages), else /usr/bin/python3.
func dkimPython(t testing.TB) string {
	t.Helper()
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	for _, p := range cands {
		ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
		err := exec.CommandContext(ctx, p, "-c", "import dkim").Run()
		cancel()
		if err == nil {
			return p
		}
	}
	skipOrFail(t, "no python3 with the dkim module (apt-get install python3-dkim); tried %v", cands)
	return ""
}

// dkimRecords returns the DKIM TXT records of the server's keys for
// domain: SELECTOR._domainkey.DOMAIN → "v=DKIM1; k=...; p=...".
func dkimRecords(t testing.TB, s *Server, domain string) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.DataDir, "dkim", domain+".*.key"))
	if len(files) == 0 {
		t.Fatalf("no DKIM key file for %s in %s", domain, filepath.Join(s.DataDir, "dkim"))
	}
	recs := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("%s: no PEM block", f)
		}
		var key any
		if key, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
			if key, err = x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		var k, p string
		switch pk := key.(crypto.Signer).Public().(type) {
		case *rsa.PublicKey:
			der, err := x509.MarshalPKIXPublicKey(pk)
			if err != nil {
				t.Fatal(err)
			}
			k, p = "rsa", base64.StdEncoding.EncodeToString(der)
		case ed25519.PublicKey:
			k, p = "ed25519", base64.StdEncoding.EncodeToString(pk)
		default:
			t.Fatalf("%s: key type %T", f, pk)
		}
		sel := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), domain+"."), ".key")
		recs[sel+"._domainkey."+domain] = "v=DKIM1; k=" + k + "; p=" + p
	}
	return recs
}

// dkimVerify checks the message's first DKIM-Signature (msg with CRLF or
// LF line ends) against the server's keys for domain.
func dkimVerify(t testing.TB, s *Server, domain string, msg []byte) {
	t.Helper()
	py := dkimPython(t)
	crlf := lfToCRLF(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	req, err := json.Marshal(map[string]any{"data_b64": base64.StdEncoding.EncodeToString(crlf), "txt": dkimRecords(t, s, domain)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join(binary.root, "e2e", "py", "dkim_verify.py"))
	cmd.Stdin = bytes.NewReader(req)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("dkim_verify.py: %v\n%s", err, errb.String())
	}
	var res struct {
		OK         bool   `json:"ok"`
		Signatures int    `json:"signatures"`
		Log        string `json:"log"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("dkim_verify.py: bad JSON %q: %v", out.String(), err)
	}
	if res.Signatures == 0 || !res.OK {
		t.Errorf("DKIM signature of %s does not verify (dkimpy; %d signature(s)):\n%s\nmessage:\n%s",
			domain, res.Signatures, res.Log, head(crlf, 3000))
	}
}
