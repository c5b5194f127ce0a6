package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShutdownDrain: once signalled, a serving app fails /readyz and still
// answers on both listeners (a signed Slack command is acked and answered) for
// QLIKBOT_SHUTDOWN_DRAIN; only then does it shut down. The drain's sleep
// is held open by the test, so nothing here depends on timing.
func TestShutdownDrain(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t)
	cfg := simConfig(t, startSim(t), "")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SlackMode, cfg.SlackBotToken, cfg.SlackSigningSecret = "http", slackBotToken, slackSigningSecret
	cfg.SlackAPIURL = slack.srv.URL + "/api/"
	cfg.ShutdownDrain = 7 * time.Second
	a := startApp(t, cfg, nil)
	public, admin := "http://"+a.public.Addr().String(), "http://"+a.admin.Addr().String()
	// Ready first (the store answers and Slack serves a moment after the
	// listeners open), so the 503 below is the drain's.
	waitReady(t, admin)
	draining, release := make(chan time.Duration, 1), make(chan struct{})
	a.sleep = func(d time.Duration) {
		draining <- d
		<-release
	}
	a.stop() // the signal
	var slept time.Duration
	select {
	case slept = <-draining:
	case <-time.After(30 * time.Second):
		t.Fatal("no drain within 30s of the signal")
	}
	if slept != cfg.ShutdownDrain {
		t.Errorf("drained %v, want QLIKBOT_SHUTDOWN_DRAIN %v", slept, cfg.ShutdownDrain)
	}
	if resp, body := get(t, admin+"/readyz"); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz while draining: %s %q, want 503 shutting down", resp.Status, body)
	}
	if resp, _ := get(t, public+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("public /healthz while draining: %s, want 200", resp.Status)
	}
	if code, body := slashCommand(t, public, slackSigningSecret, "U0ADMIN", "help", slack.srv.URL+"/response/drain"); code != http.StatusOK {
		t.Errorf("signed slash command while draining: %d %q, want 200 (acked)", code, body)
	}
	// Answered, not only acked: the dispatcher still works while draining.
	waitFor(t, 20*time.Second, "the answer to the command sent while draining", func() bool { return len(slack.posts("/response/drain")) > 0 })
	if got := slack.posts("/response/drain")[0]; !strings.Contains(got, "qlikbot commands") {
		t.Errorf("answer to help while draining: %s, want the help text", got)
	}
	select {
	case err := <-a.done:
		t.Fatalf("run returned (%v) before the drain ended", err)
	default:
	}
	close(release)
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("run after the drain: %v", err)
		}
		close(a.done) // shutdown in cleanup sees it closed
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30s of the drain's end")
	}
	if resp, err := http.DefaultClient.Do(mustGet(t, public+"/healthz")); err == nil {
		resp.Body.Close()
		t.Error("the public listener still answers after shutdown")
	}
}
