// Package chart draws time series as PNG line charts for chat (/qlik trend):
// a title, a time axis whose ticks read as times of day or dates, a value
// axis from zero, a grid, and a legend beside the plot naming the top
// series, the rest summed as "other".
//
//	png, err := chart.Lines("Sessions per virtual proxy, last 24 h", series, 1200, 600,
//		chart.WithYLabel("Sessions"), chart.WithTop(8))
//
// Lines is deterministic: the same series, title, size and options give
// the same bytes, because it reads no clock and uses only the fonts
// compiled in (Liberation, from gonum.org/v1/plot), never the system's.
// Tick labels are in UTC unless WithLocation says otherwise. It holds no
// state and is safe for concurrent use.
//
// Drawing is done by gonum.org/v1/plot (BSD-3-Clause) and its
// dependencies: git.sr.ht/~sbinet/gg (MIT), github.com/golang/freetype
// (FreeType License, chosen over GPLv2: "Portions of this software are
// copyright The FreeType Project (www.freetype.org)"), golang.org/x/image
// (BSD-3-Clause), codeberg.org/go-latex/latex and go-fonts/liberation
// (BSD-3-Clause; the Liberation fonts under the SIL Open Font License), and,
// linked but unused because plot registers every output format,
// codeberg.org/go-pdf/fpdf (MIT) and github.com/ajstarks/svgo (CC BY 4.0).
package chart
