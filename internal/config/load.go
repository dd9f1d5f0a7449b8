package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// MaxFileSize bounds a configuration file; a real one is a few KiB.
const MaxFileSize = 1 << 20

// DefaultFile is the file Find uses when none is named and it exists in
// the working directory.
const DefaultFile = "posthorn.toml"

// Load reads, decodes and validates the configuration file at path.
//
// The file is a complete configuration: keys it leaves out take their
// documented defaults (limits, queue, store, smtp, pop3), but a listener
// it does not list is off and domains must be given. Every error is an
// *Error naming the file, line and key.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read configuration: " + err.Error(), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read configuration: " + err.Error(), Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
	}
	return Parse(path, data)
}

// Find returns the configuration a command uses: the explicit file if
// one is named, else ./posthorn.toml if it exists, else Default().
func Find(explicit string) (*Config, error) {
	if explicit != "" {
		return Load(explicit)
	}
	if _, err := os.Stat(DefaultFile); err == nil {
		return Load(DefaultFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: DefaultFile, Msg: "cannot read configuration: " + err.Error(), Err: err}
	}
	return Default(), nil
}

// Parse decodes and validates a configuration document. path names it in
// errors and anchors relative paths; it is not read. Load is Parse of a
// file's bytes; tests and the end-to-end harness may call Parse directly.
func Parse(path string, data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
	}
	c := baseDefaults()
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, decodeError(path, err)
	}
	idx := indexKeys(data)
	if err := idx.checkDurationKinds(path); err != nil {
		return nil, err
	}
	c.Path = path
	c.normalize()
	c.resolvePaths(filepath.Dir(path))
	if problems := c.check(); len(problems) > 0 {
		first := problems[0]
		first.File = path
		first.Line = idx.lineOf(first.Key)
		return nil, first
	}
	return c, nil
}

// decodeError turns go-toml's errors into an *Error: the first unknown
// key by line, or the key and line of a syntax or type error.
func decodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		first := &strict.Errors[0]
		for i := range strict.Errors {
			if line, _ := strict.Errors[i].Position(); line < lineOfDecode(first) {
				first = &strict.Errors[i]
			}
		}
		line, _ := first.Position()
		return &Error{File: path, Line: line, Key: strings.Join(first.Key(), "."), Msg: msgUnknownKey, Err: err}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		return &Error{File: path, Line: line, Key: strings.Join(de.Key(), "."), Msg: msg, Err: err}
	}
	return &Error{File: path, Msg: strings.TrimPrefix(err.Error(), "toml: "), Err: err}
}

func lineOfDecode(e *toml.DecodeError) int {
	line, _ := e.Position()
	return line
}

// normalize lower-cases what compares case-insensitively and fills the
// defaults that depend on other values.
func (c *Config) normalize() {
	c.Hostname = strings.ToLower(strings.TrimSuffix(c.Hostname, "."))
	for i, d := range c.Domains {
		c.Domains[i] = strings.ToLower(strings.TrimSuffix(d, "."))
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		r.Domain = strings.ToLower(strings.TrimSuffix(r.Domain, "."))
		if r.TLS == "" {
			r.TLS = RouteTLSOpportunistic
		}
	}
}

// resolvePaths makes a file's relative paths relative to its directory.
func (c *Config) resolvePaths(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.DataDir = abs(c.DataDir)
	c.TLS.CertFile = abs(c.TLS.CertFile)
	c.TLS.KeyFile = abs(c.TLS.KeyFile)
	for i := range c.Routes {
		c.Routes[i].CAFile = abs(c.Routes[i].CAFile)
	}
}
