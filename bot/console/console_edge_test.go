package console

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// silent accepts requests and never answers them.
type silent struct{}

func (silent) Submit(context.Context, bot.Request) error { return nil }

// failing refuses every request.
type failing struct{}

func (failing) Submit(context.Context, bot.Request) error { return errors.New("queue on fire") }

func TestSubmittersThatMisbehave(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sub  Submitter
		want string
	}{
		{"never answers", silent{}, "[console:oncall] no answer after 10ms; going on (request "},
		{"fails", failing{}, "[console:oncall] not sent: queue on fire\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := runScript(t, tt.sub, "whoami\n", WithWait(10*time.Millisecond)); !strings.HasPrefix(got, tt.want) {
				t.Errorf("output %q, want prefix %q", got, tt.want)
			}
		})
	}
}

func TestStartReturnsWhenContextEnds(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe() // input that never ends
	t.Cleanup(func() { pw.Close() })
	c, err := New(silent{}, pr, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start = %v, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Start did not return after cancel")
	}
}

func TestStartTwice(t *testing.T) {
	t.Parallel()
	c, err := New(silent{}, strings.NewReader(""), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("first Start: %v", err)
	}
	if err := c.Start(t.Context()); err == nil {
		t.Error("second Start returned nil, want an error")
	}
}
