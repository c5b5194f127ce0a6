package bot

import (
	"context"
	"errors"
	"testing"
)

// fitDeliverer delivers nowhere and shows at most two rows.
type fitDeliverer struct{}

func (fitDeliverer) Deliver(_ context.Context, dst Destination, _ Reply) (Destination, error) {
	return dst, nil
}

func (fitDeliverer) Fit(r Reply) int { return min(2, len(r.Table.Rows)) }

// plainDeliverer has no Fit.
type plainDeliverer struct{}

func (plainDeliverer) Deliver(_ context.Context, dst Destination, _ Reply) (Destination, error) {
	return dst, nil
}

func TestDeliverers(t *testing.T) {
	t.Parallel()
	ds := Deliverers{Slack: fitDeliverer{}, Console: plainDeliverer{}}
	r := Reply{Table: &Table{Columns: []string{"a"}, Rows: [][]string{{"1"}, {"2"}, {"3"}}}}
	cases := []struct {
		name    string
		p       Platform
		fit     int // -1: no Fit
		missing bool
	}{
		{"adapter with a Fit", Slack, 2, false},
		{"adapter without", Console, -1, false},
		{"no adapter here", Teams, -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := ds.FitFor(tc.p)
			if (f == nil) != (tc.fit < 0) || (f != nil && f(r) != tc.fit) {
				t.Errorf("FitFor(%s): nil %v, want a fit of %d", tc.p, f == nil, tc.fit)
			}
			_, err := ds.Deliver(t.Context(), Destination{Platform: tc.p}, r)
			var nd *NoDelivererError
			if errors.As(err, &nd) != tc.missing || (tc.missing && nd.Platform != tc.p) {
				t.Errorf("Deliver to %s: %v", tc.p, err)
			}
		})
	}
}
