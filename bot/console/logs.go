package console

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// LogWriter is where qlikbot's log lines go while a console may run: make
// it the writer of the log handler and give it to the console
// (WithLogWriter). Until an interactive console starts it passes lines to
// its fallback (standard error). While one runs, lines go to a log file
// instead, whose path the console prints at start-up: a line logged by
// another goroutine (a Qlik node that stopped answering, a policy reload)
// never lands inside a reply or the prompt being typed at. When the
// console ends, lines go to the fallback again; the file is kept if
// anything was logged to it. Piped (non-interactive) consoles keep
// logging to the fallback, so scripts can separate the two streams.
// Safe for concurrent use.
type LogWriter struct {
	fallback io.Writer
	dir      string // for the log file; "" = the system's temporary folder

	mu      sync.Mutex
	file    *os.File // set while an interactive console runs
	written int64
}

// NewLogWriter returns a LogWriter that writes to fallback until an
// interactive console starts, and to a new file in dir ("" for the
// system's temporary folder) while it runs.
func NewLogWriter(fallback io.Writer, dir string) *LogWriter {
	return &LogWriter{fallback: fallback, dir: dir}
}

// Write writes one log line (slog handlers write a record at once).
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		n, err := l.file.Write(p)
		l.written += int64(n)
		return n, err
	}
	return l.fallback.Write(p)
}

// toFile sends log lines to a new file (mode 0600: lines name users) and
// returns its path.
func (l *LogWriter) toFile() (string, error) {
	f, err := os.CreateTemp(l.dir, "qlikbot-console-*.log")
	if err != nil {
		return "", fmt.Errorf("create console log file: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil { // one console at a time; keep the first file
		f.Close()
		os.Remove(f.Name())
		return l.file.Name(), nil
	}
	l.file, l.written = f, 0
	return f.Name(), nil
}

// restore sends log lines to the fallback again and closes the file,
// removing it if nothing was logged. It returns the path of a file kept.
func (l *LogWriter) restore() (kept string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.file
	if f == nil {
		return "", nil
	}
	l.file = nil
	err = f.Close()
	if l.written == 0 {
		return "", os.Remove(f.Name())
	}
	return f.Name(), err
}
