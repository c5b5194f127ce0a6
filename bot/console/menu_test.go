package console

import (
	"context"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestMenuIsANumberedList: a menu's options are numbered before the
// buttons, and a number sends the menu's action with that option's value,
// asking first when the menu says so.
func TestMenuIsANumberedList(t *testing.T) {
	t.Parallel()
	var got []bot.Action
	h := bot.HandlerFunc(func(_ context.Context, req bot.Request) bot.Reply {
		if req.Action != nil {
			got = append(got, *req.Action)
			return bot.Reply{Title: "chose " + req.Action.Value}
		}
		return bot.Reply{Title: "Users", Menus: []bot.Menu{{Label: "Kick a user", ActionID: "qlik.run", Confirm: "Log this user out now?", Options: []bot.Option{
			{Label: `LAB\anna (5 sessions)`, Value: `kick --user LAB\anna`},
			{Label: `LAB\bob (1 session)`, Value: `kick --user LAB\bob`},
		}}}, Buttons: []bot.Button{{Label: "Next page", ActionID: "qlik.run", Value: "users --from 3"}}}
	})
	out := runScript(t, startDispatcher(t, h), "users\n2\ny\nusers\n3\n")
	want := "[console:oncall] Users\n\nKick a user:\n  [1] LAB\\anna (5 sessions)\n  [2] LAB\\bob (1 session)\n\n[3] Next page\n\n" +
		"Log this user out now? Type y to confirm: y\n[console:oncall] chose kick --user LAB\\bob\n\n"
	if !strings.HasPrefix(out, want) {
		t.Fatalf("transcript:\n%s\nwant it to start with:\n%s", out, want)
	}
	if len(got) != 2 || got[0].ID != "qlik.run" || got[0].Value != `kick --user LAB\bob` || got[1].Value != "users --from 3" {
		t.Fatalf("actions %+v", got)
	}
}
