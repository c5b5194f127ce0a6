package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/qlik/qlikbench"
)

func TestRunPrintsTableThenKeys(t *testing.T) {
	t.Parallel()
	ms := []qlikbench.Measurement{
		{Name: "first", Run: func(context.Context, qlikbench.Options) ([]qlikbench.Figure, error) {
			return []qlikbench.Figure{{Key: "a_ms", Label: "a", Value: 12.345, Unit: "ms"}, {Key: "b_rps", Label: "b", Value: 200, Unit: "req/s"}}, nil
		}},
		{Name: "second", Run: func(context.Context, qlikbench.Options) ([]qlikbench.Figure, error) {
			return []qlikbench.Figure{{Key: "c_x", Label: "c", Value: 3, Unit: "x"}}, nil
		}},
	}
	var out strings.Builder
	if err := run(t.Context(), &out, ms, qlikbench.Options{Runs: 1}); err != nil {
		t.Fatal(err)
	}
	table, keys, ok := strings.Cut(out.String(), "\n\n")
	if !ok {
		t.Fatalf("no blank line between table and keys:\n%s", out.String())
	}
	for _, want := range []string{"first", "second", "  a ", "12.35", "ms"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if keys != "a_ms: 12.35\nb_rps: 200\nc_x: 3\n" {
		t.Errorf("keys:\n%s", keys)
	}
}

func TestRunStopsOnError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	ms := []qlikbench.Measurement{{Name: "broken", Run: func(context.Context, qlikbench.Options) ([]qlikbench.Figure, error) { return nil, boom }}}
	var out strings.Builder
	if err := run(t.Context(), &out, ms, qlikbench.Options{}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken") {
		t.Errorf("err = %v", err)
	}
}
