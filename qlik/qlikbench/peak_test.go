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
