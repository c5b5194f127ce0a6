package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/internal/qlikbench"
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

func TestParseShipped(t *testing.T) {
	t.Parallel()
	const usage = "qlikbot: Qlik Sense sessions from Slack, Teams or a console.\n\n" +
		"VARIABLE                  DEFAULT  DESCRIPTION\n" +
		"QLIKBOT_QLIK_TIMEOUT      10s      timeout of one Qlik call\n" +
		"QLIKBOT_QLIK_CONCURRENCY  64       Qlik calls in flight per node at most\n" +
		"QLIKBOT_QLIK_RPS          100      Qlik deletes per second at most\n"
	tests := []struct {
		name, usage string
		want        qlikbench.Shipped
		wantErr     string
	}{
		{name: "both", usage: usage, want: qlikbench.Shipped{Concurrency: 64, RequestsPerSecond: 100, Source: "qlikbot -h"}},
		{name: "fractional rate", usage: strings.Replace(usage, "100 ", "2.5 ", 1), want: qlikbench.Shipped{Concurrency: 64, RequestsPerSecond: 2.5, Source: "qlikbot -h"}},
		{name: "one missing", usage: strings.Replace(usage, "QLIKBOT_QLIK_RPS", "QLIKBOT_QLIK_XPS", 1), wantErr: "QLIKBOT_QLIK_RPS"},
		{name: "not a number", usage: strings.Replace(usage, "  64 ", "  many ", 1), wantErr: `"many"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseShipped(strings.NewReader(tt.usage))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
