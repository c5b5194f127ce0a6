package bottest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
)

// Shown is one page as a platform showed it: its table's header (columns
// empty on every row of the page left out) and its rows.
type Shown struct {
	Columns []string
	Rows    [][]string
}

// EveryRowOnce checks that the pages together show every row of the whole
// list (the CSV of a long list, header first) exactly once. Rows are
// compared whole, cell by cell under their column names, so no column
// (such as a session id, which may be shortened) serves as the key.
func EveryRowOnce(whole []byte, pages []Shown) error {
	recs, err := csv.NewReader(bytes.NewReader(whole)).ReadAll()
	if err != nil {
		return fmt.Errorf("read the CSV: %w", err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("empty CSV")
	}
	header := recs[0]
	want := map[string]int{}
	for _, r := range recs[1:] {
		want[key(r)]++
	}
	got := map[string]int{}
	n := 0
	for i, p := range pages {
		idx := make([]int, len(p.Columns))
		for j, c := range p.Columns {
			idx[j] = slices.Index(header, c)
			if idx[j] < 0 {
				return fmt.Errorf("page %d: column %q is not in the CSV header %q", i+1, c, header)
			}
		}
		for _, r := range p.Rows {
			full := make([]string, len(header))
			for j, v := range r {
				full[idx[j]] = v
			}
			k := key(full)
			got[k]++
			n++
			if got[k] > want[k] {
				return fmt.Errorf("page %d shows a row %s that is not in the list or was shown before", i+1, strings.Join(full, " | "))
			}
		}
	}
	if n != len(recs)-1 {
		return fmt.Errorf("the pages show %d rows, the list has %d", n, len(recs)-1)
	}
	return nil
}

// key is a row as one comparable string; CSV cells that a spreadsheet
// would run as a formula carry a leading apostrophe (bot.TableCSV).
func key(r []string) string {
	out := make([]string, len(r))
	for i, c := range r {
		if strings.HasPrefix(c, "'") && len(c) > 1 && strings.ContainsRune("=+-@\t\r", rune(c[1])) {
			c = c[1:]
		}
		out[i] = c
	}
	return strings.Join(out, "\x1f")
}

// E2ESessions is the size of the generated site that end-to-end paging
// tests list Next by Next: 10,000 sessions. Under the race detector, which
// makes every listing of the whole site about 6 times slower, it is 2,000,
// so that the hundreds of pages a Teams card budget makes stay within the
// test timeout; the same code runs either way.
func E2ESessions() int {
	if raceEnabled {
		return 2000
	}
	return 10000
}
