package slackbot

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// Errors of inbound payloads that verified but do not make a request.
var (
	ErrUnknownCommand = errors.New("slack: not our slash command")
	ErrBadPayload     = errors.New("slack: malformed payload")
	ErrNotAClick      = errors.New("slack: interaction is not a button click")
)

// maxIDLen bounds Slack ids we pass on; real ones are about 11 characters.
const maxIDLen = 64

// parseCommandForm reads a slash command from a form-encoded body. Only the
// body counts: there is no query string to smuggle values through. It
// reads the fields the adapter uses, as slack.SlashCommandParse names
// them, without building an http.Request for it (that is on the ack path).
func parseCommandForm(body []byte) (slack.SlashCommand, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return slack.SlashCommand{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	return slack.SlashCommand{
		TeamID:      form.Get("team_id"),
		ChannelID:   form.Get("channel_id"),
		UserID:      form.Get("user_id"),
		UserName:    form.Get("user_name"),
		Command:     form.Get("command"),
		Text:        form.Get("text"),
		ResponseURL: form.Get("response_url"),
		TriggerID:   form.Get("trigger_id"),
		APIAppID:    form.Get("api_app_id"),
	}, nil
}

// parseInteractionForm reads the interaction JSON from the body's
// "payload" field (never from a query string: slack-go v0.35 stopped that
// because a signed body could be paired with a smuggled query).
func parseInteractionForm(body []byte) (slack.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return slack.InteractionCallback{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	payload := form.Get("payload")
	if payload == "" {
		return slack.InteractionCallback{}, fmt.Errorf("%w: no payload", ErrBadPayload)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return slack.InteractionCallback{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	return cb, nil
}

// validID accepts Slack-looking ids: upper-case letters and digits.
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// fromCommand turns a verified slash command into a request.
func (a *Adapter) fromCommand(cmd slack.SlashCommand, received time.Time) (bot.Request, error) {
	if !strings.EqualFold(cmd.Command, a.cfg.Command) {
		return bot.Request{}, fmt.Errorf("%w: %q", ErrUnknownCommand, cmd.Command)
	}
	if !validID(cmd.UserID) || (cmd.ChannelID != "" && !validID(cmd.ChannelID)) {
		return bot.Request{}, fmt.Errorf("%w: bad user or channel id", ErrBadPayload)
	}
	req := bot.Request{
		ID:         bot.NewRequestID(),
		Platform:   bot.Slack,
		User:       bot.User{ID: cmd.UserID, Name: cmd.UserName},
		Channel:    cmd.ChannelID,
		Text:       bot.TrimCommand(cmd.Text),
		ReceivedAt: received,
		Fit:        Fit,
		Origin:     origin(cmd.ChannelID, messageRef{}),
	}
	req.ReplyTo = a.newResponder(req, cmd.ResponseURL, messageRef{})
	return req, nil
}

// fromInteraction turns a verified button click into a request. The user
// is the one who clicked: anyone in the channel can click any button.
func (a *Adapter) fromInteraction(cb slack.InteractionCallback, received time.Time) (bot.Request, error) {
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		return bot.Request{}, ErrNotAClick
	}
	act := cb.ActionCallback.BlockActions[0] // Slack sends one action per click
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	if act == nil || act.ActionID == "" || !validID(cb.User.ID) || (channel != "" && !validID(channel)) {
		return bot.Request{}, fmt.Errorf("%w: bad click", ErrBadPayload)
	}
	ts := cb.Container.MessageTs
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	ref := messageRef{Channel: channel, TS: ts, Ephemeral: cb.Container.IsEphemeral}
	req := bot.Request{
		ID:       bot.NewRequestID(),
		Platform: bot.Slack,
		User:     bot.User{ID: cb.User.ID, Name: cb.User.Name},
		Channel:  channel,
		Action: &bot.Action{
			ID:         parseActionID(act.ActionID),
			Value:      actionValue(act),
			MessageRef: ref.String(),
		},
		ReceivedAt: received,
		Fit:        Fit,
		Origin:     origin(channel, ref), // the message a job it starts reports on
	}
	req.ReplyTo = a.newResponder(req, cb.ResponseURL, ref)
	if isHomeClick(cb) {
		req.ReplyTo = a.homeResponder(req, cb.Team.ID)
		// No channel message carried the button: a job it starts reports
		// in the clicker's direct messages with the app.
		req.Origin = bot.Destination{Platform: bot.Slack, Channel: cb.User.ID}
	}
	return req, nil
}

func (a *Adapter) newResponder(req bot.Request, responseURL string, ref messageRef) *responder {
	if responseURL != "" && !trustedResponseURL(responseURL, a.apiOrigin) {
		a.log.Warn("ignoring an untrusted response_url", "request_id", req.ID)
		responseURL = ""
	}
	return &responder{
		post:        a.post,
		now:         a.now,
		log:         a.log, // the request id comes with the ctx of each reply
		channel:     req.Channel,
		user:        req.User.ID,
		responseURL: responseURL,
		issued:      req.ReceivedAt,
		ref:         ref,
	}
}
