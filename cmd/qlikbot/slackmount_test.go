package main

import (
	"errors"
	"net/http"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestSlackEndpointsOnlyInHTTPMode: in socket mode the public listener has
// no /slack/ endpoints, so a POST signed correctly (with the signing secret
// when one is set, with an empty key when none is) reaches nothing: 404.
// In HTTP mode the same request is acked, and a wrong signature refused.
func TestSlackEndpointsOnlyInHTTPMode(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t)
	sim := startSim(t)
	for _, secret := range []string{slackSigningSecret, ""} {
		cfg := simConfig(t, sim, "")
		cfg.HTTPAddr, cfg.AdminAddr = "127.0.0.1:0", "off"
		cfg.SlackMode, cfg.SlackBotToken, cfg.SlackAppToken = "socket", slackBotToken, slackAppToken
		cfg.SlackSigningSecret = bot.Secret(secret)
		cfg.SlackAPIURL = slack.srv.URL + "/api/"
		// Built, not run: socket mode would dial Slack. The public
		// listener is served as run serves it.
		a, err := newApp(t.Context(), cfg, newLogger(cfg, &syncBuffer{}), nil, &syncBuffer{}, &syncBuffer{})
		if err != nil {
			t.Fatalf("newApp in socket mode: %v", err)
		}
		served := make(chan error, 1)
		go func() { served <- a.public.srv.Serve(a.public) }()
		base := "http://" + a.public.Addr().String()
		for _, path := range []string{"/slack/commands", "/slack/interactions", "/slack/events"} {
			if code, body := postSigned(t, base+path, secret, "command=%2Fqlik&text=kick+finance&user_id=U0ADMIN"); code != http.StatusNotFound {
				t.Errorf("socket mode, secret set %v: signed POST %s answered %d %q, want 404", secret != "", path, code, body)
			}
		}
		if code, _ := send(t, mustGet(t, base+"/healthz")); code != http.StatusOK {
			t.Errorf("socket mode: /healthz answered %d, want 200 (the listener is up)", code)
		}
		a.public.srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		a.close()
	}

	cfg := simConfig(t, sim, "")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SlackMode, cfg.SlackBotToken, cfg.SlackSigningSecret = "http", slackBotToken, slackSigningSecret
	cfg.SlackAPIURL = slack.srv.URL + "/api/"
	app := startApp(t, cfg, nil)
	base := "http://" + app.public.Addr().String()
	if code, body := slashCommand(t, base, slackSigningSecret, "U0ADMIN", "help", slack.srv.URL+"/response/h"); code != http.StatusOK {
		t.Errorf("HTTP mode: signed slash command answered %d %q, want 200", code, body)
	}
	if code, body := slashCommand(t, base, "not-"+slackSigningSecret, "U0ADMIN", "help", slack.srv.URL+"/response/x"); code != http.StatusUnauthorized {
		t.Errorf("HTTP mode: wrongly signed slash command answered %d %q, want 401", code, body)
	}
}

func mustGet(t *testing.T, target string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
