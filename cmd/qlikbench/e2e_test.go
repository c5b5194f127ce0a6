package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/cmd/qlikbench/botbench"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
)

// TestMain lets the test binary play the memory measurement's child, as
// the real binary does: the measurement re-executes os.Executable().
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == botbench.ChildArg {
		if err := realMain(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "qlikbench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestShortRunPrintsEveryKey runs `qlikbench -short` end to end (every
// scenario, the memory child included) and checks the output: a table,
// then every declared key once, in order, with a number. It asserts no
// timing; the one count it checks (answered commands) is correctness.
func TestShortRunPrintsEveryKey(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := realMain(t.Context(), []string{"-short"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("qlikbench -short: %v\nstderr: %s", err, errOut.String())
	}
	table, keys, ok := strings.Cut(out.String(), "\n\n")
	if !ok {
		t.Fatalf("no blank line between table and keys:\n%s", out.String())
	}
	var want []string
	for _, m := range all(qlikbench.Options{Short: true}) {
		want = append(want, m.Keys...)
		if !strings.Contains(table, m.Name+"\n") {
			t.Errorf("table lacks the heading %q", m.Name)
		}
	}
	lines := strings.Split(strings.TrimSuffix(keys, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d key lines, want %d:\n%s", len(lines), len(want), keys)
	}
	values := map[string]float64{}
	for i, line := range lines {
		k, v, ok := strings.Cut(line, ": ")
		if !ok || k != want[i] {
			t.Errorf("line %d = %q, want key %q", i+1, line, want[i])
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		// An overhead is a difference of two timings: on a short run its
		// noise can make it negative.
		if err != nil || f < 0 && !strings.HasSuffix(k, "_overhead_pct") {
			t.Errorf("%s: %q is not a non-negative number", k, v)
		}
		values[k] = f
	}
	if got := values["ack_answered"]; got != 20 {
		t.Errorf("ack_answered = %v, want all 20 short-run commands answered with the list", got)
	}
	if got, ok := values["sim_503"]; !ok || got != 0 {
		t.Errorf("sim_503 = %v (present %v), want 0: the client at qlikbot's defaults overloaded a node", got, ok)
	}
	if !strings.Contains(table, "qlikbot's shipped Qlik limits") || !strings.Contains(keys, "list_1k_ms: ") {
		t.Errorf("the short run does not say its limits or name its figures for its sizes:\n%s", out.String())
	}
}

func TestSelectMeasurements(t *testing.T) {
	t.Parallel()
	ms := []qlikbench.Measurement{
		{ID: "list", Keys: []string{"list_cold_ms", "list_warm_ms"}},
		{ID: "ack", Keys: []string{"ack_p50_ms"}},
		{ID: "rss", Keys: []string{"rss_idle_mb"}},
	}
	tests := []struct {
		name, only string
		want       []string // ids, in print order
		wantErr    bool
	}{
		{name: "empty keeps all", only: "", want: []string{"list", "ack", "rss"}},
		{name: "by id", only: "ack", want: []string{"ack"}},
		{name: "by key", only: "list_warm_ms", want: []string{"list"}},
		{name: "several keep print order", only: "rss, list", want: []string{"list", "rss"}},
		{name: "same measurement twice", only: "list_cold_ms,list", want: []string{"list"}},
		{name: "unknown", only: "list,bogus", wantErr: true},
		{name: "empty item", only: "list,", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := selectMeasurements(ms, tt.only)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "-only") {
					t.Errorf("err = %v, want an -only error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Errorf("selected %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestRealMainRefusesBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "zero runs", args: []string{"-runs", "0"}, want: "-runs"},
		{name: "unknown measurement", args: []string{"-short", "-only", "nope"}, want: `"nope"`},
		{name: "stray argument", args: []string{"-short", "list"}, want: "unexpected"},
		{name: "unknown flag", args: []string{"-fast"}, want: "-fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := realMain(t.Context(), tt.args, strings.NewReader(""), &out, &errOut)
			if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
				t.Errorf("err = %v (stderr %q), want one mentioning %s", err, errOut.String(), tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed figures despite the bad arguments:\n%s", out.String())
			}
		})
	}
}

func TestRunRefusesUndeclaredKeys(t *testing.T) {
	t.Parallel()
	ms := []qlikbench.Measurement{{ID: "x", Name: "x", Keys: []string{"a_ms", "b_ms"},
		Run: func(context.Context, qlikbench.Options) ([]qlikbench.Figure, error) {
			return []qlikbench.Figure{{Key: "a_ms"}, {Key: "c_ms"}}, nil
		}}}
	var out strings.Builder
	err := run(t.Context(), &out, ms, qlikbench.Options{Runs: 1})
	if err == nil || !strings.Contains(err.Error(), "c_ms") {
		t.Errorf("err = %v, want the undeclared key named", err)
	}
	if strings.Contains(out.String(), "c_ms") {
		t.Errorf("printed the undeclared figure:\n%s", out.String())
	}
}
