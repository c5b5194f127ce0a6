package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/qlikbot/qlikbot/internal/qlikbench"
)

// buildQlikbot builds the real qlikbot binary into dir, once per bench
// run, with the go command that is running this module.
func buildQlikbot(ctx context.Context, dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command to build qlikbot: %w", err)
	}
	name := "qlikbot"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	out, err := exec.CommandContext(ctx, goTool, append(args, "github.com/qlikbot/qlikbot/cmd/qlikbot")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/qlikbot: %w\n%s", err, out)
	}
	return bin, nil
}

// shippedDefaults asks the qlikbot binary (qlikbot -h lists every setting
// with its default) what a new user gets: the one source of truth is
// cmd/qlikbot's configuration.
func shippedDefaults(ctx context.Context, bin string) (qlikbench.Shipped, error) {
	out, err := exec.CommandContext(ctx, bin, "-h").Output()
	if err != nil {
		return qlikbench.Shipped{}, fmt.Errorf("qlikbot -h: %w", err)
	}
	s, err := parseShipped(bytes.NewReader(out))
	if err != nil {
		return qlikbench.Shipped{}, fmt.Errorf("qlikbot -h: %w", err)
	}
	return s, nil
}

// parseShipped reads the defaults of QLIKBOT_QLIK_CONCURRENCY and
// QLIKBOT_QLIK_RPS from qlikbot's usage: lines "VARIABLE DEFAULT
// DESCRIPTION".
func parseShipped(r io.Reader) (qlikbench.Shipped, error) {
	s := qlikbench.Shipped{Source: "qlikbot -h"}
	found := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		var err error
		switch f[0] {
		case "QLIKBOT_QLIK_CONCURRENCY":
			s.Concurrency, err = strconv.Atoi(f[1])
		case "QLIKBOT_QLIK_RPS":
			s.RequestsPerSecond, err = strconv.ParseFloat(f[1], 64)
		default:
			continue
		}
		if err != nil {
			return s, fmt.Errorf("the default of %s, %q, is not a number", f[0], f[1])
		}
		found[f[0]] = true
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	for _, v := range []string{"QLIKBOT_QLIK_CONCURRENCY", "QLIKBOT_QLIK_RPS"} {
		if !found[v] {
			return s, fmt.Errorf("no default for %s in the usage", v)
		}
	}
	return s, nil
}
