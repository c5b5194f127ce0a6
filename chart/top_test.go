package chart

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func pts(vs ...float64) []Point {
	out := make([]Point, len(vs))
	for i, v := range vs {
		out[i] = Point{T: at(i), V: v}
	}
	return out
}

// render writes series as "name: v@min v@min; ...".
func render(ss []Series) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s.Name + ":")
		for _, p := range s.Points {
			fmt.Fprintf(&b, " %v@%d", p.V, int(p.T.Sub(t0)/time.Minute))
		}
	}
	return b.String()
}

func TestTop(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		name   string
		series []Series
		n      int
		want   string
	}{
		{"by peak, ties by name", []Series{
			{"b", pts(1, 5)}, {"a", pts(5, 0)}, {"c", pts(9)},
		}, 8, "c: 9@0; a: 5@0 0@1; b: 1@0 5@1"},
		{"n+1 series: all named", []Series{
			{"a", pts(1)}, {"b", pts(2)}, {"c", pts(3)},
		}, 2, "c: 3@0; b: 2@0; a: 1@0"},
		{"the rest summed where each has a value", []Series{
			{"big", pts(50, 60)},
			{"x", pts(1, 2)},
			{"y", []Point{{at(1), 10}, {at(5), 4}}},
			{"z", pts(3)},
		}, 1, "big: 50@0 60@1; other: 4@0 12@1 4@5"},
		{"no values dropped, NaN left out, points sorted", []Series{
			{"empty", nil},
			{"nan", pts(nan, nan)},
			{"mixed", []Point{{at(3), 7}, {at(1), nan}, {at(0), 1}}},
		}, 8, "mixed: 1@0 7@3"},
		{"n below 1 names one", []Series{
			{"a", pts(1)}, {"b", pts(2)}, {"c", pts(3)},
		}, 0, "c: 3@0; other: 3@0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := render(Top(tt.series, tt.n)); got != tt.want {
				t.Errorf("Top = %q\nwant  %q", got, tt.want)
			}
		})
	}
}

func TestTimeTicks(t *testing.T) {
	t.Parallel()
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name     string
		from, to time.Time
		loc      *time.Location
		max      int
		want     string
	}{
		{"an hour", t0.Add(5 * time.Minute), t0.Add(65 * time.Minute), time.UTC, 8,
			"00:10 00:20 00:30 00:40 00:50 01:00"},
		{"a day", t0, t0.Add(24 * time.Hour), time.UTC, 10,
			"Mar 1 03:00 06:00 09:00 12:00 15:00 18:00 21:00 Mar 2"},
		{"a day in CET", t0, t0.Add(24 * time.Hour), cet, 5,
			"06:00 12:00 18:00 Mar 2"},
		{"a week", t0.Add(time.Hour), t0.Add(7 * 24 * time.Hour), time.UTC, 10,
			"Mon Mar 2 Tue Mar 3 Wed Mar 4 Thu Mar 5 Fri Mar 6 Sat Mar 7 Sun Mar 8"},
		{"a narrow week", t0, t0.Add(7 * 24 * time.Hour), time.UTC, 4,
			"Sun Mar 1 Tue Mar 3 Thu Mar 5 Sat Mar 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ticks := timeTicks{loc: tt.loc, max: tt.max}.Ticks(unixSeconds(tt.from), unixSeconds(tt.to))
			var labels []string
			for _, tk := range ticks {
				v := unixTime(tk.Value, tt.loc)
				if v.Before(tt.from) || v.After(tt.to) {
					t.Errorf("tick %q at %s outside the range", tk.Label, v)
				}
				labels = append(labels, tk.Label)
			}
			if got := strings.Join(labels, " "); got != tt.want {
				t.Errorf("labels %q\nwant   %q", got, tt.want)
			}
			if len(ticks) > max(tt.max, 2) {
				t.Errorf("%d ticks, want at most %d", len(ticks), tt.max)
			}
		})
	}
	// Years of range fall back to plain dated ticks, not thousands.
	var _ plot.Ticker = timeTicks{}
	far := timeTicks{loc: time.UTC, max: 8}.Ticks(unixSeconds(t0), unixSeconds(t0.AddDate(200, 0, 0)))
	if len(far) == 0 || len(far) > 100 {
		t.Errorf("%d ticks over 200 years", len(far))
	}
}
