package bot

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/internal/testkit"
)

func TestLogHandlerAddsRequestID(t *testing.T) {
	t.Parallel()
	var buf testkit.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := WithRequestID(t.Context(), "r-123")
	log.InfoContext(ctx, "with id")
	log.InfoContext(context.Background(), "without id")
	log.WithGroup("g").InfoContext(ctx, "grouped", "k", "v")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["request_id"] != "r-123" || first["component"] != "test" {
		t.Errorf("line with a request context: %s", lines[0])
	}
	if _, ok := second["request_id"]; ok {
		t.Errorf("line without one got a request id: %s", lines[1])
	}
	if !strings.Contains(lines[2], `"request_id":"r-123"`) {
		t.Errorf("grouped logger lost the request id: %s", lines[2])
	}
	if RequestID(context.Background()) != "" {
		t.Errorf("RequestID of a bare context is not empty")
	}
}
