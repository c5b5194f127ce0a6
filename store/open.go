package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Open returns the backend the URL names:
//
//	bolt:///var/lib/qlikbot/state.db   absolute path
//	bolt://state/qlikbot.db            relative path
//	/var/lib/qlikbot/state.db          a plain path is bolt too
//	redis://[user:password@]host:port/db, rediss://... (TLS)
//
// Bolt opens its file now, waiting for the file lock until ctx's deadline (or
// the bolt timeout). Redis does not dial: call Ping. Errors and logs never
// show a password.
func Open(ctx context.Context, rawURL string, opts ...Option) (Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	scheme, rest, hasScheme := strings.Cut(rawURL, "://")
	switch {
	case strings.TrimSpace(rawURL) == "":
		return nil, errors.New("open store: empty URL")
	case !hasScheme:
		return openBolt(ctx, rawURL, opts)
	case strings.EqualFold(scheme, "bolt"):
		if rest == "" {
			return nil, fmt.Errorf("open store %s: no file path after bolt://", rawURL)
		}
		return openBolt(ctx, rest, opts)
	case strings.EqualFold(scheme, "redis"), strings.EqualFold(scheme, "rediss"):
		ropts, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, redactedError(rawURL, "open store", err)
		}
		r, err := NewRedis(ropts, opts...)
		if err != nil {
			return nil, redactedError(rawURL, "open store", err)
		}
		return r, nil
	default:
		return nil, fmt.Errorf("open store %s: unsupported scheme %q (want bolt://, redis:// or rediss://, or a file path)",
			RedactURL(rawURL), scheme)
	}
}

func openBolt(ctx context.Context, path string, opts []Option) (Store, error) {
	if d, ok := ctx.Deadline(); ok {
		// Later options win, so the caller's deadline bounds the lock wait.
		opts = append(append([]Option(nil), opts...), WithBoltTimeout(max(time.Until(d), time.Millisecond)))
	}
	return OpenBolt(path, opts...)
}

// RedactURL returns rawURL with any password replaced by "xxxxx", also when
// the URL does not parse, so it can go into errors and logs.
func RedactURL(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL
	}
	// Userinfo runs to the last '@' before the path.
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return rawURL
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if !hasPassword {
		return rawURL
	}
	return scheme + "://" + user + ":xxxxx" + authority[at:] + path
}

// redactedError describes err without letting the URL's password through:
// url.Parse errors quote the whole URL and parts of it, so the message is
// rebuilt with the secret masked and the original chain is dropped.
func redactedError(rawURL, op string, err error) error {
	red := RedactURL(rawURL)
	var esc url.EscapeError
	if errors.As(err, &esc) {
		// The bad escape may sit inside the password: do not quote it.
		return fmt.Errorf("%s %s: invalid %% escape in URL", op, red)
	}
	msg := strings.ReplaceAll(err.Error(), rawURL, red)
	for _, pw := range urlPasswords(rawURL) {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return fmt.Errorf("%s %s: %s", op, red, msg)
}

// urlPasswords returns the password as written and as decoded, found without
// needing the URL to parse.
func urlPasswords(rawURL string) []string {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return nil
	}
	_, pw, _ := strings.Cut(rest[:at], ":")
	if pw == "" {
		return nil
	}
	out := []string{pw}
	if dec, err := url.PathUnescape(pw); err == nil && dec != "" && dec != pw {
		out = append(out, dec)
	}
	return out
}
