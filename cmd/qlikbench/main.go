// Command qlikbench measures qlikbot against in-process simulators and
// prints a table for people, then one "key: value" line per figure for
// scripts. Everything is measured in one run; nothing is quoted.
//
//	go run ./cmd/qlikbench [-runs N] [-only ID|KEY[,...]] [-short]
//
// -only takes measurement ids (list, list10k, health, ack, delete, rss,
// journal, resume, sites, watch, startup) or figure keys (which select the
// measurement that yields them).
// The list, health and memory figures are taken with the Qlik limits a new
// user gets: the bench builds the qlikbot binary once, reads them from
// `qlikbot -h`, and times that binary's start-up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/qlikbot/qlikbot/cmd/qlikbench/botbench"
	"github.com/qlikbot/qlikbot/internal/gctune"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
)

func main() {
	// The bot runs in this process (and in the memory child, which is this
	// program too): give it the garbage collector qlikbot runs with.
	gctune.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := realMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp): // -h: the usage is printed already
	case err != nil:
		fmt.Fprintln(os.Stderr, "qlikbench:", err)
		os.Exit(1)
	}
}

// realMain is main without the process: arguments in, output out.
func realMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == botbench.ChildArg { // hidden: the memory measurement's child
		return botbench.RunChild(ctx, stdin, stdout)
	}
	fs := flag.NewFlagSet("qlikbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.Int("runs", 5, "repetitions per timed figure where a median is reported (the ack bursts: 3 unless set, at most 5)")
	only := fs.String("only", "", "comma-separated measurement ids (list, list10k, health, ack, delete, rss, journal, resume, sites, watch, startup) or figure keys to run (default: all)")
	short := fs.Bool("short", false, "smaller sites and sizes, for a quick smoke run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *runs < 1 {
		return fmt.Errorf("-runs %d: want at least 1", *runs)
	}
	// Unset, each measurement takes its own default (5 runs, 3 bursts for
	// the ack figures); -short makes it 1.
	o := qlikbench.Options{Short: *short}
	switch {
	case isSet(fs, "runs"):
		o.Runs = *runs
	case *short:
		o.Runs = 1
	}
	ms, err := selectMeasurements(all(o), *only)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(ms, func(m qlikbench.Measurement) bool { return m.Shipped }) {
		dir, err := os.MkdirTemp("", "qlikbench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if o.Qlikbot, err = buildQlikbot(ctx, dir); err != nil {
			return err
		}
		if o.Shipped, err = shippedDefaults(ctx, o.Qlikbot); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "qlikbot's shipped Qlik limits: %s\n", o.Shipped)
	}
	return run(ctx, stdout, ms, o)
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// all lists every measurement in print order.
func all(o qlikbench.Options) []qlikbench.Measurement {
	ms := append(qlikbench.Measurements(o), botbench.Measurements(o)...)
	ms = append(ms, botbench.JobMeasurements(o)...)
	return append(ms, sitesMeasurement(), watchMeasurement(o), startupMeasurement())
}

// selectMeasurements keeps the measurements named by id or by one of
// their keys in only ("" keeps all). An unknown name is an error.
func selectMeasurements(ms []qlikbench.Measurement, only string) ([]qlikbench.Measurement, error) {
	if strings.TrimSpace(only) == "" {
		return ms, nil
	}
	want := map[int]bool{}
	for _, name := range strings.Split(only, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(ms, func(m qlikbench.Measurement) bool { return m.ID == name || slices.Contains(m.Keys, name) })
		if i < 0 {
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
			return nil, fmt.Errorf("-only: no measurement or figure %q (measurements: %s)", name, strings.Join(ids, ", "))
		}
		want[i] = true
	}
	var out []qlikbench.Measurement
	for i, m := range ms {
		if want[i] {
			out = append(out, m)
		}
	}
	return out, nil
}

func run(ctx context.Context, out io.Writer, ms []qlikbench.Measurement, o qlikbench.Options) error {
	var figs []qlikbench.Figure
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, m := range ms {
		got, err := m.Run(ctx, o)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if err := checkKeys(m, got); err != nil {
			return err
		}
		fmt.Fprintln(tw, m.Name)
		for _, f := range got {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Label, format(f.Value), f.Unit)
		}
		figs = append(figs, got...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, f := range figs {
		fmt.Fprintf(out, "%s: %s\n", f.Key, format(f.Value))
	}
	return nil
}

// checkKeys holds a measurement to the keys it declares (when it declares
// any), so -only and scripts can rely on them.
func checkKeys(m qlikbench.Measurement, figs []qlikbench.Figure) error {
	if m.Keys == nil {
		return nil
	}
	got := make([]string, len(figs))
	for i, f := range figs {
		got[i] = f.Key
	}
	if !slices.Equal(got, m.Keys) {
		return fmt.Errorf("%s: yielded figures %v, declared %v", m.ID, got, m.Keys)
	}
	return nil
}

func format(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
