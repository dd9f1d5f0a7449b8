package config

import (
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyIndex maps each key path of a document to where it stands and what
// kind of TOML value it holds. go-toml reports lines for its own errors
// only; the index gives validation errors a line too, and shows which
// duration keys were written as bare integers (go-toml would silently
// read 5 as 5ns, since Duration is an integer type).
//
// Paths are dotted; elements of arrays (of tables, of inline tables, of
// scalars) are written path[i], counting from 0: "route[1].tls",
// "listen.smtp[0]".
type keyIndex map[string]keyPos

type keyPos struct {
	line int
	kind unstable.Kind
}

// indexKeys parses data with go-toml's parser. It is called only after
// the document decoded without error, so it does not report errors of
// its own.
func indexKeys(data []byte) keyIndex {
	w := indexWalker{
		idx:    keyIndex{},
		arrays: map[string]int{},
		lines:  newlineOffsets(data),
	}
	var p unstable.Parser
	p.Reset(data)
	var table string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			table = w.resolve(keyParts(e))
			w.record(table, e.Child(), unstable.Table)
		case unstable.ArrayTable:
			parts := keyParts(e)
			base := joinKey(w.resolve(parts[:len(parts)-1]), parts[len(parts)-1])
			n := w.arrays[base]
			w.arrays[base] = n + 1
			table = base + "[" + strconv.Itoa(n) + "]"
			w.record(table, e.Child(), unstable.ArrayTable)
		case unstable.KeyValue:
			w.keyValue(table, e)
		}
	}
	return w.idx
}

type indexWalker struct {
	idx    keyIndex
	arrays map[string]int // array-of-tables path → elements seen so far
	lines  []int          // offsets of '\n'
}

// resolve joins header parts, pointing at the latest element of any
// array of tables on the way: after [[route]] twice, [route.x] is
// route[1].x.
func (w *indexWalker) resolve(parts []string) string {
	cur := ""
	for _, p := range parts {
		cur = joinKey(cur, p)
		if n, ok := w.arrays[cur]; ok {
			cur += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return cur
}

func (w *indexWalker) keyValue(prefix string, kv *unstable.Node) {
	path := prefix
	for _, p := range keyParts(kv) {
		path = joinKey(path, p)
	}
	v := kv.Value()
	w.record(path, kv.Value().Next(), v.Kind)
	w.value(path, v)
}

// value indexes what a value contains: keys of inline tables, elements
// of arrays.
func (w *indexWalker) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			w.keyValue(path, it.Node())
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			el := it.Node()
			ep := path + "[" + strconv.Itoa(i) + "]"
			if el.Raw.Length > 0 {
				w.idx[ep] = keyPos{line: w.line(int(el.Raw.Offset)), kind: el.Kind}
			} else if pos, ok := w.idx[path]; ok {
				w.idx[ep] = keyPos{line: pos.line, kind: el.Kind}
			}
			w.value(ep, el)
		}
	}
}

// record notes path at the line of key node k, keeping the first place a
// path was seen (a table header before its keys).
func (w *indexWalker) record(path string, k *unstable.Node, kind unstable.Kind) {
	if _, ok := w.idx[path]; ok || k == nil {
		return
	}
	w.idx[path] = keyPos{line: w.line(int(k.Raw.Offset)), kind: kind}
}

func (w *indexWalker) line(offset int) int {
	return sort.SearchInts(w.lines, offset) + 1
}

func newlineOffsets(data []byte) []int {
	var nl []int
	for i, c := range data {
		if c == '\n' {
			nl = append(nl, i)
		}
	}
	return nl
}

func keyParts(n *unstable.Node) []string {
	var parts []string
	it := n.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

func joinKey(prefix, part string) string {
	if prefix == "" {
		return part
	}
	return prefix + "." + part
}

// lineOf finds the line of key, or of the nearest enclosing key that the
// document wrote: a problem with route[1].tls when tls was left out
// points at the [[route]] header.
func (idx keyIndex) lineOf(key string) int {
	for key != "" {
		if pos, ok := idx[key]; ok {
			return pos.line
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}

var elementIndex = regexp.MustCompile(`\[[0-9]+\]`)

// durationKeys lists the paths (without element indices) whose Go type
// is Duration, found by walking Config's toml tags so that a new
// duration key needs no list kept by hand.
func durationKeys() map[string]bool {
	keys := map[string]bool{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			path := joinKey(prefix, name)
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			switch {
			case ft == reflect.TypeFor[Duration]():
				keys[path] = true
			case ft.Kind() == reflect.Struct:
				walk(path, ft)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return keys
}

// checkDurationKinds reports a duration written as anything but a string.
func (idx keyIndex) checkDurationKinds(file string) *Error {
	durations := durationKeys()
	var first *Error
	for path, pos := range idx {
		if !durations[elementIndex.ReplaceAllString(path, "")] || pos.kind == unstable.String {
			continue
		}
		if first == nil || pos.line < first.Line {
			first = &Error{File: file, Line: pos.line, Key: path,
				Msg: "a duration is a string with units s, m, h, d (\"5m\", \"1h30m\"), not a " + kindName(pos.kind)}
		}
	}
	return first
}

func kindName(k unstable.Kind) string {
	switch k {
	case unstable.Integer:
		return "number"
	case unstable.Float:
		return "float"
	case unstable.Bool:
		return "boolean"
	default:
		return strings.ToLower(k.String())
	}
}
