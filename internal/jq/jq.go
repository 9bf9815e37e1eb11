// Package jq filters gatehouse's JSON output with a jq expression (--jq),
// as the GitHub CLI does. It is the only importer of gojq, a maintained
// pure-Go implementation of jq.
//
// A filter's results are printed one per line: a string as its text (as
// `jq -r` would), anything else as compact JSON. Unsafe characters — control,
// bidi and zero-width — are escaped in both, as in every gatehouse view, so
// data from the store never drives the terminal; a string's line breaks are
// kept.
package jq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/itchyny/gojq"
)

// Filter is a compiled jq expression.
type Filter struct {
	code *gojq.Code
}

// Compile parses and compiles expr. The message of an invalid expression
// says where it is wrong, not what the expression holds.
func Compile(expr string) (*Filter, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid --jq expression: syntax error at byte %d", pe.Offset)
		}
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid --jq expression")
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid --jq expression: %s", gatehouse.Clip(gatehouse.EscapeUnsafe(err.Error()), 120))
	}
	return &Filter{code: code}, nil
}

// Writer returns a writer that takes gatehouse's JSON output and writes
// the filter's results to w. With lines (JSON Lines), each line is a value
// filtered as it arrives, so a long or endless stream stays a stream;
// otherwise the whole output is one or more JSON documents, filtered at
// Close.
func (f *Filter) Writer(ctx context.Context, w io.Writer, lines bool) *Writer {
	return &Writer{f: f, ctx: ctx, w: w, lines: lines}
}

// Writer filters what is written to it; Close ends it.
type Writer struct {
	f     *Filter
	ctx   context.Context
	w     io.Writer
	lines bool
	buf   bytes.Buffer
	err   error
}

func (jw *Writer) Write(p []byte) (int, error) {
	if jw.err != nil {
		return 0, jw.err
	}
	jw.buf.Write(p)
	if jw.lines {
		for {
			i := bytes.IndexByte(jw.buf.Bytes(), '\n')
			if i < 0 {
				break
			}
			line := jw.buf.Next(i + 1)
			if jw.err = jw.run(line); jw.err != nil {
				return 0, jw.err
			}
		}
	}
	return len(p), nil
}

// Close filters what is left and reports the first error.
func (jw *Writer) Close() error {
	if jw.err != nil {
		return jw.err
	}
	jw.err = jw.run(jw.buf.Bytes())
	jw.buf.Reset()
	return jw.err
}

// run filters every JSON value in data.
func (jw *Writer) run(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return gatehouse.Wrap(gatehouse.EINTERNAL, err, "--jq: the output is not JSON: %v", err)
		}
		if err := jw.apply(normalise(v)); err != nil {
			return err
		}
	}
}

func (jw *Writer) apply(v any) error {
	iter := jw.f.code.RunWithContext(jw.ctx, v)
	var out bytes.Buffer
	for {
		r, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := r.(error); ok {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break
			}
			jw.w.Write(out.Bytes())
			return gatehouse.Errorf(gatehouse.EINVALID, "--jq: %s", gatehouse.Clip(gatehouse.EscapeUnsafe(err.Error()), 200))
		}
		if s, ok := r.(string); ok {
			out.WriteString(escapeLines(s))
		} else {
			b, err := gojq.Marshal(r)
			if err != nil {
				return gatehouse.Wrap(gatehouse.EINTERNAL, err, "--jq: %v", err)
			}
			out.WriteString(gatehouse.EscapeUnsafe(string(b)))
		}
		out.WriteByte('\n')
	}
	_, err := jw.w.Write(out.Bytes())
	return err
}

// escapeLines escapes a string result line by line, keeping its breaks.
func escapeLines(s string) string {
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = gatehouse.EscapeUnsafe(p)
	}
	return strings.Join(parts, "\n")
}

// normalise turns json.Number into the int, *big.Int or float64 gojq
// works on: an integer too large for int stays exact, as in jq 1.7.
func normalise(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		if b, ok := new(big.Int).SetString(x.String(), 10); ok {
			return b
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case []any:
		for i := range x {
			x[i] = normalise(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalise(x[k])
		}
	}
	return v
}
