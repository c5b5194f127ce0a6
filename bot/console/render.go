package console

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/qlikbot/qlikbot/bot"
)

// responder prints the replies to one request and tells the waiting line
// when the dispatcher is done with it.
type responder struct {
	c     *Console
	actor bot.User
	done  chan struct{}
	once  sync.Once
}

var _ bot.Finisher = (*responder)(nil)

// Respond prints r.
func (r *responder) Respond(_ context.Context, rep bot.Reply) error {
	return r.c.show(r.actor, rep, false)
}

// Finish releases the line waiting for this request.
func (r *responder) Finish() { r.once.Do(func() { close(r.done) }) }

// show prints one reply, prefixed by the subject it answers, saves its
// files, and remembers its buttons for /click. A delivered reply (no
// request waits for it) comes at any moment: it never renumbers the
// choices of a reply the user may be about to click.
func (c *Console) show(actor bot.User, r bot.Reply, delivered bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	ref := fmt.Sprintf("console-%d", c.seq)
	choices := r.Choices()
	var note string
	switch {
	case delivered && len(choices) > 0 && len(c.buttons) > 0:
		note = fmt.Sprintf("(These choices are not numbered for /click: 1 to %d still click the earlier reply's. Type the command instead.)\n", len(c.buttons))
	case delivered && len(choices) == 0:
		// Nothing to click, and nothing on the screen to replace.
	case len(choices) > 0 || r.ReplaceOriginal:
		// A reply that replaces the message with the buttons takes them
		// away, as it does on Slack and Teams. Menu options are numbered
		// with the buttons, as PlainText shows them.
		c.buttons, c.ref = choices, ref
	}

	var b strings.Builder
	b.WriteString("[" + subject(actor) + "]")
	if text := bot.PlainText(r); text != "" {
		sep := " "
		if r.Title == "" && len(r.Summary) == 0 {
			sep = "\n" // a table or chart keeps its alignment on lines of its own
		}
		b.WriteString(sep + text)
	}
	b.WriteString("\n" + note)
	for _, f := range r.Files {
		b.WriteString(c.saveFile(f) + "\n")
	}
	b.WriteString("\n")
	if _, err := fmt.Fprint(c.out, b.String()); err != nil {
		return fmt.Errorf("print reply: %w", err)
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveFile writes an attachment and returns the line that tells the user
// where it is. Callers hold c.mu.
func (c *Console) saveFile(f bot.File) string {
	name := unsafeName.ReplaceAllString(filepath.Base(f.Name), "_")
	if strings.Trim(name, "._") == "" {
		name = "attachment"
	}
	dir, err := c.filesDir()
	if err == nil {
		// The reply number keeps two "sessions.csv" from overwriting each other.
		path := filepath.Join(dir, fmt.Sprintf("%d-%s", c.seq, name))
		// 0600: the lists name users and their sessions.
		if err = os.WriteFile(path, f.Data, 0o600); err == nil {
			if c.fileDir == "" && isChart(name) {
				c.kept++
			}
			return fmt.Sprintf("  attached %s: %s (%d bytes)", name, path, len(f.Data))
		}
	}
	c.log.Warn("save attachment", "name", name, "err", err)
	return fmt.Sprintf("  attached %s: could not save it (%v)", name, err)
}

// isChart reports whether a saved attachment is a chart (a PNG of counts
// over time), which may outlive the session.
func isChart(name string) bool { return strings.EqualFold(filepath.Ext(name), ".png") }

func (c *Console) filesDir() (string, error) {
	if c.ended && c.fileDir == "" {
		return "", errors.New("the session has ended")
	}
	if c.fileDir != "" {
		return c.fileDir, nil
	}
	if c.tempDir == "" {
		dir, err := os.MkdirTemp("", "qlikbot-console-")
		if err != nil {
			return "", fmt.Errorf("make folder for attachments: %w", err)
		}
		c.tempDir = dir
	}
	return c.tempDir, nil
}
