package bot

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
)

// fitDeliverer delivers nowhere and shows at most two rows.
type fitDeliverer struct{}

func (fitDeliverer) Deliver(_ context.Context, dst Destination, _ Reply) (Destination, error) {
	return dst, nil
}

func (fitDeliverer) Fit(r Reply) int { return min(2, len(r.Table.Rows)) }

// plainDeliverer has no Fit.
type plainDeliverer struct{}

func (plainDeliverer) Deliver(_ context.Context, dst Destination, _ Reply) (Destination, error) {
	return dst, nil
}

func TestDeliverers(t *testing.T) {
	t.Parallel()
	ds := Deliverers{Slack: fitDeliverer{}, Console: plainDeliverer{}}
	r := Reply{Table: &Table{Columns: []string{"a"}, Rows: [][]string{{"1"}, {"2"}, {"3"}}}}
	cases := []struct {
		name    string
		p       Platform
		fit     int // -1: no Fit
		missing bool
	}{
		{"adapter with a Fit", Slack, 2, false},
		{"adapter without", Console, -1, false},
		{"no adapter here", Teams, -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ds.FitFor(tc.p)
			if (f == nil) != (tc.fit < 0) || (f != nil && f(r) != tc.fit) {
				t.Errorf("FitFor(%s): nil %v, want a fit of %d", tc.p, f == nil, tc.fit)
			}
			_, err := ds.Deliver(t.Context(), Destination{Platform: tc.p}, r)
			var nd *NoDelivererError
			if errors.As(err, &nd) != tc.missing || (tc.missing && nd.Platform != tc.p) {
				t.Errorf("Deliver to %s: %v", tc.p, err)
			}
		})
	}
}

// TestFitDelivered: a delivered reply whose table does not fit one
// message shows the rows that fit, says where the others are and carries
// the whole table as a CSV (or the CSV it had); one that fits is left
// alone; the reply handed in is not changed.
func TestFitDelivered(t *testing.T) {
	t.Parallel()
	rows := [][]string{{"1"}, {"2"}, {"3"}, {"4"}, {"5"}}
	fitTwo := func(r Reply) int { return min(2, len(r.Table.Rows)) }
	own := File{Name: "sessions.csv", Type: "text/csv", Data: []byte("a\n1\n")}
	cases := []struct {
		name      string
		in        Reply
		fit       func(Reply) int
		wantRows  int
		wantFiles []string
		wantNote  bool // a note naming wantFiles[0]
		noFiles   bool // the adapter cannot attach a file
	}{
		{"cut, CSV attached", Reply{Summary: []string{"s"}, Table: &Table{Columns: []string{"a"}, Rows: rows}}, fitTwo, 2, []string{"rows.csv"}, true, false},
		{"cut, its own CSV kept", Reply{Table: &Table{Columns: []string{"a"}, Rows: rows}, Files: []File{own}}, fitTwo, 2, []string{"sessions.csv"}, true, false},
		{"fits", Reply{Table: &Table{Columns: []string{"a"}, Rows: rows[:2]}}, fitTwo, 2, nil, false, false},
		{"no limit", Reply{Table: &Table{Columns: []string{"a"}, Rows: rows}}, nil, 5, nil, false, false},
		{"no table", Reply{Title: "x"}, fitTwo, 0, nil, false, false},
		{"cut, nothing can be attached", Reply{Table: &Table{Columns: []string{"a"}, Rows: rows}}, fitTwo, 2, nil, false, true},
		{"cut, its own CSV cannot be attached", Reply{Table: &Table{Columns: []string{"a"}, Rows: rows}, Files: []File{own}}, fitTwo, 2, []string{"sessions.csv"}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := PlainText(tc.in)
			got := FitDelivered(tc.in, tc.fit, !tc.noFiles)
			if PlainText(tc.in) != before || len(tc.in.Files) > 1 {
				t.Errorf("the reply handed in changed")
			}
			shown := 0
			if got.Table != nil {
				shown = len(got.Table.Rows)
			}
			if shown != tc.wantRows {
				t.Errorf("%d rows shown, want %d", shown, tc.wantRows)
			}
			var names []string
			for _, f := range got.Files {
				names = append(names, f.Name)
			}
			if !slices.Equal(names, tc.wantFiles) {
				t.Errorf("files %q, want %q", names, tc.wantFiles)
			}
			note := strings.Contains(strings.Join(got.Summary, "\n"), " holds all 5")
			if note && !strings.Contains(strings.Join(got.Summary, "\n"), got.Files[0].Name+" holds all 5") {
				t.Errorf("summary %q names another file than %s", got.Summary, got.Files[0].Name)
			}
			if note != tc.wantNote {
				t.Errorf("summary %q: note %v, want %v", got.Summary, note, tc.wantNote)
			}
			if cut := strings.Contains(strings.Join(got.Summary, "\n"), "no file can be attached here"); cut != (tc.noFiles && shown < 5) {
				t.Errorf("summary %q: the note that nothing can be attached %v, want %v", got.Summary, cut, tc.noFiles && shown < 5)
			}
			if !tc.wantNote {
				return
			}
			if rt := RangeText(got.Table); rt != "Rows 1–2 of 5" {
				t.Errorf("range %q", rt)
			}
			if got.Files[0].Name == "rows.csv" {
				recs, err := csv.NewReader(bytes.NewReader(got.Files[0].Data)).ReadAll()
				if err != nil || len(recs) != 6 || recs[5][0] != "5" {
					t.Errorf("attached CSV %q (%v): want the header and all 5 rows", got.Files[0].Data, err)
				}
			}
		})
	}
}
