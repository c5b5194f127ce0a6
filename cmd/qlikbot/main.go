// Command qlikbot is the chat-ops bot: configuration from QLIKBOT_*
// variables, wiring, run. With nothing configured it runs the console chat
// against the built-in Qlik Sense simulator.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/bot/console"
	"github.com/qlikbot/qlikbot/internal/gctune"
)

func main() {
	gctune.Apply() // a larger GC target than Go's default: see its doc
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs passed in; it returns the exit
// code: 0 done, 1 failed while running, 2 bad configuration or usage.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help", "help":
			if err := usage(stdout); err != nil {
				fmt.Fprintln(stderr, "qlikbot:", err)
				return 1
			}
			return 0
		default:
			fmt.Fprintf(stderr, "qlikbot: unknown argument %q: qlikbot takes no arguments; settings are QLIKBOT_* variables (qlikbot -h lists them)\n", a)
			return 2
		}
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(stderr, "qlikbot:", oneLine(err))
		return 2
	}
	// In an interactive console, log lines go to a file while the session
	// runs (they would land inside replies and prompts); elsewhere, and
	// before the session, they go to stderr as usual.
	logw := console.NewLogWriter(stderr, "")
	logger := newLoggerTo(cfg, logw, isTerminal(stderr))
	// go-redis logs through a package-level logger of its own; route it
	// into ours (main is the one place allowed to set such globals).
	redis.SetLogger(newRedisLog(logger.With("component", "redis")))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	a, err := newApp(ctx, cfg, logger, stdin, stdout, logw)
	if err != nil {
		fmt.Fprintln(stderr, "qlikbot:", oneLine(err))
		if errors.Is(err, errConfig) {
			return 2
		}
		return 1
	}
	if err := a.run(ctx); err != nil {
		if errors.Is(err, errConfig) {
			fmt.Fprintln(stderr, "qlikbot:", oneLine(err))
			return 2
		}
		logger.Error("qlikbot stopped", "err", err)
		return 1
	}
	return 0
}

// oneLine is err's message on one line (a policy's YAML error, a joined
// error), as the operator's one line should be.
func oneLine(err error) string {
	return strings.NewReplacer("\r\n", " | ", "\n", " | ", "\r", " | ").Replace(err.Error())
}
