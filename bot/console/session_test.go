package console

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

// TestLogLinesStayOutOfAnInteractiveConsole: while an interactive console
// runs, a line logged by the handler (another goroutine) goes to the log
// file named at start-up, not into the replies and prompts; before and
// after the session, and for a piped console, lines go to standard error.
func TestLogLinesStayOutOfAnInteractiveConsole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		interactive bool
		logDuring   bool
		wantFile    bool // a log file is left with the line in it
	}{
		{"interactive", true, true, true},
		{"interactive, nothing logged: no file left", true, false, false},
		{"piped", false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr testkit.Buffer
			dir := t.TempDir()
			lw := NewLogWriter(&stderr, dir)
			log := slog.New(slog.NewTextHandler(lw, nil))
			log.Info("before the session")
			h := bot.HandlerFunc(func(ctx context.Context, req bot.Request) bot.Reply {
				if tc.logDuring {
					log.WarnContext(ctx, "qlik node did not answer", "node", "dev1")
				}
				return bot.Reply{Title: "answer to " + req.Text}
			})
			out := runScript(t, startDispatcher(t, h), "sessions\n", WithInteractive(tc.interactive), WithLogWriter(lw))
			log.Info("after the session")

			if strings.Contains(out, "qlik node did not answer") || strings.Contains(out, "session\"") {
				t.Errorf("a log line is in the console output:\n%s", out)
			}
			if !strings.Contains(out, "answer to sessions") {
				t.Errorf("no reply in the output:\n%s", out)
			}
			m := regexp.MustCompile(`Log lines go to (\S+)\.\n`).FindStringSubmatch(out)
			if tc.interactive != (m != nil) {
				t.Fatalf("interactive %v, banner names a log file: %v\n%s", tc.interactive, m != nil, out)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			if tc.wantFile {
				data, err := os.ReadFile(m[1])
				if err != nil || !strings.Contains(string(data), "qlik node did not answer") {
					t.Fatalf("log file %s: %q, %v", m[1], data, err)
				}
				if strings.Contains(string(data), "session\"") || strings.Contains(stderr.String(), "qlik node") {
					t.Errorf("lines outside the session went to the file, or the session's to stderr:\nfile %s\nstderr %s", data, stderr.String())
				}
			} else if len(files) != 0 {
				t.Errorf("files left: %v", files)
			}
			wantStderr := []string{"before the session", "after the session"}
			if !tc.interactive && tc.logDuring {
				wantStderr = append(wantStderr, "qlik node did not answer")
			}
			for _, w := range wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("standard error lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// TestAttachmentsRemovedAtExit: the CSV saved for a reply is in place
// while the session runs and gone, with its folder, when Start returns.
func TestAttachmentsRemovedAtExit(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	var out testkit.Buffer
	c, err := New(startDispatcher(t, &recorder{}), pr, &out)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Start(t.Context()) }()
	if _, err := io.WriteString(pw, "sessions finance\nwhoami\n"); err != nil {
		t.Fatal(err)
	}
	// The second answer is printed only after the first (line by line).
	waitFor(t, "both answers", func() bool { return strings.Contains(out.String(), `echo "whoami"`) })
	m := regexp.MustCompile(`attached sessions\.csv: (\S+) \(28 bytes\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no saved attachment in:\n%s", out.String())
	}
	if data, err := os.ReadFile(m[1]); err != nil || !strings.Contains(string(data), `LAB\anna`) {
		t.Fatalf("during the session %s: %q, %v", m[1], data, err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{m[1], filepath.Dir(m[1])} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after the session: %v, want it gone", p, err)
		}
	}
}

// TestLongLineRefused: a line over the limit is refused with a message,
// runs nothing (not even as a "y" to a confirm prompt), and the console
// reads on; a line at the limit goes through.
func TestLongLineRefused(t *testing.T) {
	t.Parallel()
	h := &recorder{}
	atLimit := "echo " + strings.Repeat("a", maxLine-len("echo "))
	script := strings.Repeat("x", maxLine+1) + "\n" +
		"whoami\n" +
		"delete all\n1\n" + "y" + strings.Repeat(" ", maxLine) + "\r\n" +
		atLimit + "\n" +
		strings.Repeat("z", 3*maxLine) // the last line, without a newline
	out := runScript(t, startDispatcher(t, h), script)
	refused := func(n int) string {
		return "line refused: " + strconv.Itoa(n) + " bytes is more than the " + strconv.Itoa(maxLine) + " a line may have; nothing was sent\n"
	}
	want := refused(maxLine+1) +
		"[console:oncall] echo \"whoami\" from console:oncall\n\n" +
		"[console:oncall] Really?\n\n[1] Delete\n\n" +
		"This ends 40 sessions. Type y to confirm: " + refused(maxLine+1) + "\ncancelled\n"
	if !strings.HasPrefix(out, want) || !strings.HasSuffix(out, refused(3*maxLine)) {
		t.Fatalf("output (%d bytes) starts %q\nends %q", len(out), clip(out, 400), out[max(0, len(out)-200):])
	}
	reqs := h.requests()
	if len(reqs) != 3 || reqs[0].Text != "whoami" || reqs[1].Text != "delete all" || len(reqs[2].Text) != maxLine {
		t.Fatalf("%d requests reached the handler", len(reqs))
	}
}

func TestLineReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want []inputLine
	}{
		{"lines", "a\nbc\n", 4, []inputLine{{text: "a"}, {text: "bc"}}},
		{"crlf and a last line without newline", "a\r\nb", 4, []inputLine{{text: "a"}, {text: "b"}}},
		{"at the limit", "abcd\r\n", 4, []inputLine{{text: "abcd"}}},
		{"over the limit, then on", "abcde\nf\n", 4, []inputLine{{tooLong: 5}, {text: "f"}}},
		{"over the limit without newline", "abcde", 4, []inputLine{{tooLong: 5}}},
		{"empty lines", "\n\n", 4, []inputLine{{}, {}}},
		{"far over the reader's buffer", strings.Repeat("x", 200<<10) + "\nok\n", 1 << 10,
			[]inputLine{{tooLong: 200 << 10}, {text: "ok"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lr := newLineReader(strings.NewReader(tc.in), tc.max)
			var got []inputLine
			for {
				l, err := lr.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, l)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("line %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func clip(s string, n int) string { return s[:min(n, len(s))] }

// TestChartsOutliveTheSession: a chart (a PNG of counts, naming no one)
// stays after the session so its printed path can be opened; the list
// saved beside it goes.
func TestChartsOutliveTheSession(t *testing.T) {
	t.Parallel()
	h := bot.HandlerFunc(func(context.Context, bot.Request) bot.Reply {
		return bot.Reply{Title: "Trend", Files: []bot.File{
			{Name: "trend.png", Type: "image/png", Data: []byte("\x89PNG chart")},
			{Name: "figures.csv", Type: "text/csv", Data: []byte("user\nLAB\\anna\n")},
		}}
	})
	pr, pw := io.Pipe()
	var out testkit.Buffer
	c, err := New(startDispatcher(t, h), pr, &out)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Start(t.Context()) }()
	if _, err := io.WriteString(pw, "trend\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both attachments", func() bool { return strings.Contains(out.String(), "figures.csv: ") })
	png := regexp.MustCompile(`attached trend\.png: (\S+) `).FindStringSubmatch(out.String())
	csv := regexp.MustCompile(`attached figures\.csv: (\S+) `).FindStringSubmatch(out.String())
	if png == nil || csv == nil {
		t.Fatalf("attachments not saved:\n%s", out.String())
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(png[1])) })
	if data, err := os.ReadFile(png[1]); err != nil || string(data) != "\x89PNG chart" {
		t.Errorf("chart after the session: %q, %v", data, err)
	}
	if _, err := os.Stat(csv[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("list %s after the session: %v, want it gone", csv[1], err)
	}
}
