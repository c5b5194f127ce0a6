package chart

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones below, wherever the tests run
)

// TestTicksAcrossDST: hourly and daily ticks stay on round hours and on
// midnight on the local wall clock across both DST changes, with no tick
// twice.
func TestTicksAcrossDST(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
		max      int
		step     time.Duration
	}{
		{"autumn, 6 h", time.Date(2026, 10, 24, 18, 0, 0, 0, berlin), time.Date(2026, 10, 26, 6, 0, 0, 0, berlin), 8, 6 * time.Hour},
		{"spring, 1 h", time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 3, 29, 6, 0, 0, 0, berlin), 8, time.Hour},
		{"autumn, days", time.Date(2026, 10, 20, 0, 0, 0, 0, berlin), time.Date(2026, 10, 30, 0, 0, 0, 0, berlin), 12, 24 * time.Hour},
	} {
		ticks := timeTicks{loc: berlin, max: c.max}.Ticks(unixSeconds(c.from), unixSeconds(c.to))
		if len(ticks) < 3 {
			t.Fatalf("%s: %d ticks", c.name, len(ticks))
		}
		var prev float64
		for i, tk := range ticks {
			at := unixTime(tk.Value, berlin)
			wall := time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute
			if wall%c.step != 0 && c.step < 24*time.Hour || c.step >= 24*time.Hour && wall != 0 {
				t.Errorf("%s: tick %d at %s, not on a round %v", c.name, i, at.Format(time.RFC3339), c.step)
			}
			if i > 0 && tk.Value <= prev {
				t.Errorf("%s: tick %d at %s not after the one before", c.name, i, at.Format(time.RFC3339))
			}
			prev = tk.Value
		}
	}
}
