package qlikbench

import (
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestPeakPerSecond(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(offsets ...time.Duration) []qliksim.Request {
		out := make([]qliksim.Request, len(offsets))
		for i, o := range offsets {
			out[i] = qliksim.Request{Time: t0.Add(o)}
		}
		return out
	}
	every := func(n int, step time.Duration) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i) * step
		}
		return out
	}
	tests := []struct {
		name string
		reqs []qliksim.Request
		want int
	}{
		{name: "none", want: 0},
		{name: "one", reqs: at(0), want: 1},
		{name: "exactly one second apart are two windows", reqs: at(0, time.Second), want: 1},
		{name: "just under a second apart", reqs: at(0, time.Second-1), want: 2},
		{name: "10 per second for 3 seconds", reqs: at(every(30, 100*time.Millisecond)...), want: 10},
		{name: "a burst in the middle, out of order", reqs: at(2*time.Second, 0, 1500*time.Millisecond, 1600*time.Millisecond, 1700*time.Millisecond), want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := PeakPerSecond(tt.reqs); got != tt.want {
				t.Errorf("PeakPerSecond = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{name: "none", want: 0},
		{name: "one", in: []time.Duration{3}, want: 3},
		{name: "odd, unsorted", in: []time.Duration{9, 1, 5}, want: 5},
		{name: "even takes the upper middle", in: []time.Duration{4, 1, 3, 2}, want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Median(tt.in); got != tt.want {
				t.Errorf("Median = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListSizes(t *testing.T) {
	t.Parallel()
	for _, s := range []ListSize{StandardList, LargeList, ShortList, ShortLargeList} {
		if s.Users*5 < s.Sessions {
			t.Errorf("%s: %d users cannot hold %d sessions under the 5-session limit", s, s.Users, s.Sessions)
		}
	}
	if LargeList.Pairs() != 400 || LargeList.Sessions != 10000 {
		t.Errorf("large site is %s, want 100 x 4 with 10,000 sessions", LargeList)
	}
}
