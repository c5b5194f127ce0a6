package qliksim

import (
	"testing"
	"time"
)

func TestRollJitter(t *testing.T) {
	t.Parallel()
	f := newFaults(1, 5)
	f.byNode[0] = Fault{Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}
	seen := map[time.Duration]bool{}
	for range 200 {
		d, fail := f.roll(0)
		if d < 10*time.Millisecond || d >= 15*time.Millisecond || fail {
			t.Fatalf("roll = %v, %v; want [10ms, 15ms) and no failure", d, fail)
		}
		seen[d] = true
	}
	if len(seen) < 50 {
		t.Fatalf("only %d distinct delays in 200 rolls: jitter is not random", len(seen))
	}
}

func TestParseFilter(t *testing.T) {
	t.Parallel()
	fields := []string{"prefix", "id"}
	tests := []struct {
		name, expr string
		want       []clause
		wantErr    bool
	}{
		{"one", "prefix eq 'a'", []clause{{"prefix", "a"}}, false},
		{"field name case", "PREFIX eq 'a'", []clause{{"prefix", "a"}}, false},
		{"or and spaces", "  prefix eq 'a'   or  id eq 'b'  ", []clause{{"prefix", "a"}, {"id", "b"}}, false},
		{"empty", "prefix eq ''", []clause{{"prefix", ""}}, false},
		{"quote", "prefix eq 'a''b'", []clause{{"prefix", "a'b"}}, false},
		{"only a quote", "prefix eq ''''", []clause{{"prefix", "'"}}, false},
		{"dangling or", "prefix eq 'a' or", nil, true},
		{"glued or", "prefix eq 'a'or id eq 'b'", nil, true},
		{"three quotes", "prefix eq '''", nil, true},
		{"no value", "prefix eq", nil, true},
		{"parenthesis", "(prefix eq 'a')", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseFilter(tc.expr, fields)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}
