// Package console is qlikbot's terminal chat: it reads command lines from
// an io.Reader, submits them to the dispatcher as requests of a console
// user and prints the replies as plain text. It is the demo and an ops tool,
// and because it answers strictly line by line, piped scripts give the same
// output every time.
//
// At a terminal (WithInteractive), log lines go to a file while the
// session runs, never to the screen: a line logged by another goroutine
// would otherwise land inside a reply or the command being typed. The
// console prints the file's path at start-up (LogWriter, WithLogWriter).
// Piped consoles leave log lines on standard error.
//
// Attachments (the CSV of a long list) are saved in a temporary folder
// whose lists are removed when the session ends (charts, which name no
// one, stay), unless WithFileDir names a folder to keep them in. A line longer than 1 MiB is refused with a
// message and the console reads on.
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// Submitter takes requests; *bot.Dispatcher is one. The console waits for
// each request until its Responder's Finish is called (see bot.Finisher),
// or for the wait limit (WithWait).
type Submitter interface {
	Submit(ctx context.Context, req bot.Request) error
}

// Channel is the channel name of every console request.
const Channel = "console"

// DefaultUserID is the console user when WithUser is not given.
const DefaultUserID = "oncall"

// DefaultWait is how long one line may go unanswered before the console
// moves on. The dispatcher's own deadline (60 s) normally comes first.
const DefaultWait = 5 * time.Minute

// maxLine caps one input line.
const maxLine = 1 << 20

// Console is a chat session in a terminal. Start may be called once.
type Console struct {
	sub         Submitter
	in          io.Reader
	out         io.Writer
	user        bot.User // the acting user; only Start's goroutine changes it
	interactive bool
	log         *slog.Logger
	fileDir     string
	logw        *LogWriter // nil: log lines are not the console's business
	wait        time.Duration
	started     atomic.Bool

	// mu guards out and the state below: replies are printed from the
	// dispatcher's goroutines.
	mu      sync.Mutex
	seq     int          // replies printed so far, for message refs and file names
	buttons []bot.Button // of the latest reply that carried buttons
	ref     string       // that reply's message ref
	tempDir string       // made on the first attachment when no fileDir is set
	kept    int          // charts saved in tempDir: they stay after the session
	ended   bool         // removeFiles ran: nothing more is saved
}

var _ bot.Adapter = (*Console)(nil)

// Option configures a Console.
type Option func(*Console) error

// WithUser sets the acting user (default id "oncall"; subject
// "console:oncall").
func WithUser(u bot.User) Option {
	return func(c *Console) error {
		id, err := parseUserID(u.ID)
		if err != nil {
			return err
		}
		u.ID = id
		c.user = u
		return nil
	}
}

// WithInteractive makes the console print a banner and a prompt, for a
// person at a terminal.
func WithInteractive(on bool) Option {
	return func(c *Console) error {
		c.interactive = on
		return nil
	}
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *Console) error {
		if l == nil {
			return errors.New("logger must not be nil")
		}
		c.log = l
		return nil
	}
}

// WithFileDir sets the folder attachments are saved to; they stay there.
// By default a new temporary folder is made on the first attachment; its
// lists are removed when Start returns (see removeFiles).
func WithFileDir(dir string) Option {
	return func(c *Console) error {
		if dir == "" {
			return errors.New("file dir must not be empty")
		}
		c.fileDir = dir
		return nil
	}
}

// WithLogWriter gives the console the writer of the process's log lines:
// an interactive console sends them to a file while it runs (see
// LogWriter).
func WithLogWriter(l *LogWriter) Option {
	return func(c *Console) error {
		if l == nil {
			return errors.New("log writer must not be nil")
		}
		c.logw = l
		return nil
	}
}

// WithWait sets how long the console waits for one line's answer before
// reading the next line anyway.
func WithWait(d time.Duration) Option {
	return func(c *Console) error {
		if d <= 0 {
			return fmt.Errorf("wait must be positive, got %v", d)
		}
		c.wait = d
		return nil
	}
}

// New returns a console that submits to d, reads in and writes out.
func New(d Submitter, in io.Reader, out io.Writer, opts ...Option) (*Console, error) {
	if d == nil || in == nil || out == nil {
		return nil, errors.New("new console: submitter, input and output are required")
	}
	c := &Console{
		sub:  d,
		in:   in,
		out:  out,
		user: bot.User{ID: DefaultUserID},
		log:  slog.New(slog.DiscardHandler),
		wait: DefaultWait,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("new console: %w", err)
		}
	}
	c.log = c.log.With("platform", string(bot.Console))
	return c, nil
}

// Name returns bot.Console.
func (c *Console) Name() bot.Platform { return bot.Console }

// Start reads and runs lines until end of input, /quit or ctx is done.
// Each line's answer is printed before the next line is read, so at end of
// input every request has been answered. It returns nil then, and an error
// only if reading fails. A read blocked on a terminal cannot be interrupted:
// after ctx is done, Start returns and leaves that read behind.
func (c *Console) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("start console: already started")
	}
	s := &session{c: c, ctx: ctx, lines: make(chan inputLine), readErr: make(chan error, 1), stop: make(chan struct{})}
	defer close(s.stop)
	defer c.removeFiles()
	go s.read(c.in)

	if c.interactive {
		c.printf("qlikbot console: acting as %s. Type /qlik help for bot commands, /help for console commands.\n",
			subject(c.user))
		c.logToFile()
		defer c.logToFallback()
		if c.fileDir == "" {
			c.printf("Attached files (the CSV of a long list) are saved in a temporary folder, removed when you leave (charts stay).\n")
		}
	}
	for {
		if c.interactive {
			c.printf("%s> ", subject(c.user))
		}
		line, ok := s.next()
		if !ok {
			if c.interactive && ctx.Err() == nil {
				c.printf("\n")
			}
			return s.err
		}
		if quit := s.handle(line); quit {
			return nil
		}
	}
}

// session is one run of Start: the line reader and its state.
type session struct {
	c       *Console
	ctx     context.Context
	lines   chan inputLine
	readErr chan error
	stop    chan struct{}
	eof     bool
	err     error
}

func (s *session) read(in io.Reader) {
	lr := newLineReader(in, maxLine)
	for {
		line, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			s.readErr <- err
			close(s.lines)
			return
		}
		select {
		case s.lines <- line:
		case <-s.stop:
			return
		}
	}
}

// next returns the next input line; false at end of input or when ctx is
// done. A line over maxLine is refused with a message and returned as an
// empty line, which runs nothing (and answers no "y" prompt).
func (s *session) next() (string, bool) {
	line, ok := s.nextLine()
	if ok && line.tooLong > 0 {
		s.c.printf("line refused: %d bytes is more than the %d a line may have; nothing was sent\n", line.tooLong, maxLine)
		return "", true
	}
	return line.text, ok
}

func (s *session) nextLine() (inputLine, bool) {
	if s.eof || s.ctx.Err() != nil {
		// Checked first: select picks at random when a line is waiting
		// too, and after a shutdown signal no further line may run.
		return inputLine{}, false
	}
	select {
	case <-s.ctx.Done():
		return inputLine{}, false
	case line, ok := <-s.lines:
		if !ok {
			s.eof = true
			if err := <-s.readErr; err != nil {
				s.err = fmt.Errorf("read console input: %w", err)
			}
			return inputLine{}, false
		}
		return line, true
	}
}

// logToFile sends log lines to a file while the interactive session runs
// and says where (see LogWriter).
func (c *Console) logToFile() {
	if c.logw == nil {
		return
	}
	path, err := c.logw.toFile()
	if err != nil {
		c.printf("Log lines go to standard error (%v).\n", err)
		return
	}
	c.printf("Log lines go to %s.\n", path)
}

// logToFallback sends log lines back to standard error as the session ends.
func (c *Console) logToFallback() {
	if c.logw == nil {
		return
	}
	if _, err := c.logw.restore(); err != nil {
		c.log.Warn("close console log file", "err", err)
	}
}

// removeFiles deletes the lists saved in the temporary folder of
// attachments: they name users and must not outlive the session. Charts
// (images of counts, naming no one) stay, so a path printed for one can be
// opened after qlikbot stopped; the folder goes when nothing is left in it.
// A reply still printing after this says it could not save its file. A
// folder given with WithFileDir is the caller's and stays.
func (c *Console) removeFiles() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	if c.tempDir == "" {
		return
	}
	if c.kept == 0 {
		if err := os.RemoveAll(c.tempDir); err != nil {
			c.log.Warn("remove console attachments", "dir", c.tempDir, "err", err)
		}
		return
	}
	entries, err := os.ReadDir(c.tempDir)
	if err != nil {
		c.log.Warn("remove console attachments", "dir", c.tempDir, "err", err)
	}
	for _, e := range entries {
		if !isChart(e.Name()) {
			if err := os.Remove(filepath.Join(c.tempDir, e.Name())); err != nil {
				c.log.Warn("remove console attachment", "file", e.Name(), "err", err)
			}
		}
	}
}

func (c *Console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := fmt.Fprintf(c.out, format, args...); err != nil {
		c.log.Warn("write console output", "err", err)
	}
}

func subject(u bot.User) string {
	return bot.Request{Platform: bot.Console, User: u}.Subject()
}
