// Package render is gatehouse's one renderer. Every command hands it values;
// it writes them as a table for people or as JSON, YAML, JSON Lines or CSV
// for programs. Field names come from the values' json tags, so every format
// uses the same stable lower_snake_case names.
//
// Tables: on a terminal, a box with a header, every line cut to the
// terminal's width (-o wide cuts nothing; see table.go); when piped,
// tab-separated rows with no header and no decoration, ready for cut and
// awk, -o wide alike.
//
// Lists are streamed: every format writes each record as it arrives, so
// listing a million events takes constant memory. A terminal table holds
// one chunk of rows at a time, to size its columns.
package render

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Format is an output format.
type Format string

// Output formats.
const (
	Table Format = "table"
	// Wide is a table with nothing cut to fit the terminal (kubectl's
	// name). A printer of this format reports itself as Table: commands
	// that print text of their own for a table print it for wide too.
	Wide  Format = "wide"
	JSON  Format = "json"
	YAML  Format = "yaml"
	JSONL Format = "jsonl"
	CSV   Format = "csv"
)

// Formats are the output formats. Every command supports all of them, so
// that one output setting in a configuration file suits every command: a
// single record in JSON Lines is one line, in CSV a header and one row.
var Formats = []Format{Table, Wide, JSON, YAML, JSONL, CSV}

// ParseFormat checks an output format name.
func ParseFormat(s string) (Format, error) {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		if string(f) == s {
			return f, nil
		}
		names[i] = string(f)
	}
	// The value is not quoted: it may be anything pasted by mistake.
	return "", gatehouse.Errorf(gatehouse.EINVALID, "invalid output format: use %s", strings.Join(names, ", "))
}

// Printer writes values in one format.
type Printer struct {
	w      io.Writer
	format Format
	tty    bool
	wide   bool // -o wide: a table, nothing cut
	width  int  // the terminal's columns; 0: unknown, nothing cut
}

// New returns a printer writing to w. tty says whether w is a terminal.
func New(w io.Writer, format Format, tty bool) *Printer {
	p := &Printer{w: w, format: format, tty: tty}
	if format == Wide {
		p.format, p.wide = Table, true
	}
	return p
}

// SetWidth gives the terminal's width in columns: a table on a terminal
// is cut to fit it, unless the format is wide. 0 means unknown.
func (p *Printer) SetWidth(columns int) { p.width = columns }

// Format is the printer's format; Table for -o wide.
func (p *Printer) Format() Format { return p.format }

// Object writes one value. As a table it is a FIELD/VALUE list in the
// order of the value's JSON fields; on a terminal under that header, with
// nested objects flattened into dotted keys (settings.ttl) and lists of
// text comma-joined, so that every show command reads the same way.
func (p *Printer) Object(v any) error { return p.object(v, false) }

// FlatObject is Object, except that as a table or CSV nested objects are
// flattened into dotted keys (sso.allow) even when piped, for documents
// like config show.
func (p *Printer) FlatObject(v any) error { return p.object(v, true) }

func (p *Printer) object(v any, flat bool) error {
	switch p.format {
	case JSON:
		return writeJSON(p.w, v, "")
	case YAML:
		return writeYAML(p.w, v)
	case JSONL:
		return writeJSON(p.w, v, "compact")
	}
	fields, err := orderedFields(v)
	if err != nil {
		return err
	}
	if flat || p.format == Table && p.tty {
		if fields, err = nestedFields("", v); err != nil {
			return err
		}
	}
	if p.format == CSV {
		cw := csv.NewWriter(p.w)
		var keys []string
		if !flat {
			keys = FieldNames(v)
		}
		if keys == nil {
			for _, f := range fields {
				keys = append(keys, f[0])
			}
		}
		cw.Write(keys)
		cw.Write(csvRow(keys, fields))
		cw.Flush()
		return cw.Error()
	}
	var header []string
	if p.tty {
		header = []string{"FIELD", "VALUE"}
	}
	l := p.List(header)
	for _, f := range fields {
		if err := l.Add(nil, f[0], f[1]); err != nil {
			return err
		}
	}
	return l.Close()
}

// List starts a stream of records. columns are the table's headers; nil
// means no header (a FIELD/VALUE listing). record is a value of the type
// the stream's records are (a zero one will do): CSV's header is its JSON
// field names, every one of them, omitted-when-empty ones too, so that a
// command always prints the same columns whatever its records hold, and
// each row is the record's fields in that order. Without record, CSV
// prints columns and the cells given. Records are buffered, so a long
// listing costs one write per 64 KiB, not one per record: Close, or Flush
// (deferred by the caller, so that an error part-way still prints what
// came before it), writes them out.
func (p *Printer) List(columns []string, record ...any) *List {
	l := &List{p: p, w: bufio.NewWriterSize(p.w, 64<<10), columns: columns}
	switch {
	case p.format == JSONL:
		l.enc = json.NewEncoder(jsonSafe{l.w})
		l.enc.SetEscapeHTML(false)
	case p.format == CSV:
		l.csv = csv.NewWriter(l.w)
		if len(record) > 0 {
			l.fields = FieldNames(record[0])
		}
		switch {
		case l.fields != nil:
			l.csv.Write(l.fields)
		case columns != nil:
			l.csv.Write(csvCells(columns))
		}
	case p.format == Table && p.tty:
		l.table = &boxTable{w: l.w, header: columns}
		if !p.wide {
			l.table.maxLine = p.width
		}
	}
	return l
}

// List is an open stream of records; Close ends it.
type List struct {
	p       *Printer
	w       *bufio.Writer
	columns []string
	n       int
	enc     *json.Encoder // JSON Lines: one encoder for the whole stream
	// JSON: one encoder for the whole array, into buf; each record is
	// indented into ind.
	jenc   *json.Encoder
	buf    bytes.Buffer
	ind    []byte
	csv    *csv.Writer
	fields []string // CSV: the record's JSON field names
	table  *boxTable
}

// SetMinWidths gives a terminal table's columns minimum widths, for a
// stream whose first rows cannot size them (a --follow that starts with
// none). Within the terminal's width they are kept; beyond it the table is
// cut as ever.
func (l *List) SetMinWidths(widths ...int) {
	if l.table != nil {
		l.table.min = widths
	}
}

// Add writes one record: v for structured formats, cells for tables and CSV.
func (l *List) Add(v any, cells ...string) error {
	defer func() { l.n++ }()
	switch l.p.format {
	case JSON:
		sep := ",\n"
		if l.n == 0 {
			sep = "[\n"
		}
		if _, err := l.w.WriteString(sep); err != nil {
			return err
		}
		if l.jenc == nil {
			l.jenc = json.NewEncoder(&l.buf)
			l.jenc.SetEscapeHTML(false)
		}
		l.buf.Reset()
		if err := l.jenc.Encode(v); err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		l.ind = indentJSON(append(l.ind[:0], "  "...), bytes.TrimSuffix(l.buf.Bytes(), []byte("\n")), "  ", "  ")
		_, err := l.w.Write(escapeJSON(l.ind))
		return err
	case JSONL:
		if err := l.enc.Encode(v); err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		return nil
	case YAML:
		// A one-element sequence per record concatenates into one sequence.
		return writeYAML(l.w, []any{v})
	case CSV:
		if l.fields == nil {
			return l.csv.Write(csvCells(cells))
		}
		fields, err := orderedFields(v)
		if err != nil {
			return err
		}
		return l.csv.Write(csvRow(l.fields, fields))
	}
	for i, c := range cells {
		cells[i] = textCell(c)
	}
	if l.table != nil {
		return l.table.add(cells)
	}
	_, err := l.w.WriteString(strings.Join(cells, "\t") + "\n")
	return err
}

// tsvEscaper keeps one record on one line and its fields apart.
var tsvEscaper = strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// textCell is a cell of a table or of tab-separated rows: one line, its
// fields apart, and nothing that could drive the terminal — control,
// bidi and zero-width characters are shown as \uXXXX, as in messages.
func textCell(s string) string { return gatehouse.EscapeUnsafe(tsvEscaper.Replace(s)) }

// csvCells makes a record safe to open in a spreadsheet and to cat on a
// terminal (see csvCell). It returns a new slice.
func csvCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = csvCell(c)
	}
	return out
}

// csvCell neutralises a cell that a spreadsheet would evaluate as a
// formula (OWASP "CSV injection"): one that starts with =, +, -, @, a tab
// or a carriage return is prefixed with a single quote. Control, bidi and
// zero-width characters are escaped as in a table; the CSV quoting of
// commas, quotes and newlines is encoding/csv's.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	return gatehouse.EscapeUnsafe(s)
}

// Close finishes the stream (closes the JSON array, renders the table) and
// writes it out.
func (l *List) Close() error {
	var err error
	switch {
	case l.p.format == JSON && l.n == 0:
		_, err = l.w.WriteString("[]\n")
	case l.p.format == JSON:
		_, err = l.w.WriteString("\n]\n")
	case l.p.format == YAML && l.n == 0:
		_, err = l.w.WriteString("[]\n")
	case l.table != nil:
		err = l.table.close()
	}
	return errors.Join(err, l.Flush())
}

// Flush writes out the records added so far (a terminal table draws the
// rows it holds). Once the list is closed it has nothing left to write.
func (l *List) Flush() error {
	if l.table != nil {
		if err := l.table.flush(); err != nil {
			return err
		}
	}
	if l.csv != nil {
		l.csv.Flush()
		if err := l.csv.Error(); err != nil {
			return err
		}
	}
	return l.w.Flush()
}

// jsonSafe escapes what a json.Encoder writes through it (escapeJSON). The
// encoder writes each value with one Write, so no rune is ever split.
type jsonSafe struct{ w io.Writer }

func (j jsonSafe) Write(b []byte) (int, error) {
	_, err := j.w.Write(escapeJSON(b))
	return len(b), err
}

// escapeJSON writes the unsafe runes of encoded JSON (gatehouse.UnsafeRune:
// C1 controls, bidi, zero-width and other format characters) as \uXXXX
// escapes, which encoding/json leaves raw. The data stays exactly the same
// for a program that parses it; a person who reads it on a terminal sees
// the escape. Outside strings, JSON is ASCII, so every such rune is inside
// a string, where the escape is valid.
func escapeJSON(b []byte) []byte {
	// Every unsafe rune is outside ASCII: most output has no byte to
	// decode at all.
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	j := bytes.IndexFunc(b[i:], func(r rune) bool { return r >= 0x80 && gatehouse.UnsafeRune(r) })
	if j < 0 {
		return b
	}
	i += j
	out := append(make([]byte, 0, len(b)+16), b[:i]...)
	for len(b[i:]) > 0 {
		r, n := utf8.DecodeRune(b[i:])
		if r < 0x80 || !gatehouse.UnsafeRune(r) {
			out = append(out, b[i:i+n]...)
		} else if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += n
	}
	return out
}

// writeJSON writes v as JSON followed by a newline: indented by indent, or
// on one line when indent is "compact". HTML escaping is off: the output is
// for terminals and scripts, where "<" should stay "<".
func writeJSON(w io.Writer, v any, indent string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "compact" {
		enc.SetIndent(indent, "  ")
	}
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	out := escapeJSON(buf.Bytes())
	if indent != "compact" && indent != "" {
		out = append([]byte(indent), out...)
	}
	_, err := w.Write(out)
	return err
}

// orderedFields returns v's top-level JSON fields in order, each value as
// display text: strings bare, null empty, anything else compact JSON.
func orderedFields(v any) ([][2]string, error) {
	raws, err := rawFields(v)
	if err != nil {
		return nil, err
	}
	fields := make([][2]string, len(raws))
	for i, r := range raws {
		fields[i] = [2]string{r.key, cell(r.raw)}
	}
	return fields, nil
}

// nestedFields are v's fields with those of a nested object under dotted
// keys (settings.ttl), as a terminal and config show's table and CSV show
// them. A string that merely looks like an object stays a string.
func nestedFields(prefix string, v any) ([][2]string, error) {
	raws, err := rawFields(v)
	if err != nil {
		return nil, err
	}
	var fields [][2]string
	for _, f := range raws {
		key := prefix + f.key
		if r := bytes.TrimSpace(f.raw); len(r) > 2 && r[0] == '{' { // {} stays a cell
			sub, err := nestedFields(key+".", f.raw)
			if err != nil {
				return nil, err
			}
			fields = append(fields, sub...)
			continue
		}
		fields = append(fields, [2]string{key, cell(f.raw)})
	}
	return fields, nil
}

type rawField struct {
	key string
	raw json.RawMessage
}

// rawFields returns v's top-level JSON fields in order, each as its JSON;
// a value that is not an object is one field, "value".
func rawFields(v any) ([]rawField, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return []rawField{{"value", b}}, nil
	}
	var fields []rawField
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		fields = append(fields, rawField{k.(string), raw})
	}
	return fields, nil
}

// cell renders a JSON value as the text of a table or CSV cell: a string
// as it is, null as nothing, a list of strings comma-joined ("R&D,Sales"),
// anything else as compact JSON. (encoding/json's \u0026 for & is undone
// by decoding, so no escape shows.)
func cell(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case 'n':
		if string(raw) == "null" {
			return ""
		}
	case '[', '{':
		var list []string
		if raw[0] == '[' && json.Unmarshal(raw, &list) == nil {
			return strings.Join(list, ",")
		}
		// Numbers stay as written (json.Number): through float64, an ID
		// above 2^53 would change.
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if enc.Encode(v) == nil {
				return strings.TrimSuffix(buf.String(), "\n")
			}
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// csvRow is the CSV row of a record's fields in the order of names; a
// field the record omits is an empty cell.
func csvRow(names []string, fields [][2]string) []string {
	byName := make(map[string]string, len(fields))
	for _, f := range fields {
		byName[f[0]] = f[1]
	}
	row := make([]string, len(names))
	for i, n := range names {
		row[i] = csvCell(byName[n])
	}
	return row
}

// FieldNames returns the JSON field names of v's type (a struct or a
// pointer to one), in order, including those omitted when empty; fields of
// embedded structs are flattened as encoding/json does. For a type that
// marshals itself they are the keys of its zero value's JSON object, for a
// Change "changed" and its object's names. It returns nil for any other
// type.
func FieldNames(v any) []string {
	if c, ok := v.(Change); ok {
		return append([]string{"changed"}, FieldNames(c.Object)...)
	}
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	if t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler) {
		return marshalledNames(t)
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-" || (!f.IsExported() && !f.Anonymous):
			continue
		case f.Anonymous && tag == "":
			names = append(names, FieldNames(reflect.New(f.Type).Elem().Interface())...)
			continue
		case tag == "":
			tag = f.Name
		}
		names = append(names, tag)
	}
	return names
}

var marshaler = reflect.TypeFor[json.Marshaler]()

// marshalledNames are the keys, in order, of the JSON object that a zero
// value of a struct type that marshals itself writes (the settings that add
// a _seconds field beside each duration); nil when it writes no object.
func marshalledNames(t reflect.Type) []string {
	b, err := json.Marshal(reflect.New(t).Interface())
	if err != nil {
		return nil
	}
	fields, err := orderedFields(json.RawMessage(b))
	if err != nil || len(fields) == 0 || (len(fields) == 1 && fields[0][0] == "value") {
		return nil
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f[0]
	}
	return names
}

// Change is the record a command that changes something prints: "changed"
// (false when there was nothing to do) followed by the fields of Object,
// the thing changed as it now is — the same fields its show or status
// command prints, so one --jq path and one schema fragment serve both.
// Object is a struct, or a pointer to one, that writes a JSON object.
type Change struct {
	Changed bool
	Object  any
}

// MarshalJSON writes {"changed":…, then Object's fields}.
func (c Change) MarshalJSON() ([]byte, error) {
	obj, err := json.Marshal(c.Object)
	if err != nil {
		return nil, err
	}
	obj = bytes.TrimSpace(obj)
	if len(obj) < 2 || obj[0] != '{' {
		return nil, fmt.Errorf("a change's object must be a JSON object, not %.20s", obj)
	}
	out := fmt.Appendf(nil, `{"changed":%t`, c.Changed)
	if rest := bytes.TrimSpace(obj[1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, obj[1:]...), nil
}
