package console

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/qlikbot/qlikbot/bot"
)

const helpText = `Console commands:
  /qlik COMMAND ...   ask the bot (or "qlik COMMAND", or just "COMMAND"); /qlik help lists them
  --as USER LINE      run one line as console user USER
  /as USER            act as console user USER from now on
  /click N   or  N    click button N of the latest reply that has buttons
  /help               this help
  /quit               leave (end of input does too)
`

// userID is what a console user id may look like: a word, an email, or a
// DOMAIN\user pair.
var userID = regexp.MustCompile(`^[A-Za-z0-9._@\\-]{1,64}$`)

// parseUserID accepts "lead" or "console:lead" and returns "lead". The
// console speaks only for console users, never as a Slack or Teams user.
func parseUserID(s string) (string, error) {
	id := strings.TrimPrefix(s, string(bot.Console)+":")
	if strings.Contains(id, ":") {
		return "", fmt.Errorf("user %q: the console acts only as console users (console:ID)", s)
	}
	if !userID.MatchString(id) {
		return "", fmt.Errorf("user %q: want 1-64 letters, digits or . _ @ \\ -", s)
	}
	return id, nil
}

// handle runs one input line and reports whether the session should end.
func (s *session) handle(line string) (quit bool) {
	line = strings.TrimSpace(strings.ReplaceAll(line, "\u00a0", " "))
	if line == "" || strings.HasPrefix(line, "#") {
		return false
	}
	actor := s.c.user
	if rest, ok := cutWord(line, "--as"); ok {
		id, cmd := splitWord(rest)
		uid, err := parseUserID(id)
		if err != nil || cmd == "" {
			if err == nil {
				err = errors.New("nothing to run")
			}
			s.c.printf("--as: %v. Usage: --as USER COMMAND\n", err)
			return false
		}
		actor = bot.User{ID: uid}
		line = cmd
	}
	return s.run(line, actor)
}

func (s *session) run(line string, actor bot.User) (quit bool) {
	word, rest := splitWord(line)
	if n, err := strconv.Atoi(line); err == nil {
		s.click(n, actor)
		return false
	}
	if !strings.HasPrefix(word, "/") || strings.EqualFold(word, "/qlik") {
		s.ask(actor, bot.Request{Text: bot.TrimCommand(line)})
		return false
	}
	switch strings.ToLower(word) {
	case "/quit", "/exit":
		return true
	case "/help":
		s.c.printf("%s", helpText)
	case "/as":
		if rest == "" {
			s.c.printf("acting as %s\n", subject(s.c.user))
			return false
		}
		id, err := parseUserID(rest)
		if err != nil {
			s.c.printf("/as: %v\n", err)
			return false
		}
		s.c.user = bot.User{ID: id}
		s.c.printf("now acting as %s\n", subject(s.c.user))
	case "/click":
		n, err := strconv.Atoi(rest)
		if err != nil {
			s.c.printf("/click: want a button number, e.g. /click 1\n")
			return false
		}
		s.click(n, actor)
	default:
		s.c.printf("unknown console command %s\n%s", word, helpText)
	}
	return false
}

// click sends a click on button n of the latest reply with buttons.
func (s *session) click(n int, actor bot.User) {
	s.c.mu.Lock()
	buttons, ref := s.c.buttons, s.c.ref
	s.c.mu.Unlock()
	if len(buttons) == 0 {
		s.c.printf("no buttons to click\n")
		return
	}
	if n < 1 || n > len(buttons) {
		s.c.printf("no button %d: the latest buttons are numbered 1 to %d\n", n, len(buttons))
		return
	}
	b := buttons[n-1]
	click := bot.Request{Action: &bot.Action{ID: b.ActionID, Value: b.Value, MessageRef: ref}}
	if b.Confirm != "" {
		// Chat platforms ask before sending such a click; so do we, unless
		// the click would only be refused: then the refusal comes at once.
		if s.refused(actor, click) {
			return
		}
		s.c.printf("%s Type y to confirm: ", b.Confirm)
		answer, ok := s.next()
		if ok && !s.c.interactive {
			// A terminal echoes the answer; a script's must be printed.
			s.c.printf("%s\n", strings.TrimSpace(answer))
		}
		if !ok || !isYes(answer) {
			s.c.printf("cancelled\n")
			return
		}
	}
	s.ask(actor, click)
}

// refused prechecks a click (bot.Prechecker, which the dispatcher is) and
// prints the refusal it would get, if it would surely get one.
func (s *session) refused(actor bot.User, click bot.Request) bool {
	pc, ok := s.c.sub.(bot.Prechecker)
	if !ok {
		return false
	}
	rep, refused := pc.Precheck(s.ctx, request(actor, click))
	if !refused {
		return false
	}
	if err := s.c.show(actor, rep, false); err != nil {
		s.c.log.Warn("print precheck refusal", "err", err)
	}
	return true
}

func isYes(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "y" || s == "yes"
}

// request is req from actor on the console.
func request(actor bot.User, req bot.Request) bot.Request {
	req.ID = bot.NewRequestID()
	req.Platform = bot.Console
	req.User = actor
	req.Channel = Channel // ReceivedAt: the dispatcher stamps it by its own (injectable) clock
	return req
}

// ask submits req as actor and waits until it is answered.
func (s *session) ask(actor bot.User, req bot.Request) {
	req = request(actor, req)
	r := &responder{c: s.c, actor: actor, done: make(chan struct{})}
	req.ReplyTo = r

	err := s.c.sub.Submit(s.ctx, req)
	switch {
	case err == nil, errors.Is(err, bot.ErrRateLimited), errors.Is(err, bot.ErrBusy):
		// An answer (or at least Finish) follows.
	case errors.Is(err, bot.ErrClosed):
		s.c.printf("[%s] qlikbot is shutting down; nothing was sent\n", subject(actor))
		return
	default:
		s.c.log.Warn("submit console request", "request_id", req.ID, "err", err)
		s.c.printf("[%s] not sent: %v\n", subject(actor), err)
		return
	}
	t := time.NewTimer(s.c.wait)
	defer t.Stop()
	select {
	case <-r.done:
	case <-s.ctx.Done():
	case <-t.C:
		s.c.printf("[%s] no answer after %v; going on (request %s)\n", subject(actor), s.c.wait, req.ID)
	}
}

// cutWord returns what follows word at the start of line, if line starts
// with word as a whole word.
func cutWord(line, word string) (string, bool) {
	rest, ok := strings.CutPrefix(line, word)
	if !ok || (rest != "" && !unicode.IsSpace(rune(rest[0]))) {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// splitWord splits s at its first run of white space.
func splitWord(s string) (word, rest string) {
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}
