package slackbot

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// response_url limits: Slack accepts 5 posts within 30 minutes.
const (
	responseURLUses = 5
	responseURLTTL  = 30 * time.Minute
)

// messageRef is the message that carried a clicked button. It travels as
// bot.Action.MessageRef: "channel/ts", with "/e" for an ephemeral message.
type messageRef struct {
	Channel   string
	TS        string
	Ephemeral bool
}

func (m messageRef) String() string {
	if m.Channel == "" || m.TS == "" {
		return ""
	}
	s := m.Channel + "/" + m.TS
	if m.Ephemeral {
		s += "/e"
	}
	return s
}

// responder delivers the replies of one request: to response_url while it
// is valid, then with the bot token. Safe for concurrent use.
type responder struct {
	post        *poster
	now         func() time.Time
	log         *slog.Logger
	channel     string
	user        string
	responseURL string // "" when absent or not trusted
	issued      time.Time
	ref         messageRef // set for clicks

	mu   sync.Mutex
	uses int
}

// takeResponseURL reserves one use of response_url, if any is left.
func (r *responder) takeResponseURL() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.responseURL == "" || r.uses >= responseURLUses || r.now().Sub(r.issued) >= responseURLTTL {
		return false
	}
	r.uses++
	return true
}

// Respond renders and posts rep within ctx. It does not outlive ctx: the
// dispatcher already delivers a final reply on a context of its own, free
// of the request's deadline but bounded and cancelled at a forced shutdown,
// and progress replies carry their own short bound.
func (r *responder) Respond(ctx context.Context, rep bot.Reply) error {
	shareFiles := len(rep.Files) > 0 && (rep.Visibility == bot.InChannel || isDM(r.channel))
	if len(rep.Files) > 0 && !shareFiles {
		// An upload is visible to the whole channel: never attach to a private reply.
		rep.Warnings = append(slices.Clone(rep.Warnings),
			"The full list (CSV) is attached only to in-channel replies or in a direct message with the bot.")
	}
	blocks, text := render(rep)
	var err error
	if rep.ReplaceOriginal && r.ref.TS != "" {
		err = r.replace(ctx, rep, blocks, text)
	} else {
		err = r.send(ctx, rep, blocks, text)
	}
	if err != nil {
		return err
	}
	if shareFiles {
		for _, f := range rep.Files {
			if err := r.post.upload(ctx, r.channel, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *responder) replace(ctx context.Context, rep bot.Reply, blocks []slack.Block, text string) error {
	if r.takeResponseURL() {
		err := r.post.toResponseURL(ctx, r.channel, r.responseURL, rep.Visibility, true, blocks, text)
		if err == nil {
			return nil
		}
		r.log.WarnContext(ctx, "response_url failed; replacing with chat.update", "user", r.user, "channel", r.channel, "err", err)
	}
	if r.ref.Ephemeral { // ephemeral messages cannot be updated with the bot token
		return r.post.postEphemeral(ctx, r.ref.Channel, r.user, blocks, text)
	}
	return r.post.update(ctx, r.ref.Channel, r.ref.TS, blocks, text)
}

func (r *responder) send(ctx context.Context, rep bot.Reply, blocks []slack.Block, text string) error {
	if r.takeResponseURL() {
		err := r.post.toResponseURL(ctx, r.channel, r.responseURL, rep.Visibility, false, blocks, text)
		if err == nil {
			return nil
		}
		r.log.WarnContext(ctx, "response_url failed; posting with the bot token", "user", r.user, "channel", r.channel, "err", err)
	}
	if r.channel == "" {
		return fmt.Errorf("reply to %s: no channel and no usable response_url", r.user)
	}
	if rep.Visibility == bot.InChannel {
		_, _, err := r.post.postMessage(ctx, r.channel, blocks, text)
		return err
	}
	return r.post.postEphemeral(ctx, r.channel, r.user, blocks, text)
}

// isDM: Slack direct-message channel ids start with D.
func isDM(channel string) bool { return strings.HasPrefix(channel, "D") }

// isUser reports a user id (U…, or W… on Enterprise Grid) where a channel
// is expected: posting to it opens the direct message with that person.
func isUser(id string) bool { return strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W") }

// trustedResponseURL accepts only Slack's hooks (https, *.slack.com) or,
// for tests and proxies, the configured API URL's origin: a response_url
// is where replies go, so it must not point anywhere else.
func trustedResponseURL(raw string, api *url.URL) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if u.Scheme == "https" && (host == "slack.com" || strings.HasSuffix(host, ".slack.com")) {
		return true
	}
	return api != nil && u.Scheme == api.Scheme && strings.EqualFold(u.Host, api.Host)
}
