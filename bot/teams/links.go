package teams

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// Download links for the files of a reply. Teams lets a bot attach files
// only in personal chat, through a consent card, so a reply's CSV is
// published elsewhere (the bot's own HTTP listener) and the card links to it.
const (
	// publishTimeout bounds publishing all the files of one reply: a slow
	// store must not hold an invoke answer past Teams' patience.
	publishTimeout = 3 * time.Second
	maxFileLinks   = 3
)

// PublishFunc stores f where a browser can fetch it and returns the URL.
type PublishFunc func(ctx context.Context, f bot.File) (string, error)

// fileLink is a published file as the card shows it: an image (a trend
// chart) in the card itself, any other file behind a download button.
type fileLink struct {
	Name  string
	URL   string
	Image bool
}

func isImage(f bot.File) bool { return strings.HasPrefix(f.Type, "image/") }

// WithFileLinks makes cards offer the files of a reply (the CSV of a long
// list) as download buttons: publish stores each file and returns its URL.
// Without it, or when publishing fails, the card only says the file exists.
func WithFileLinks(publish PublishFunc) Option {
	return func(o *options) error {
		if publish == nil {
			return errors.New("WithFileLinks: nil func")
		}
		o.publish = publish
		return nil
	}
}

// links publishes the files of a reply that becomes a card. A failure is
// logged and that file gets no link; the card then falls back to its note.
func (a *Adapter) links(ctx context.Context, files []bot.File) []fileLink {
	if a.publish == nil || len(files) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	var out []fileLink
	for _, f := range files {
		if len(out) == maxFileLinks {
			break
		}
		u, err := a.publish(ctx, f)
		if err == nil {
			err = checkLink(u)
		}
		if err != nil {
			// The URL is a bearer link: never logged.
			a.log.WarnContext(ctx, "teams: cannot publish file, card says it is not attached", "file", f.Name, "err", err)
			continue
		}
		out = append(out, fileLink{Name: f.Name, URL: u, Image: isImage(f)})
	}
	return out
}

// checkLink accepts only absolute http(s) URLs, which is what OpenUrl can
// open.
func checkLink(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("publisher returned an invalid URL")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("publisher returned a %q URL, want absolute http(s)", u.Scheme)
	}
	return nil
}

// imageLinks are the links of links that are images.
func imageLinks(links []fileLink) []fileLink {
	var out []fileLink
	for _, l := range links {
		if l.Image {
			out = append(out, l)
		}
	}
	return out
}
