// Package config reads posthorn's TOML configuration file: the embedded
// defaults, strict decoding and validation.
//
// The file format is the contract of the project's interface document
// (TOML v1.0.0, decoded with github.com/pelletier/go-toml/v2); every key,
// its default and the keys added to that contract are documented in
// docs/configuration.md, which must change together with this package.
//
// Decoding is strict because a mistyped key ("listen.smpt") silently
// ignored would leave a listener off or a limit at its default: every
// problem is reported as "file:line: ..." naming the key, for unknown
// keys, wrong types and bad values alike. To name lines for values that
// only validation can judge, the document is parsed a second time into
// a small index from key to line (position.go).
//
// Two shapes of configuration exist:
//
//   - Default: the embedded developer setup of "posthorn serve" with no
//     file: data in ./posthorn-data, domain localhost, every listener on
//     an unprivileged loopback port.
//   - Load/Parse: a file is a complete configuration. Keys it leaves out
//     take their documented defaults (limits, queue, store, timeouts), but
//     a listener it does not list is off, so a file never opens a port
//     its author did not write down.
//
// Relative paths in a file (data_dir, cert_file, key_file, ca_file) are
// taken relative to the file's directory, so administrative commands
// given --config from another working directory see the same data.
//
// Durations are strings of integer-and-unit pairs with units s, m, h and
// d ("90s", "1h30m", "5d"); bare integers are rejected rather than read as
// nanoseconds.
//
// Left out: environment-variable overrides, include files, and reload of
// anything but certificates (the server restarts for other changes).
package config
