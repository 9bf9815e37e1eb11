package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/clipperhouse/displaywidth"
)

// tableLines renders rows as a terminal table width columns wide (0: no
// limit, wide: -o wide) and returns its lines.
func tableLines(t *testing.T, width int, format Format, header []string, rows ...[]string) []string {
	t.Helper()
	var buf bytes.Buffer
	p := New(&buf, format, true)
	p.SetWidth(width)
	l := p.List(header)
	for _, r := range rows {
		if err := l.Add(nil, r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func TestTableFitsWidth(t *testing.T) {
	long := strings.Repeat("日本語", 20) + strings.Repeat("x", 50)
	header := []string{"ID", "NAME", "NOTE"}
	for _, width := range []int{20, 40, 80} {
		lines := tableLines(t, width, Table, header, []string{"1", "alice", long}, []string{"2", "bob", "short"})
		for _, line := range lines {
			if w := displaywidth.String(line); w > width {
				t.Errorf("width %d: a line %d wide: %s", width, w, line)
			}
		}
		if !strings.Contains(strings.Join(lines, "\n"), "…") {
			t.Errorf("width %d: nothing cut:\n%s", width, strings.Join(lines, "\n"))
		}
	}
	// The last column gives way first: at 40 columns the others are whole.
	lines := tableLines(t, 40, Table, header, []string{"1", "alice", long})
	if got, want := lines[3], "│ 1  │ alice │ 日本語日本語日本語日本… │"; got != want {
		t.Errorf("row\n got %s\nwant %s", got, want)
	}
	// Wide, or a width unknown: nothing cut.
	for _, format := range []Format{Wide, Table} {
		width := 40
		if format == Table {
			width = 0
		}
		lines := tableLines(t, width, format, header, []string{"1", "alice", long})
		if !strings.Contains(lines[3], long) || strings.Contains(lines[3], "…") {
			t.Errorf("%s, width %d: cut: %s", format, width, lines[3])
		}
	}
}

func TestTableStreamsInChunks(t *testing.T) {
	var buf bytes.Buffer
	p := New(&buf, Table, true)
	l := p.List([]string{"N", "NAME"})
	l.Add(nil, "1", "a")
	if buf.Len() != 0 {
		t.Fatalf("drawn before a flush: %q", buf.String())
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	first := buf.String()
	if !strings.Contains(first, "│ 1 │ a    │") {
		t.Fatalf("the first row is not drawn by Flush:\n%s", first)
	}
	// A wider row opens a new box under the header; a narrower one does not.
	l.Add(nil, "2", "bb")
	l.Flush()
	l.Add(nil, "3", "a much longer name")
	l.Close()
	out := buf.String()
	if n := strings.Count(out, "│ N │ NAME"); n != 2 {
		t.Errorf("%d headers, want 2 (one new box):\n%s", n, out)
	}
	if !strings.HasSuffix(out, "┘\n") || strings.Count(out, "└") != 2 {
		t.Errorf("boxes not closed:\n%s", out)
	}
	// Once piped, nothing of this: tab-separated rows.
	buf.Reset()
	l = New(&buf, Wide, false).List([]string{"N", "NAME"})
	l.Add(nil, "1", "a")
	l.Close()
	if buf.String() != "1\ta\n" {
		t.Errorf("piped wide: %q", buf.String())
	}
}

func TestObjectOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	v := struct {
		Name     string            `json:"name"`
		Groups   []string          `json:"groups"`
		Settings map[string]string `json:"settings"`
		Looks    string            `json:"looks"`
	}{"alice", []string{"R&D", "Sales"}, map[string]string{"ttl": "3d"}, `{"a":1}`}
	if err := New(&buf, Table, true).Object(v); err != nil {
		t.Fatal(err)
	}
	want := `┌──────────────┬───────────┐
│ FIELD        │ VALUE     │
├──────────────┼───────────┤
│ name         │ alice     │
│ groups       │ R&D,Sales │
│ settings.ttl │ 3d        │
│ looks        │ {"a":1}   │
└──────────────┴───────────┘
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
