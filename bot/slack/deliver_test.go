package slackbot

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

// TestDeliver: a reply no request waits for (a resumed job's outcome)
// replaces the approval message with chat.update, or is posted with
// chat.postMessage when the destination names no message, files shared
// after it; what cannot be delivered safely is refused with no call.
func TestDeliver(t *testing.T) {
	t.Parallel()
	outcome := bot.Reply{Kind: bot.Success, Title: "Approved: end 2 sessions on finance", Summary: []string{"Resumed after an interruption."},
		Visibility: bot.InChannel, ReplaceOriginal: true, Files: []bot.File{{Name: "outcome.csv", Type: "text/csv", Data: []byte("Session,Outcome\n55142b14,deleted\n")}}}
	private := outcome
	private.Visibility, private.Files = bot.Ephemeral, nil
	cases := []struct {
		name   string
		dst    bot.Destination
		r      bot.Reply
		method string // "" when refused
	}{
		{"replaces the approval message", bot.Destination{Platform: bot.Slack, Channel: "C1", Message: "1700000000.000100"}, outcome, "/chat.update"},
		{"posts where there is no message", bot.Destination{Platform: bot.Slack, Channel: "C1"}, outcome, "/chat.postMessage"},
		{"a private reply in a direct message", bot.Destination{Platform: bot.Slack, Channel: "D1"}, private, "/chat.postMessage"},
		{"a private reply in a channel", bot.Destination{Platform: bot.Slack, Channel: "C1"}, private, ""},
		{"another platform", bot.Destination{Platform: bot.Teams, Channel: "C1"}, outcome, ""},
		{"a bad channel", bot.Destination{Platform: bot.Slack, Channel: "#general"}, outcome, ""},
		{"a bad message ts", bot.Destination{Platform: bot.Slack, Channel: "C1", Message: "../x"}, outcome, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			a, _ := fakeAdapter(t, f, testkit.NewClock(time.Now()))
			got, err := a.Deliver(t.Context(), tc.dst, tc.r)
			if tc.method == "" {
				if err == nil {
					t.Errorf("Deliver = %+v, want an error", got)
				}
				f.none(t)
				return
			}
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			c := f.next(t)
			if c.Path != tc.method || c.Form.Get("channel") != tc.dst.Channel || !strings.Contains(c.text(), "Resumed after an interruption.") {
				t.Fatalf("call %s to %q: %s", c.Path, c.Form.Get("channel"), c.text())
			}
			if tc.method == "/chat.update" && (c.Form.Get("ts") != tc.dst.Message || got.Message != tc.dst.Message) {
				t.Errorf("updated ts %q, returned %+v; want %s", c.Form.Get("ts"), got, tc.dst.Message)
			}
			if tc.method == "/chat.postMessage" && !tsRE.MatchString(got.Message) {
				t.Errorf("returned %+v, want the new message's ts", got)
			}
			if len(tc.r.Files) > 0 {
				up, _ := f.nextPath(t, "/upload/")
				if up.File != string(tc.r.Files[0].Data) {
					t.Errorf("uploaded %q", up.File)
				}
			}
		})
	}
}

// TestOrigin: a click's origin names its message unless it was ephemeral
// (the bot token cannot update those); a command's names its channel.
func TestOrigin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ref  messageRef
		want bot.Destination
	}{
		{messageRef{}, bot.Destination{Platform: bot.Slack, Channel: "C1"}},
		{messageRef{Channel: "C1", TS: "1.2"}, bot.Destination{Platform: bot.Slack, Channel: "C1", Message: "1.2"}},
		{messageRef{Channel: "C1", TS: "1.2", Ephemeral: true}, bot.Destination{Platform: bot.Slack, Channel: "C1"}},
	}
	for _, tc := range cases {
		if got := origin("C1", tc.ref); got != tc.want {
			t.Errorf("origin(%+v) = %+v, want %+v", tc.ref, got, tc.want)
		}
	}
}

// TestRequestOrigin: the adapter fills Request.Origin: a slash command's
// channel, a click's channel and message (none for an ephemeral one), and
// for a click on the App Home the clicker's direct messages with the app.
func TestRequestOrigin(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	a, _ := fakeAdapter(t, f, testkit.NewClock(time.Now()))
	cmd, err := a.fromCommand(slack.SlashCommand{Command: "/qlik", UserID: "U1", ChannelID: "C1", Text: "kick finance"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := (bot.Destination{Platform: bot.Slack, Channel: "C1"}); cmd.Origin != want {
		t.Errorf("command origin %+v, want %+v", cmd.Origin, want)
	}
	click := func(ephemeral, home bool) slack.InteractionCallback {
		cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U2"}}
		cb.ActionCallback.BlockActions = []*slack.BlockAction{{ActionID: "qlik.approve", Value: "p-42"}}
		if home {
			cb.View.Type = slack.VTHomeTab
			cb.Container.Type = "view"
			return cb
		}
		cb.Channel.ID = "C1"
		cb.Container.MessageTs, cb.Container.IsEphemeral = "1700000000.000100", ephemeral
		return cb
	}
	cases := []struct {
		name string
		cb   slack.InteractionCallback
		want bot.Destination
	}{
		{"a message in a channel", click(false, false), bot.Destination{Platform: bot.Slack, Channel: "C1", Message: "1700000000.000100"}},
		{"an ephemeral message", click(true, false), bot.Destination{Platform: bot.Slack, Channel: "C1"}},
		{"the App Home", click(false, true), bot.Destination{Platform: bot.Slack, Channel: "U2"}},
	}
	for _, tc := range cases {
		req, err := a.fromInteraction(tc.cb, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if req.Origin != tc.want {
			t.Errorf("%s: origin %+v, want %+v", tc.name, req.Origin, tc.want)
		}
	}
}
