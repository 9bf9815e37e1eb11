package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// writeYAML writes v as block-style YAML with the same field names, order
// and values as its JSON. It is written from v's JSON directly, not through
// a YAML library's node tree: listing a million events as YAML went from
// 37 s to a few seconds. The writer only has to be right for JSON's data
// model — maps with string keys, lists, strings, numbers, booleans, null —
// and render_test.go and FuzzYAML check that what it writes reads back, with
// a YAML parser, as the same data as the JSON.
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	p := jsonParser{b: b}
	val, err := p.value()
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	y := yamlWriter{buf: make([]byte, 0, 2*len(b))}
	switch {
	case val.kind == '{' && len(val.elems) > 0:
		y.mapping(&val, 0, false)
	case val.kind == '[' && len(val.elems) > 0:
		y.sequence(&val, 0, false)
	default:
		y.scalar(&val)
		y.buf = append(y.buf, '\n')
	}
	_, err = w.Write(y.buf)
	return err
}

// jsonValue is one parsed JSON value, in document order.
type jsonValue struct {
	kind  byte   // '{' object, '[' array, '"' string, 'l' number, true, false or null
	text  string // a string's value, or a literal as written
	keys  []string
	elems []jsonValue
}

// jsonParser reads the JSON that encoding/json wrote, so it can trust the
// input to be valid; it still reports anything unexpected as an error.
type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonParser) value() (jsonValue, error) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return jsonValue{}, errors.New("unexpected end of JSON")
	}
	switch c := p.b[p.i]; c {
	case '{', '[':
		v := jsonValue{kind: c}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		p.i++
		for {
			p.skipSpace()
			if p.i < len(p.b) && p.b[p.i] == closing {
				p.i++
				return v, nil
			}
			if len(v.elems) > 0 {
				if p.b[p.i] != ',' {
					return v, fmt.Errorf("unexpected %q in JSON", p.b[p.i])
				}
				p.i++
			}
			if c == '{' {
				k, err := p.value()
				if err != nil || k.kind != '"' {
					return v, errors.New("object key is not a string")
				}
				p.skipSpace()
				if p.i >= len(p.b) || p.b[p.i] != ':' {
					return v, errors.New("object key without a value")
				}
				p.i++
				v.keys = append(v.keys, k.text)
			}
			e, err := p.value()
			if err != nil {
				return v, err
			}
			v.elems = append(v.elems, e)
		}
	case '"':
		start, escaped := p.i, false
		for p.i++; p.i < len(p.b) && p.b[p.i] != '"'; p.i++ {
			if p.b[p.i] == '\\' {
				escaped = true
				p.i++
			}
		}
		if p.i >= len(p.b) {
			return jsonValue{}, errors.New("unterminated string")
		}
		p.i++
		if !escaped {
			return jsonValue{kind: '"', text: string(p.b[start+1 : p.i-1])}, nil
		}
		var s string
		err := json.Unmarshal(p.b[start:p.i], &s)
		return jsonValue{kind: '"', text: s}, err
	default:
		start := p.i
		for p.i < len(p.b) && !strings.ContainsRune(",]} \n\t\r", rune(p.b[p.i])) {
			p.i++
		}
		return jsonValue{kind: 'l', text: string(p.b[start:p.i])}, nil
	}
}

// yamlWriter writes block-style YAML with two-space indentation.
type yamlWriter struct{ buf []byte }

func (y *yamlWriter) indent(n int) {
	for range n {
		y.buf = append(y.buf, ' ')
	}
}

// mapping writes v's entries at indent; inline means the cursor is already
// where the first key goes (after "- ").
func (y *yamlWriter) mapping(v *jsonValue, indent int, inline bool) {
	for i := range v.elems {
		if i > 0 || !inline {
			y.indent(indent)
		}
		start := len(y.buf)
		y.str(v.keys[i])
		if len(y.buf)-start > 1000 {
			// A key on its own line before ':' may be at most 1024
			// characters; a longer one needs the explicit "? key" form.
			key := append([]byte(nil), y.buf[start:]...)
			y.buf = append(append(append(y.buf[:start], "? "...), key...), '\n')
			y.indent(indent)
		}
		y.buf = append(y.buf, ':')
		y.child(&v.elems[i], indent, false)
	}
}

// sequence writes v's items at indent, each after "- ".
func (y *yamlWriter) sequence(v *jsonValue, indent int, inline bool) {
	for i := range v.elems {
		if i > 0 || !inline {
			y.indent(indent)
		}
		y.buf = append(y.buf, '-')
		y.child(&v.elems[i], indent, true)
	}
}

// child writes a value after "key:" or "-": a scalar or an empty collection
// on the same line; a map or list below, indented, or after "- " on the
// same line when it is a list item.
func (y *yamlWriter) child(v *jsonValue, indent int, item bool) {
	switch {
	case v.kind == '{' && len(v.elems) > 0 && item:
		y.buf = append(y.buf, ' ')
		y.mapping(v, indent+2, true)
	case v.kind == '[' && len(v.elems) > 0 && item:
		y.buf = append(y.buf, ' ')
		y.sequence(v, indent+2, true)
	case v.kind == '{' && len(v.elems) > 0:
		y.buf = append(y.buf, '\n')
		y.mapping(v, indent+2, false)
	case v.kind == '[' && len(v.elems) > 0:
		y.buf = append(y.buf, '\n')
		y.sequence(v, indent+2, false)
	default:
		y.buf = append(y.buf, ' ')
		y.scalar(v)
		y.buf = append(y.buf, '\n')
	}
}

func (y *yamlWriter) scalar(v *jsonValue) {
	switch v.kind {
	case '{':
		y.buf = append(y.buf, "{}"...)
	case '[':
		y.buf = append(y.buf, "[]"...)
	case '"':
		y.str(v.text)
	default: // JSON's numbers, true, false and null are YAML's too
		y.buf = append(y.buf, v.text...)
	}
}

// str writes a string plain when no YAML reader could take it for anything
// else, and double-quoted otherwise. Go's escapes (\n, \t, \", \\, \xHH,
// \uHHHH, \UHHHHHHHH, \a, \b, \f, \r, \v) are all YAML double-quoted escapes.
func (y *yamlWriter) str(s string) {
	if plainSafe(s) {
		y.buf = append(y.buf, s...)
		return
	}
	y.buf = strconv.AppendQuote(y.buf, s)
}

// plainSafe is deliberately narrow: a letter or digit first, then letters,
// digits and _ . / @ + - : only (no indicator, no space, no colon at the
// end), not a word YAML 1.1 or 1.2 reads as a boolean or null, and, if it
// begins with a digit, nothing a YAML reader could take for a number, a
// time or a date: no colon, and a letter that cannot be part of a number.
// So a hash, a name, an email or a URL stays plain; "yes", "0x1f", "1e5",
// "1_000", "1:20", "2026-11-23" and timestamps are quoted.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	nonNumericLetter, colon := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			if !strings.ContainsRune("eExXoObBpP", rune(c)) {
				nonNumericLetter = true
			}
		case c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || c == '@' || c == '+' || c == '-':
		case c == ':':
			colon = true
		default:
			return false
		}
	}
	if c := s[0]; c >= '0' && c <= '9' {
		if colon || !nonNumericLetter || strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			return false
		}
	} else if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	if s[len(s)-1] == ':' {
		return false
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "infinity":
		return false
	}
	return true
}
