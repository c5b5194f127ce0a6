package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// Caps on an inbound request's body, read only once its signature
// headers are present and fresh. Slash commands and events are a few KB;
// a block_actions payload carries the message it was clicked on: Next
// under a full table is about 50 KB form-encoded with short cells and
// several times that with long ones (render caps the table's encoded
// size so it stays well under maxInteractionBody).
const (
	maxCommandBody     = 64 << 10
	maxInteractionBody = 1 << 20
)

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

// guardTimeout bounds one replay check.
const guardTimeout = 10 * time.Second

// readSigned checks the signature headers, reads the body capped at
// limit and checks the signature, returning the key the replay guard
// checks after the ack. A request without fresh signature headers is
// refused before its body is read. On failure it has answered already
// and returns ok=false.
func (a *Adapter) readSigned(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, replayKey string, ok bool) {
	if _, _, err := a.verify.precheck(r.Header, a.now()); err != nil {
		a.refuse(w, r, err)
		return nil, "", false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.log.WarnContext(r.Context(), "slack request too large", "limit", limit)
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return nil, "", false
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return nil, "", false
	}
	replayKey, err = a.verify.check(r.Header, body, a.now())
	if err != nil {
		a.refuse(w, r, err)
		return nil, "", false
	}
	return body, replayKey, true
}

// refuse answers a request whose signature does not hold.
func (a *Adapter) refuse(w http.ResponseWriter, r *http.Request, err error) {
	a.log.WarnContext(r.Context(), "slack request refused", "reason", err, "remote", r.RemoteAddr)
	http.Error(w, "invalid request", http.StatusUnauthorized)
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	received := a.now()
	body, replayKey, ok := a.readSigned(w, r, maxCommandBody)
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
	a.admit(w, r, replayKey, req, cmd.TeamID)
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	received := a.now()
	body, replayKey, ok := a.readSigned(w, r, maxInteractionBody)
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
	a.admit(w, r, replayKey, req, cb.Team.ID)
}

// admit acks a signed request, then lets it run if the replay guard has
// not seen it. The guard is a write to the shared store (for bolt an
// fsync, shared with the workers' audit rows), slow under a burst and
// down at times, so it comes after the ack, never between Slack and it;
// it still comes before the request is queued, so a replay, on this
// replica or another, runs nothing. A replay is dropped (Slack got an
// empty 200, the log says why); when the guard fails, the user is told
// that nothing was done. team is the workspace the request came from.
func (a *Adapter) admit(w http.ResponseWriter, r *http.Request, replayKey string, req bot.Request, team string) {
	a.ack(w, r, req)
	ctx := context.WithoutCancel(r.Context()) // Slack may hang up once it has the ack
	gctx, cancel := context.WithTimeout(ctx, guardTimeout)
	err := a.verify.fresh(gctx, replayKey)
	cancel()
	if err != nil {
		a.refuseAcked(ctx, req, err)
		return
	}
	a.submitAcked(ctx, req, team)
}

// ack answers 200, complete (Content-Length: 0) and flushed, before the
// e-mail lookup and the queue: neither counts against Slack's 3 s, and a
// worker that starts on this request cannot delay its ack. The work and
// its answer go through the dispatcher and the responder, never this
// response.
func (a *Adapter) ack(w http.ResponseWriter, r *http.Request, req bot.Request) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		a.log.DebugContext(r.Context(), "slack ack not flushed; sent when the handler returns", "err", err)
	}
	a.log.DebugContext(r.Context(), "slack request acked", "request_id", req.ID)
}

// refuseAcked handles an acked request the replay guard refused: a replay
// is dropped, a guard failure is told to the user (nothing ran).
func (a *Adapter) refuseAcked(ctx context.Context, req bot.Request, err error) {
	if errors.Is(err, ErrReplay) {
		a.log.WarnContext(ctx, "slack request refused", "reason", err, "request_id", req.ID)
		return
	}
	a.log.ErrorContext(ctx, "slack request not verified", "request_id", req.ID, "err", err)
	a.notify(ctx, req, guardDownText)
}

// guardDownText answers a request whose replay check failed.
const guardDownText = "qlikbot could not check this request (its state store did not answer), so nothing was done. Please try again in a minute."

// restartingText answers a request that arrives while qlikbot shuts down.
const restartingText = "qlikbot is restarting; please try again in a minute."

// ackText answers in the HTTP response with an ephemeral message.
func ackText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: text})
}
