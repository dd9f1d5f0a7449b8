package main

// Flags, TLS and passwords shared by the mail user agent commands
// (fetch.go, send.go).

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"
)

// muaFlags are the connection flags of send and fetch.
type muaFlags struct {
	server   string
	tls      string
	user     string
	cafile   string
	pwStdin  bool
	insecure bool
}

func (m *muaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.server, "server", "", "the server as HOST:PORT")
	fs.StringVar(&m.tls, "tls", "", "implicit, starttls or none (default: from the port)")
	fs.StringVar(&m.user, "user", "", "the login name")
	fs.StringVar(&m.cafile, "cafile", "", "PEM file of the CA to trust instead of the system roots")
	fs.BoolVar(&m.pwStdin, "password-stdin", false, "read the password from the first line of stdin")
	fs.BoolVar(&m.insecure, "insecure", false, "do not verify the server's certificate (dangerous)")
}

// tlsMode is the resolved --tls: "implicit", "starttls" or "none", and
// whether the user chose it (only an explicit "none" permits a password
// in plaintext to a remote host).
type tlsMode struct {
	mode     string
	explicit bool
}

// resolveTLS checks --server and --tls; without --tls, the ports in
// implicitPorts mean implicit TLS and any other STARTTLS.
func (m *muaFlags) resolveTLS(implicitPorts ...string) (tlsMode, error) {
	if m.server == "" {
		return tlsMode{}, usageError("--server HOST:PORT is required")
	}
	host, port, err := net.SplitHostPort(m.server)
	if err != nil || host == "" || port == "" {
		return tlsMode{}, usageError("--server %q: want HOST:PORT", m.server)
	}
	switch m.tls {
	case "implicit", "starttls", "none":
		return tlsMode{mode: m.tls, explicit: true}, nil
	case "":
		if slices.Contains(implicitPorts, port) {
			return tlsMode{mode: "implicit"}, nil
		}
		return tlsMode{mode: "starttls"}, nil
	}
	return tlsMode{}, usageError("--tls %q: want implicit, starttls or none", m.tls)
}

// tlsConfig builds the client TLS configuration: the system roots or
// --cafile, or no verification at all with --insecure (warned about).
func (m *muaFlags) tlsConfig(sio *stdio) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(m.server)
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if m.cafile != "" {
		pem, err := os.ReadFile(m.cafile)
		if err != nil {
			return nil, fmt.Errorf("--cafile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cafile %s: no PEM certificate in it", m.cafile)
		}
		cfg.RootCAs = pool
	}
	if m.insecure {
		fmt.Fprintf(sio.err, "posthorn: warning: --insecure: the certificate of %s is not verified; anyone on the path can read your password and mail\n", m.server)
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// maxPasswordLine bounds a password read from stdin.
const maxPasswordLine = 4096

// muaPassword gets the password: the first line of stdin with
// --password-stdin, else $POSTHORN_PASSWORD, else a prompt on the
// terminal. It is never taken from the command line.
func muaPassword(sio *stdio, fromStdin bool, user, server string) (string, error) {
	if fromStdin {
		return readLineRaw(sio, maxPasswordLine)
	}
	if p := sio.getenv("POSTHORN_PASSWORD"); p != "" {
		return p, nil
	}
	f, ok := sio.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError("no password: use --password-stdin, set POSTHORN_PASSWORD, or run on a terminal")
	}
	fmt.Fprintf(sio.err, "Password for %s at %s: ", user, server)
	p, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(sio.err)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return string(p), nil
}

// readLineRaw reads one line from stdin byte by byte, so nothing after
// it is consumed, and strips its line end.
func readLineRaw(sio *stdio, max int) (string, error) {
	var sb strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := sio.in.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			if sb.Len() >= max {
				return "", fmt.Errorf("password on stdin longer than %d octets", max)
			}
			sb.WriteByte(buf[0])
		}
		if err != nil {
			break
		}
	}
	p := strings.TrimSuffix(sb.String(), "\r")
	if p == "" {
		return "", errors.New("empty password on stdin")
	}
	return p, nil
}

// isTerminal reports whether w is a terminal (for the progress bar).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
