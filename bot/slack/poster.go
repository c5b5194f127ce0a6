package slackbot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/bot"
)

// Posting pace per channel: Slack allows about one chat.postMessage per
// second per channel with short bursts; progress updates keep under it.
const (
	channelRate  = rate.Limit(1)
	channelBurst = 3
	maxLimiters  = 1024
	defaultRetry = time.Second
)

// poster is the one place that writes to Slack. It waits out 429s
// (Retry-After) and retries instead of dropping a message, and paces writes
// per channel. Safe for concurrent use.
type poster struct {
	api *slack.Client
	log *slog.Logger
	// after waits between retries; tests replace it to avoid real waits.
	after func(time.Duration) <-chan time.Time
	// channels paces each channel; tests of other things lift its rate.
	channels *bot.Limiters[string]
	// onLimited, when set, is told of every 429 (metrics).
	onLimited func()
}

func newPoster(api *slack.Client, log *slog.Logger) *poster {
	return &poster{api: api, log: log, after: time.After, channels: bot.NewLimiters[string](channelRate, channelBurst, maxLimiters)}
}

// retry runs fn until it succeeds, fails with anything but a rate limit, or
// ctx ends.
func (p *poster) retry(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		if p.onLimited != nil {
			p.onLimited()
		}
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = defaultRetry
		}
		p.log.WarnContext(ctx, "slack rate limited; retrying", "call", what, "retry_after", wait, "attempt", attempt)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: still rate limited after %d attempts: %w", what, attempt, ctx.Err())
		case <-p.after(wait):
		}
	}
}

// pace waits for the channel's turn.
func (p *poster) pace(ctx context.Context, channel string) error {
	if err := p.channels.Wait(ctx, channel); err != nil {
		return fmt.Errorf("wait for channel %s: %w", channel, err)
	}
	return nil
}

func msgOptions(blocks []slack.Block, text string) []slack.MsgOption {
	// Escaped: the fallback text is mrkdwn to Slack, and names from Qlik
	// must not become <!channel> mentions or links.
	return []slack.MsgOption{slack.MsgOptionText(text, true), slack.MsgOptionBlocks(blocks...)}
}

// toResponseURL posts to a response_url (no token is sent there).
func (p *poster) toResponseURL(ctx context.Context, channel, responseURL string, vis bot.Visibility, replace bool, blocks []slack.Block, text string) error {
	if err := p.pace(ctx, channel); err != nil {
		return err
	}
	opts := msgOptions(blocks, text)
	if replace {
		opts = append(opts, slack.MsgOptionReplaceOriginal(responseURL))
	} else {
		rt := slack.ResponseTypeEphemeral
		if vis == bot.InChannel {
			rt = slack.ResponseTypeInChannel
		}
		opts = append(opts, slack.MsgOptionResponseURL(responseURL, rt))
	}
	err := p.retry(ctx, "response_url", func(ctx context.Context) error {
		_, _, err := p.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return scrubURL("response_url", err)
}

// scrubURL drops the URL from a transport error: a response_url or an
// upload URL lets anyone holding it post, so it stays out of logs.
func scrubURL(what string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, what, ue.Err)
	}
	return err
}

// postMessage posts to a channel with the bot token and returns the
// message ts.
// postMessage posts a message and returns the channel it went to (a
// direct message's D… id when channel is a user id) and its ts.
func (p *poster) postMessage(ctx context.Context, channel string, blocks []slack.Block, text string) (posted, ts string, err error) {
	if err := p.pace(ctx, channel); err != nil {
		return "", "", err
	}
	err = p.retry(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		posted, ts, err = p.api.PostMessageContext(ctx, channel, msgOptions(blocks, text)...)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("chat.postMessage to %s: %w", channel, err)
	}
	if posted == "" {
		posted = channel
	}
	return posted, ts, nil
}

func (p *poster) postEphemeral(ctx context.Context, channel, user string, blocks []slack.Block, text string) error {
	if err := p.pace(ctx, channel); err != nil {
		return err
	}
	err := p.retry(ctx, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := p.api.PostEphemeralContext(ctx, channel, user, msgOptions(blocks, text)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("chat.postEphemeral to %s: %w", channel, err)
	}
	return nil
}

func (p *poster) update(ctx context.Context, channel, ts string, blocks []slack.Block, text string) error {
	if err := p.pace(ctx, channel); err != nil {
		return err
	}
	err := p.retry(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := p.api.UpdateMessageContext(ctx, channel, ts, msgOptions(blocks, text)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("chat.update of %s/%s: %w", channel, ts, err)
	}
	return nil
}

// upload shares a file in a channel (files.getUploadURLExternal, upload,
// files.completeUploadExternal: the "v2" upload, the old files.upload is gone).
func (p *poster) upload(ctx context.Context, channel string, f bot.File) error {
	if len(f.Data) == 0 {
		return nil
	}
	err := p.retry(ctx, "file upload", func(ctx context.Context) error {
		_, err := p.api.UploadFileContext(ctx, slack.UploadFileParameters{
			Reader:   bytes.NewReader(f.Data),
			FileSize: len(f.Data),
			Filename: f.Name,
			Title:    f.Name,
			Channel:  channel,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", f.Name, channel, scrubURL("upload", err))
	}
	return nil
}
