package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// maxBody caps an inbound request before it is read. Slash commands are a
// few KB, but a block_actions payload carries the message it was clicked
// on: Next under a 99-row table is about 50 KB form-encoded with short
// cells and several times that with long ones.
const maxBody = 1 << 20

// Handler serves Slack's HTTP mode: POST /slack/commands (slash commands),
// POST /slack/interactions (button clicks) and POST /slack/events (the
// Events API: app_home_opened).
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", a.serveCommand)
	mux.HandleFunc("POST /slack/interactions", a.serveInteraction)
	mux.HandleFunc("POST /slack/events", a.serveEvents)
	return mux
}

// readVerified reads the capped body and verifies it. On failure it has
// answered already and returns ok=false.
func (a *Adapter) readVerified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.log.WarnContext(r.Context(), "slack request too large", "limit", maxBody)
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return nil, false
	}
	if err := a.verify.verify(r.Context(), r.Header, body, a.now()); err != nil {
		switch {
		case errors.Is(err, ErrMissingHeaders), errors.Is(err, ErrBadTimestamp), errors.Is(err, ErrStaleTimestamp),
			errors.Is(err, ErrBadSignature), errors.Is(err, ErrReplay):
			a.log.WarnContext(r.Context(), "slack request refused", "reason", err, "remote", r.RemoteAddr)
			http.Error(w, "invalid request", http.StatusUnauthorized)
		default: // the replay guard is down: refuse, Slack retries
			a.log.ErrorContext(r.Context(), "slack request not verified", "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
		return nil, false
	}
	return body, true
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	received := a.now()
	body, ok := a.readVerified(w, r)
	if !ok {
		return
	}
	cmd, err := parseCommandForm(body)
	if err != nil {
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	req, err := a.fromCommand(cmd, received)
	switch {
	case errors.Is(err, ErrUnknownCommand):
		ackText(w, "This app answers "+a.cfg.Command+" only.")
		return
	case err != nil:
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	a.submit(w, r, req)
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	received := a.now()
	body, ok := a.readVerified(w, r)
	if !ok {
		return
	}
	cb, err := parseInteractionForm(body)
	if err != nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	req, err := a.fromInteraction(cb, received)
	switch {
	case errors.Is(err, ErrNotAClick):
		w.WriteHeader(http.StatusOK) // other interaction types: acknowledged, ignored
		return
	case err != nil:
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	a.submit(w, r, req)
}

// submit queues the request and acks at once: the work and its answer go
// through the dispatcher and the responder, never this response.
func (a *Adapter) submit(w http.ResponseWriter, r *http.Request, req bot.Request) {
	a.withEmail(r.Context(), &req)
	// WithoutCancel: the work outlives this HTTP exchange, which ends with the ack.
	err := a.sub.Submit(context.WithoutCancel(r.Context()), req)
	switch {
	case errors.Is(err, bot.ErrClosed):
		ackText(w, restartingText)
		return
	case err != nil:
		// The dispatcher answers "busy" / "slow down" through ReplyTo itself.
		a.log.InfoContext(r.Context(), "slack request not queued", "request_id", req.ID, "err", err)
	}
	w.WriteHeader(http.StatusOK)
}

// restartingText answers a request that arrives while qlikbot shuts down.
const restartingText = "qlikbot is restarting; please try again in a minute."

// ackText answers in the HTTP response with an ephemeral message.
func ackText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: text})
}
