// Command qlikbench measures qlikbot against in-process simulators and
// prints a table for people, then one "key: value" line per figure for
// scripts. Everything is measured in one run; nothing is quoted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"text/tabwriter"

	"github.com/qlikbot/qlikbot/qlik/qlikbench"
)

func main() {
	runs := flag.Int("runs", 5, "repetitions per timed figure (the median is reported)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, qlikbench.Measurements(), qlikbench.Options{Runs: *runs}); err != nil {
		fmt.Fprintln(os.Stderr, "qlikbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, ms []qlikbench.Measurement, o qlikbench.Options) error {
	var all []qlikbench.Figure
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, m := range ms {
		figs, err := m.Run(ctx, o)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		fmt.Fprintln(tw, m.Name)
		for _, f := range figs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Label, format(f.Value), f.Unit)
		}
		all = append(all, figs...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, f := range all {
		fmt.Fprintf(out, "%s: %s\n", f.Key, format(f.Value))
	}
	return nil
}

func format(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
