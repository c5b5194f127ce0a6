package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"time"
	"unicode/utf8"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Limits and defaults of Lines.
const (
	DefaultTop = 8    // series named in the legend
	MaxTop     = 20   // WithTop's ceiling: a legend longer than this is unreadable
	MinSize    = 200  // pixels, each side
	MaxSize    = 4000 // pixels, each side
	maxName    = 32   // runes of a series name in the legend
	dpi        = 96
)

// ErrNoData: no series has a finite value to draw.
var ErrNoData = errors.New("chart: no data to draw")

// Option configures Lines.
type Option func(*config)

type config struct {
	top    int
	ylabel string
	loc    *time.Location
}

// WithTop names the n series with the highest peaks (1 to MaxTop; default
// DefaultTop) and sums the others as "other".
func WithTop(n int) Option {
	return func(c *config) { c.top = min(max(n, 1), MaxTop) }
}

// WithYLabel labels the value axis ("Sessions").
func WithYLabel(s string) Option { return func(c *config) { c.ylabel = s } }

// WithLocation shows times in loc (default UTC); nil is UTC.
func WithLocation(loc *time.Location) Option {
	return func(c *config) {
		if loc != nil {
			c.loc = loc
		}
	}
}

// The series' colors: Okabe-Ito's, which colour-blind readers tell apart,
// with brown for their yellow (faint on white); "other" is grey and dashed.
var (
	palette = []color.Color{
		rgb(0x0072B2), rgb(0xD55E00), rgb(0x009E73), rgb(0xCC79A7),
		rgb(0xE69F00), rgb(0x56B4E9), rgb(0x8C564B), rgb(0x000000),
	}
	otherColor = rgb(0x999999)
	gridColor  = rgb(0xE0E0E0)
	sans       = font.Font{Typeface: "Liberation", Variant: "Sans"}
)

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xFF}
}

// Lines draws series as a line chart of w x h pixels and returns it as a
// PNG: the Top series by peak named in the legend beside the plot, the
// rest summed as "other (N)"; the value axis starts at zero.
func Lines(title string, series []Series, w, h int, opts ...Option) ([]byte, error) {
	if w < MinSize || w > MaxSize || h < MinSize || h > MaxSize {
		return nil, fmt.Errorf("chart %q: size %dx%d: each side must be %d to %d pixels", title, w, h, MinSize, MaxSize)
	}
	cfg := config{top: DefaultTop, loc: time.UTC}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	lines, other, summed := rank(series, cfg.top)
	if summed > 0 {
		lines = append(lines, other)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("chart %q: %w", title, ErrNoData)
	}

	// The canvas is made from an image of exactly w x h pixels (vgimg
	// copies it and fills it white).
	cv := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))), vgimg.UseDPI(dpi))
	dc := draw.New(cv)
	pad := vg.Points(8)

	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 14)
	p.Title.Padding = pad
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sans, 11)
		ax.Tick.Label.Font = font.From(sans, 10)
	}
	p.X.Label.Text = "Time (" + cfg.loc.String() + ")"
	p.X.Tick.Marker = timeTicks{loc: cfg.loc, max: w / 110}
	p.Y.Label.Text = cfg.ylabel
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridColor, gridColor
	p.Add(grid)

	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font = font.From(sans, 11)
	legend.Padding = vg.Points(3)
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for i, s := range lines {
		xys := make(plotter.XYs, len(s.Points))
		for j, pt := range s.Points {
			xys[j] = plotter.XY{X: unixSeconds(pt.T), Y: pt.V}
			xmin, xmax, ymax = math.Min(xmin, xys[j].X), math.Max(xmax, xys[j].X), math.Max(ymax, pt.V)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("chart %q: series %q: %w", title, s.Name, err)
		}
		l.Width = vg.Points(1.5)
		l.Color = palette[i%len(palette)]
		if i >= len(palette) {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		name := shorten(s.Name)
		if summed > 0 && i == len(lines)-1 {
			l.Color, l.Dashes = otherColor, []vg.Length{vg.Points(4), vg.Points(3)}
			name = fmt.Sprintf("%s (%d)", OtherName, summed)
		}
		p.Add(l)
		if len(xys) == 1 {
			// A line of one point draws nothing: mark the point.
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("chart %q: series %q: %w", title, s.Name, err)
			}
			sc.Color, sc.Shape, sc.Radius = l.Color, draw.CircleGlyph{}, vg.Points(2.5)
			p.Add(sc)
		}
		legend.Add(name, l)
	}
	// One instant, or values all zero, still give an axis to read.
	if xmax-xmin < 60 {
		xmin, xmax = (xmin+xmax)/2-30, (xmin+xmax)/2+30
	}
	p.X.Min, p.X.Max = xmin, xmax
	p.Y.Min, p.Y.Max = 0, math.Max(1, ymax*1.05)

	// The legend stands beside the plot, level with its top, so it never
	// hides a line.
	lr := legend.Rectangle(dc)
	lw := min(lr.Max.X-lr.Min.X, dc.Max.X*0.35)
	p.Draw(draw.Crop(dc, 0, -(lw + 2*pad), 0, 0))
	titleH := p.Title.TextStyle.Height(title) + p.Title.Padding
	legend.Draw(draw.Crop(dc, dc.Max.X-lw-pad, -pad, 0, -(titleH + pad)))

	// Fastest compression: the default level takes about twice as long
	// (half of the whole drawing) for a file 7% smaller.
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, cv.Image()); err != nil {
		return nil, fmt.Errorf("chart %q: encode png: %w", title, err)
	}
	return buf.Bytes(), nil
}

// shorten keeps a legend entry to maxName runes.
func shorten(name string) string {
	if utf8.RuneCountInString(name) <= maxName {
		return name
	}
	r := []rune(name)
	return string(r[:maxName-1]) + "…"
}
