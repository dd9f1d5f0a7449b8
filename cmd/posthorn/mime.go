package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/posthorn/posthorn/mime"
)

// cmdMime runs "posthorn mime inspect FILE [--json]" and
// "posthorn mime extract FILE --dir DIR [--force]".
func cmdMime(ctx context.Context, io *stdio, args []string) int {
	if len(args) == 0 {
		return exitCode(io.err, "mime", usageError("usage: posthorn mime inspect FILE [--json] | extract FILE --dir DIR [--force]"))
	}
	var err error
	switch args[0] {
	case "inspect":
		err = mimeInspect(ctx, io, args[1:])
	case "extract":
		err = mimeExtract(ctx, io, args[1:])
	default:
		err = usageError("unknown mime subcommand %q (inspect, extract)", args[0])
	}
	return exitCode(io.err, "mime "+args[0], err)
}

// openMessage parses the message in the file at path. The caller
// closes the file when done with the parts, which read from it.
func openMessage(ctx context.Context, path string) (*mime.Part, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is a directory", path)
	}
	root, err := mime.Parse(ctx, f, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return root, f, nil
}

// inspectAddr, inspectPart and inspectOut are the JSON of "inspect --json".
type inspectAddr struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type inspectPart struct {
	Path             string  `json:"path"`
	ContentType      string  `json:"content_type"`
	Charset          *string `json:"charset"`
	Disposition      *string `json:"disposition"`
	Filename         *string `json:"filename"`
	TransferEncoding string  `json:"transfer_encoding"`
	Size             int64   `json:"size"`
	SHA256           string  `json:"sha256"`

	defects []mime.Defect
	depth   int
}

type inspectOut struct {
	Subject *string       `json:"subject"`
	From    []inspectAddr `json:"from"`
	To      []inspectAddr `json:"to"`
	Parts   []inspectPart `json:"parts"`
}

func mimeInspect(ctx context.Context, io *stdio, args []string) error {
	fs := newFlags("mime inspect")
	asJSON := fs.Bool("json", false, "print the structure as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("usage: posthorn mime inspect FILE [--json]")
	}
	root, f, err := openMessage(ctx, pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := describe(ctx, root)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printTree(io.out, root, out)
	return nil
}

// describe gathers what inspect prints: decoded subject and addresses,
// and each leaf with the size and SHA-256 of its decoded body.
func describe(ctx context.Context, root *mime.Part) (*inspectOut, error) {
	out := &inspectOut{From: addrs(root, "From"), To: addrs(root, "To"), Parts: []inspectPart{}}
	if root.Header.Has("Subject") {
		s := root.Header.Subject()
		out.Subject = &s
	}
	err := root.Leaves(func(path string, p *mime.Part) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := sha256.New()
		body := p.Body()
		n, err := io.Copy(h, body)
		if err != nil {
			return fmt.Errorf("part %s: %w", path, err)
		}
		ip := inspectPart{Path: path, ContentType: p.ContentType, TransferEncoding: p.TransferEncoding,
			Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
			Charset: nonEmpty(p.Charset()), Disposition: nonEmpty(p.Disposition), Filename: nonEmpty(p.Filename()),
			defects: append(p.Defects, body.Defects()...), depth: strings.Count(path, ".")}
		out.Parts = append(out.Parts, ip)
		return nil
	})
	return out, err
}

func addrs(root *mime.Part, field string) []inspectAddr {
	as, _ := root.Header.Addresses(field) // what could be read; the rest is a defect
	out := make([]inspectAddr, 0, len(as))
	for _, a := range as {
		out = append(out, inspectAddr{Name: a.Name, Address: a.Address})
	}
	return out
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// printTree prints the human form: the envelope fields, then the tree.
func printTree(w io.Writer, root *mime.Part, out *inspectOut) {
	if out.Subject != nil {
		fmt.Fprintf(w, "Subject: %s\n", *out.Subject)
	}
	for _, f := range []struct {
		name string
		as   []inspectAddr
	}{{"From", out.From}, {"To", out.To}} {
		for _, a := range f.as {
			if a.Name != "" {
				fmt.Fprintf(w, "%s: %s <%s>\n", f.name, a.Name, a.Address)
			} else {
				fmt.Fprintf(w, "%s: %s\n", f.name, a.Address)
			}
		}
	}
	leaves := make(map[string]inspectPart, len(out.Parts))
	for _, p := range out.Parts {
		leaves[p.Path] = p
	}
	root.Walk(func(path string, p *mime.Part) error {
		depth := 0
		if path != "" {
			depth = strings.Count(path, ".") + 1
		}
		indent := strings.Repeat("  ", depth)
		label := path
		if label == "" {
			label = "message"
		}
		line := fmt.Sprintf("%s%s %s", indent, label, p.ContentType)
		if lp, ok := leaves[path]; ok && (path != "" || len(out.Parts) == 0) {
			if lp.Charset != nil {
				line += "; charset=" + *lp.Charset
			}
			line += fmt.Sprintf(" %s %d bytes", lp.TransferEncoding, lp.Size)
			if lp.Disposition != nil {
				line += " " + *lp.Disposition
			}
			if lp.Filename != nil {
				line += fmt.Sprintf(" %q", *lp.Filename)
			}
			for _, d := range lp.defects[min(len(lp.defects), len(p.Defects)):] {
				line += fmt.Sprintf("\n%s  ! %s", indent, d)
			}
		}
		for _, d := range p.Defects {
			line += fmt.Sprintf("\n%s  ! %s", indent, d)
		}
		fmt.Fprintln(w, line)
		return nil
	})
}

// extractItem is one file that extract writes.
type extractItem struct {
	name string
	part *mime.Part
	text bool // convert to UTF-8 (the text body)
}

func mimeExtract(ctx context.Context, io *stdio, args []string) error {
	fs := newFlags("mime extract")
	dir := fs.String("dir", "", "directory to write the attachments and the text body into")
	force := fs.Bool("force", false, "overwrite existing files")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *dir == "" {
		return usageError("usage: posthorn mime extract FILE --dir DIR [--force]")
	}
	root, f, err := openMessage(ctx, pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	items := extractPlan(root)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	// os.Root confines every name to dir, whatever a sender wrote.
	r, err := os.OpenRoot(*dir)
	if err != nil {
		return err
	}
	defer r.Close()
	if !*force {
		for _, it := range items {
			if _, err := r.Lstat(it.name); err == nil {
				return fmt.Errorf("%s exists in %s (use --force to overwrite)", it.name, *dir)
			}
		}
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeItem(r, it, *force); err != nil {
			return fmt.Errorf("writing %s: %w", it.name, err)
		}
		fmt.Fprintln(io.out, path.Join(*dir, it.name))
	}
	return nil
}

// extractPlan chooses the files: the first text/plain leaf that is not
// an attachment as body.txt (or the first HTML as body.html when there
// is no text), and every other leaf that is an attachment, has a file
// name or is not text, under its sanitised, de-duplicated name.
func extractPlan(root *mime.Part) []extractItem {
	var items []extractItem
	var body *mime.Part
	root.Leaves(func(p string, part *mime.Part) error {
		if body == nil && part.ContentType == "text/plain" && !part.IsAttachment() && part.Filename() == "" {
			body = part
		}
		return nil
	})
	if body == nil {
		root.Leaves(func(p string, part *mime.Part) error {
			if body == nil && part.ContentType == "text/html" && !part.IsAttachment() && part.Filename() == "" {
				body = part
			}
			return nil
		})
	}
	used := map[string]bool{}
	if body != nil {
		name := "body.txt"
		if body.ContentType == "text/html" {
			name = "body.html"
		}
		used[name] = true
		items = append(items, extractItem{name: name, part: body, text: true})
	}
	root.Leaves(func(p string, part *mime.Part) error {
		if part == body || part.Size() == 0 && part.Filename() == "" {
			return nil
		}
		isText := strings.HasPrefix(part.ContentType, "text/") && part.ContentType != "text/calendar"
		if !part.IsAttachment() && part.Filename() == "" && isText {
			return nil // an alternative of the body, not a file
		}
		name := sanitizeFilename(part.Filename())
		if name == "" {
			name = "part-" + p + extensionFor(part.ContentType)
		}
		name = uniqueName(name, used)
		items = append(items, extractItem{name: name, part: part})
		return nil
	})
	return items
}

// sanitizeFilename makes a sender's file name safe to create in a
// directory: the last path element only (either slash), no control or
// invisible characters, no leading dots, at most 200 bytes. It returns
// "" when nothing usable is left.
func sanitizeFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '/' || r == ':' {
			return -1
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	if len(name) > 200 {
		ext := path.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		cut := 200 - len(ext)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + ext
	}
	if name == "" || name == "/" {
		return ""
	}
	return name
}

// uniqueName adds " (2)", " (3)" ... before the extension of a name
// already used in this extraction.
func uniqueName(name string, used map[string]bool) string {
	key := strings.ToLower(name)
	if !used[key] {
		used[key] = true
		return name
	}
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 2; ; i++ {
		n := fmt.Sprintf("%s (%d)%s", stem, i, ext)
		if !used[strings.ToLower(n)] {
			used[strings.ToLower(n)] = true
			return n
		}
	}
}

// extensionFor is a file extension for a part without a name.
func extensionFor(ctype string) string {
	switch ctype {
	case "message/rfc822", "message/global":
		return ".eml"
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "application/pdf":
		return ".pdf"
	}
	return ".bin"
}

// writeItem writes one part's decoded bytes.
func writeItem(r *os.Root, it extractItem, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := r.OpenFile(it.name, flags, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("file exists (use --force to overwrite)")
		}
		return err
	}
	var src io.Reader = it.part.Body()
	if it.text {
		if t, err := it.part.Text(); err == nil {
			src = t
		}
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
