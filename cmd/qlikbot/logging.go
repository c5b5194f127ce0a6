package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/bot"
)

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, badSetting("QLIKBOT_LOG_LEVEL", s, "", "debug, info, warn or error")
	}
	return l, nil
}

// newLogger logs JSON unless told otherwise or writing to a terminal.
func newLogger(c Config, w io.Writer) *slog.Logger { return newLoggerTo(c, w, isTerminal(w)) }

// newLoggerTo is newLogger for a writer that is not itself the terminal
// it ends up on (the console's log writer).
func newLoggerTo(c Config, w io.Writer, terminal bool) *slog.Logger {
	level, _ := parseLevel(c.LogLevel) // validated in loadConfig
	opts := &slog.HandlerOptions{Level: level}
	format := c.LogFormat
	if format == "auto" {
		format = "json"
		if terminal {
			format = "text"
		}
	}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(bot.LogHandler(h))
}

// isTerminal reports whether f is a character device (a TTY), without a
// dependency for one bit of information.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// redisLog adapts slog to go-redis's Printf-style logger. While Redis is
// down go-redis's connection pool reports every failed dial, several a
// second; one line per message format per redisLogEvery says it (qlikbot's
// own store lines say the rest). Each format has its own pace, so a flood
// of one message never hides another (an auth or TLS error).
type redisLog struct {
	l *slog.Logger

	mu    *sync.Mutex
	every map[string]*rate.Sometimes // by format
}

const (
	redisLogEvery = 10 * time.Second
	// redisLogFormats bounds the map: go-redis's formats are constants,
	// a few dozen at most; past this, new formats share one pace.
	redisLogFormats = 64
)

func newRedisLog(l *slog.Logger) redisLog {
	return redisLog{l: l, mu: &sync.Mutex{}, every: map[string]*rate.Sometimes{}}
}

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.mu.Lock()
	key := format
	if _, ok := r.every[key]; !ok && len(r.every) >= redisLogFormats {
		key = ""
	}
	s, ok := r.every[key]
	if !ok {
		s = &rate.Sometimes{Interval: redisLogEvery}
		r.every[key] = s
	}
	r.mu.Unlock()
	s.Do(func() {
		r.l.WarnContext(ctx, fmt.Sprintf(format, v...), "quiet_for", redisLogEvery)
	})
}
