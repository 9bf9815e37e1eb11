package render

import (
	"io"
	"slices"

	"github.com/clipperhouse/displaywidth"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// A terminal table streams: a listing of a million events, a --follow that
// never ends and a pager that may quit at any row cannot wait for the last
// row to size the columns. Rows are drawn a chunk at a time (chunkRows, or
// whatever is waiting when the list is flushed) by tablewriter in its
// streaming mode, with the column widths fixed here: they come from the
// first chunk (and any minimum the caller gave) and hold for the rows that
// follow; a later chunk that needs wider columns, and has room for them,
// closes the box and opens a new one under a repeated header.
//
// Widths are display widths (displaywidth: wide East Asian characters
// count two, combining marks nothing). With a terminal width, the widest
// columns give way until every line fits, and a cell longer than its
// column is cut with "…"; -o wide (Printer.wide) cuts nothing.

// chunkRows is how many rows a terminal table holds before it draws them.
const chunkRows = 256

// ellipsis ends a cut cell.
const ellipsis = "…"

// boxTable draws rows in a box, streaming.
type boxTable struct {
	w       io.Writer
	header  []string // nil: no header row
	maxLine int      // the terminal's columns; 0: no limit
	min     []int    // minimum widths, by column (SetMinWidths)

	widths  []int              // the open box's column widths; nil: no box open
	box     *tablewriter.Table // the open box
	pending [][]string         // rows not drawn yet
}

// add queues a row, drawing the chunk once it is full.
func (t *boxTable) add(cells []string) error {
	t.pending = append(t.pending, cells)
	if len(t.pending) >= chunkRows {
		return t.flush()
	}
	return nil
}

// flush draws the rows waiting, opening a box first when none is open or
// the rows need wider columns than it has.
func (t *boxTable) flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	if widths := t.fit(t.natural()); !slices.Equal(widths, t.widths) {
		if err := t.closeBox(); err != nil {
			return err
		}
		if err := t.openBox(widths); err != nil {
			return err
		}
	}
	for _, r := range t.pending {
		if err := t.box.Append(t.cut(r)); err != nil {
			return err
		}
	}
	t.pending = t.pending[:0]
	return nil
}

// openBox starts a box with these column widths, and its header.
func (t *boxTable) openBox(widths []int) error {
	perColumn := tw.NewMapper[int, int]()
	for i, w := range widths {
		perColumn.Set(i, w+2) // tablewriter's widths hold the padding
	}
	t.widths = widths
	t.box = tablewriter.NewTable(t.w,
		tablewriter.WithStreaming(tw.StreamConfig{Enable: true}),
		tablewriter.WithColumnWidths(perColumn),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.Off),
	)
	if err := t.box.Start(); err != nil {
		return err
	}
	if t.header != nil {
		t.box.Header(t.cut(t.header))
	}
	return nil
}

// closeBox draws the open box's bottom edge.
func (t *boxTable) closeBox() error {
	if t.box == nil {
		return nil
	}
	err := t.box.Close()
	t.box, t.widths = nil, nil
	return err
}

// close draws what is waiting and the box's bottom edge.
func (t *boxTable) close() error {
	if err := t.flush(); err != nil {
		return err
	}
	return t.closeBox()
}

// natural is the width each column needs to show every cell whole: the
// header, the waiting rows, the minimum asked for, and the open box's.
func (t *boxTable) natural() []int {
	n := len(t.header)
	for _, r := range t.pending {
		n = max(n, len(r))
	}
	w := make([]int, n)
	grow := func(cells []string) {
		for i, c := range cells {
			w[i] = max(w[i], displaywidth.String(c))
		}
	}
	grow(t.header)
	for _, r := range t.pending {
		grow(r)
	}
	for i := range min(len(t.min), n) {
		w[i] = max(w[i], t.min[i])
	}
	for i := range min(len(t.widths), n) {
		w[i] = max(w[i], t.widths[i])
	}
	return w
}

// lastColumnFloor is how narrow the last column gets before any other
// column is cut.
const lastColumnFloor = 12

// fit narrows columns until a line fits maxLine: each column costs its
// width plus three ("│ " before, " " after), and the line one more for its
// closing "│". The last column gives way first, down to lastColumnFloor:
// tables end with their free text (details, roles, a value). Then the
// widest columns give way, each keeping at least one character.
func (t *boxTable) fit(natural []int) []int {
	if t.maxLine <= 0 || len(natural) == 0 {
		return natural
	}
	w := slices.Clone(natural)
	budget := t.maxLine - 3*len(w) - 1
	sum := 0
	for _, x := range w {
		sum += x
	}
	if sum <= budget {
		return w
	}
	last := len(w) - 1
	others := sum - w[last]
	w[last] = max(min(w[last], lastColumnFloor), budget-others)
	if sum = others + w[last]; sum <= budget {
		return w
	}
	budget = max(budget, len(w))
	// The largest cap c with Σ min(w, c) ≤ budget; what is left over
	// widens the capped columns, leftmost first.
	lo, hi := 1, 0
	for _, x := range w {
		hi = max(hi, x)
	}
	for lo < hi {
		c := (lo + hi + 1) / 2
		s := 0
		for _, x := range w {
			s += min(x, c)
		}
		if s <= budget {
			lo = c
		} else {
			hi = c - 1
		}
	}
	out := make([]int, len(w))
	used := 0
	for i, x := range w {
		out[i] = min(x, lo)
		used += out[i]
	}
	for i, x := range w {
		if used < budget && x > lo {
			out[i]++
			used++
		}
	}
	return out
}

// cut fits each cell to its column: a cell wider than its column is cut
// with "…" (display width: wide characters count two), so tablewriter,
// which would cut it without a mark, never has to.
func (t *boxTable) cut(cells []string) []string {
	out := make([]string, len(t.widths))
	for i, width := range t.widths {
		if i < len(cells) {
			out[i] = cells[i]
		}
		if displaywidth.String(out[i]) > width {
			out[i] = displaywidth.TruncateString(out[i], width, ellipsis)
		}
	}
	return out
}
