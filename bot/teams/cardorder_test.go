package teams

import (
	"context"
	"errors"
	"testing"
)

// TestCardGates: a wait on a card returns once every click open on it
// when it began has released it (a release twice is harmless), at once on
// another card, and with the context's error when that ends first.
func TestCardGates(t *testing.T) {
	t.Parallel()
	var g cardGates
	card, other := cardKey{"19:c", "card-9"}, cardKey{"19:c", "card-8"}
	first, second := g.hold(card), g.hold(card)
	if err := g.wait(t.Context(), other); err != nil {
		t.Fatalf("wait on another card: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := g.wait(ctx, card); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with an ended context = %v, want context.Canceled", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- g.wait(t.Context(), card) }()
	first()
	first()
	select {
	case err := <-waited:
		t.Fatalf("wait returned (%v) while a click still held the card", err)
	default:
	}
	second()
	if err := <-waited; err != nil {
		t.Fatalf("wait: %v", err)
	}
	if len(g.open) != 0 {
		t.Errorf("gates left open: %v", g.open)
	}
}
