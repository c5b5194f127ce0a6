package chart_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/chart"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// day returns n series over span sampled every step, following a working
// day, series i peaking lower than series i-1.
func day(n int, span, step time.Duration) []chart.Series {
	out := make([]chart.Series, n)
	for i := range out {
		out[i].Name = fmt.Sprintf("proxy-%03d", i)
		for at := t0; at.Before(t0.Add(span)); at = at.Add(step) {
			h := float64(at.Hour()) + float64(at.Minute())/60
			v := math.Max(0, math.Sin((h-7)/12*math.Pi))*float64(200-i) + float64(i%3)
			out[i].Points = append(out[i].Points, chart.Point{T: at, V: math.Round(v)})
		}
	}
	return out
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	return img
}

// count returns how many pixels of img are exactly c.
func count(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == c {
				n++
			}
		}
	}
	return n
}

var (
	blue  = color.RGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF} // the first series
	grey  = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xFF} // "other"
	white = color.RGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
)

func TestLinesImage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		series    []chart.Series
		w, h      int
		wantOther bool
	}{
		{"a day of 3 series", day(3, 24*time.Hour, time.Minute), 1200, 600, false},
		{"a week of 100 series", day(100, 7*24*time.Hour, 5*time.Minute), 1200, 600, true},
		{"nine series: all named", day(9, 6*time.Hour, time.Minute), 800, 400, false},
		{"smallest", day(2, time.Hour, time.Minute), chart.MinSize, chart.MinSize, false},
		{"one point", []chart.Series{{Name: "finance", Points: []chart.Point{{T: t0, V: 5}}}}, 640, 320, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := chart.Lines("Sessions", tt.series, tt.w, tt.h, chart.WithYLabel("Sessions"))
			if err != nil {
				t.Fatalf("Lines: %v", err)
			}
			img := decode(t, b)
			if got := img.Bounds(); got != image.Rect(0, 0, tt.w, tt.h) {
				t.Errorf("image bounds %v, want %dx%d", got, tt.w, tt.h)
			}
			if c := color.RGBAModel.Convert(img.At(0, 0)); c != white {
				t.Errorf("corner pixel %v, want white", c)
			}
			if n := count(img, blue); n < 10 {
				t.Errorf("%d pixels of the first series' colour: its line is not drawn", n)
			}
			// The dashed "other" line is long; text and anti-aliasing make
			// few pixels of exactly its grey.
			if n := count(img, grey); (n > 300) != tt.wantOther {
				t.Errorf("%d pixels of the 'other' grey; want other drawn: %v", n, tt.wantOther)
			}
		})
	}
}

// TestLinesDeterministic: the same chart gives the same bytes, drawn again
// or at once on several goroutines; a changed value gives other bytes.
func TestLinesDeterministic(t *testing.T) {
	t.Parallel()
	series := day(12, 24*time.Hour, 5*time.Minute)
	draw := func() []byte {
		b, err := chart.Lines("Sessions per virtual proxy", series, 900, 450, chart.WithLocation(time.FixedZone("CET", 3600)))
		if err != nil {
			t.Error(err)
		}
		return b
	}
	first := draw()
	outs := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() { outs[i] = draw() })
	}
	wg.Wait()
	for i, b := range outs {
		if !bytes.Equal(b, first) {
			t.Errorf("drawing %d differs from the first (%d vs %d bytes)", i, len(b), len(first))
		}
	}
	series[0].Points[100].V += 50
	if bytes.Equal(draw(), first) {
		t.Error("a changed value drew the same image")
	}
}

func TestLinesRefused(t *testing.T) {
	t.Parallel()
	ok := day(1, time.Hour, time.Minute)
	tests := []struct {
		name   string
		series []chart.Series
		w, h   int
		noData bool
	}{
		{"no series", nil, 800, 400, true},
		{"no values", []chart.Series{{Name: "a", Points: []chart.Point{{T: t0, V: math.NaN()}, {T: t0, V: math.Inf(1)}}}}, 800, 400, true},
		{"too narrow", ok, chart.MinSize - 1, 400, false},
		{"too tall", ok, 800, chart.MaxSize + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := chart.Lines("x", tt.series, tt.w, tt.h)
			if err == nil || b != nil {
				t.Fatalf("Lines = %d bytes, %v; want an error", len(b), err)
			}
			if errors.Is(err, chart.ErrNoData) != tt.noData {
				t.Errorf("Lines = %v; ErrNoData: want %v", err, tt.noData)
			}
		})
	}
}

// BenchmarkLines7d100 draws the trend figure: a 7-day chart of 100
// series at the 5-minute aggregate step, 1200 x 600. The target is at
// most 200 ms (trend_render_ms).
func BenchmarkLines7d100(b *testing.B) {
	series := day(100, 7*24*time.Hour, 5*time.Minute)
	start := time.Now()
	for b.Loop() {
		if _, err := chart.Lines("Sessions per virtual proxy, last 7 days", series, 1200, 600, chart.WithYLabel("Sessions")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "trend_render_ms")
}
