package chart

import (
	"time"

	"gonum.org/v1/plot"
)

// tickSteps are the spacings a time axis may use, finest first.
var tickSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// timeTicks marks a time axis (values in Unix seconds) at round times in
// loc: the finest step that gives at most max labelled ticks, counted on
// loc's wall clock from local midnight. Ticks at midnight show the date, others the time of day;
// steps of a day or more show the date.
type timeTicks struct {
	loc *time.Location
	max int
}

var _ plot.Ticker = timeTicks{}

// Ticks implements plot.Ticker.
func (tt timeTicks) Ticks(lo, hi float64) []plot.Tick {
	from, to := unixTime(lo, tt.loc), unixTime(hi, tt.loc)
	span := to.Sub(from)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if int(span/s)+1 <= max(tt.max, 2) {
			step = s
			break
		}
	}
	if span/step > 1000 {
		// Far outside what the history holds: plain numbered ticks
		// rather than thousands of dates.
		return plot.TimeTicks{Format: "2006-01-02", Time: plot.UnixTimeIn(tt.loc)}.Ticks(lo, hi)
	}
	// Ticks step on the wall clock of loc, from local midnight, so they
	// stay on round hours (and days on midnight) across a DST change. A
	// wall time a change skips lands on the next tick's: kept once.
	y, m, d := from.Date()
	var ticks []plot.Tick
	var last time.Time
	for k := 0; ; k++ {
		var t time.Time
		if step >= 24*time.Hour {
			t = time.Date(y, m, d+k*int(step/(24*time.Hour)), 0, 0, 0, 0, tt.loc)
		} else {
			t = time.Date(y, m, d, 0, k*int(step/time.Minute), 0, 0, tt.loc)
		}
		if t.After(to) {
			return ticks
		}
		if t.Before(from) || (!last.IsZero() && !t.After(last)) {
			continue
		}
		last = t
		ticks = append(ticks, plot.Tick{Value: unixSeconds(t), Label: tickLabel(t, step)})
	}
}

func tickLabel(t time.Time, step time.Duration) string {
	switch {
	case step >= 24*time.Hour:
		return t.Format("Mon Jan 2")
	case t.Hour() == 0 && t.Minute() == 0:
		return t.Format("Jan 2")
	}
	return t.Format("15:04")
}

// unixSeconds is the axis value of t.
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func unixTime(v float64, loc *time.Location) time.Time {
	return time.Unix(0, int64(v*1e9)).In(loc)
}
