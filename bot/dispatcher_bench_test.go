package bot

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/time/rate"
)

// chanResponder signals each reply on a channel.
type chanResponder chan struct{}

func (c chanResponder) Respond(context.Context, Reply) error { c <- struct{}{}; return nil }

// BenchmarkSubmitRoundTrip measures one request from Submit to its reply.
func BenchmarkSubmitRoundTrip(b *testing.B) {
	h := HandlerFunc(func(_ context.Context, req Request) Reply { return Reply{Title: req.Text} })
	d, err := NewDispatcher(h, WithUserRate(rate.Inf, 0))
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = d.Run(b.Context()) }()
	got := make(chanResponder, 1)
	req := Request{Platform: Slack, User: User{ID: "u"}, Text: "sessions", ReplyTo: got}
	for b.Loop() {
		if err := d.Submit(b.Context(), req); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

// BenchmarkPlainText renders a full 100-row page, Slack's table limit.
func BenchmarkPlainText(b *testing.B) {
	t := &Table{Columns: []string{"User", "Proxy", "Node", "Session"}, TotalRows: 250}
	for i := range 100 {
		t.Rows = append(t.Rows, []string{fmt.Sprintf(`LAB\user%d`, i), "finance", "node1.lab", fmt.Sprintf("%032x", i)})
	}
	r := Reply{Title: "Sessions", Summary: []string{"Total: 250"}, Table: t, Warnings: []string{"node2 did not answer"}}
	for b.Loop() {
		_ = PlainText(r)
	}
}
