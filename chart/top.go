package chart

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Point is one value at one time.
type Point struct {
	T time.Time
	V float64
}

// Series is a named line. Points need not be sorted; NaN and infinite
// values are left out.
type Series struct {
	Name   string
	Points []Point
}

// OtherName names the sum of the series Top does not name.
const OtherName = "other"

// Peak returns the largest value of s (NaN when it has none).
func (s Series) Peak() float64 {
	peak := math.NaN()
	for _, p := range s.Points {
		if finite(p.V) && (math.IsNaN(peak) || p.V > peak) {
			peak = p.V
		}
	}
	return peak
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Top returns the n series with the highest peaks, highest first (ties by
// name), and, when more than one series is left over, their sum as a last
// series named OtherName: at each time any of them has a value, the sum of
// the values they have then. With n+1 series or fewer every series is
// named. Series without a value are dropped. Each returned series' points
// are sorted by time and finite.
func Top(series []Series, n int) []Series {
	named, other, summed := rank(series, n)
	if summed > 0 {
		named = append(named, other)
	}
	return named
}

// rank returns the series Top names and the sum of the rest, of summed
// series (0: no sum).
func rank(series []Series, n int) (named []Series, other Series, summed int) {
	type ranked struct {
		s    Series
		peak float64
	}
	var rs []ranked
	for _, s := range series {
		if peak := s.Peak(); !math.IsNaN(peak) {
			rs = append(rs, ranked{s, peak})
		}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if c := cmp.Compare(b.peak, a.peak); c != 0 {
			return c
		}
		return cmp.Compare(a.s.Name, b.s.Name)
	})
	n = max(n, 1)
	if len(rs) <= n+1 {
		n = len(rs)
	}
	named = make([]Series, 0, n+1)
	for _, r := range rs[:n] {
		named = append(named, Series{Name: r.s.Name, Points: clean(r.s.Points)})
	}
	rest := rs[n:]
	if len(rest) == 0 {
		return named, Series{}, 0
	}
	sums := map[int64]float64{}
	for _, r := range rest {
		for _, p := range r.s.Points {
			if finite(p.V) {
				sums[p.T.UnixNano()] += p.V
			}
		}
	}
	other = Series{Name: OtherName, Points: make([]Point, 0, len(sums))}
	for t, v := range sums {
		other.Points = append(other.Points, Point{T: time.Unix(0, t).UTC(), V: v})
	}
	sortPoints(other.Points)
	return named, other, len(rest)
}

// clean returns the finite points, sorted by time.
func clean(pts []Point) []Point {
	out := make([]Point, 0, len(pts))
	for _, p := range pts {
		if finite(p.V) {
			out = append(out, p)
		}
	}
	sortPoints(out)
	return out
}

func sortPoints(pts []Point) {
	slices.SortStableFunc(pts, func(a, b Point) int { return a.T.Compare(b.T) })
}
