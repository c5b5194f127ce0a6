package teams

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

func usersPage() bot.Reply {
	return bot.Reply{Kind: bot.Info, Title: "Users by session count", Visibility: bot.Ephemeral,
		Table: sessionsTable(300, 20),
		Menus: []bot.Menu{{Label: "Kick a user", Placeholder: "Choose a user to log out", ActionID: "qlik.run", Options: []bot.Option{
			{Label: `LAB\testuser_1 (5 sessions)`, Value: `kick --user LAB\testuser_1`},
			{Label: `LAB\testuser_2 (1 session)`, Value: `kick --user LAB\testuser_2`},
		}}},
		Buttons: []bot.Button{
			{Label: "Previous page", ActionID: "qlik.run", Value: "users --to 20"},
			{Label: "Next page", ActionID: "qlik.run", Value: "users --from 41"},
		},
	}
}

// TestMenuRendersAsOneChoiceAndOneButton: a menu is a filtered choice set
// submitted by one button, next to (not instead of) the paging buttons.
func TestMenuRendersAsOneChoiceAndOneButton(t *testing.T) {
	t.Parallel()
	c := render(usersPage())
	checkCard(t, c)
	var sets, actionSets []element
	for _, el := range c.Body {
		switch el.Type {
		case "Input.ChoiceSet":
			sets = append(sets, el)
		case "ActionSet":
			actionSets = append(actionSets, el)
		}
	}
	if len(sets) != 1 || sets[0].Style != "filtered" || len(sets[0].Choices) != 2 || !sets[0].IsRequired ||
		sets[0].Choices[0] != (choice{Title: `LAB\testuser_1 (5 sessions)`, Value: `kick --user LAB\testuser_1`}) {
		t.Fatalf("choice sets %+v", sets)
	}
	if len(actionSets) != 1 || len(actionSets[0].Actions) != 1 {
		t.Fatalf("action sets %+v", actionSets)
	}
	kick := actionSets[0].Actions[0]
	if kick.Type != "Action.Execute" || kick.Verb != "qlik.run" || kick.Data != any(menuData{Action: "qlik.run", Choice: sets[0].ID}) ||
		kick.Fallback == nil || kick.Fallback.Data != kick.Data {
		t.Fatalf("menu button %+v", kick)
	}
	if len(c.Actions) != 2 || c.Actions[0].Title != "Previous page" || c.Actions[1].Title != "Next page" {
		t.Fatalf("card actions %+v", c.Actions)
	}
}

// TestMenuChoiceArrives: Teams merges the chosen value into the button's
// data, by Action.Execute (invoke) or the Action.Submit fallback (a
// message); either way the choice becomes the action's value.
func TestMenuChoiceArrives(t *testing.T) {
	t.Parallel()
	data := map[string]any{"action": "qlik.run", "choice": "choice0", "choice0": `kick --user LAB\testuser_2`}
	t.Run("Action.Execute", func(t *testing.T) {
		t.Parallel()
		d := &recordingDispatcher{reply: bot.Reply{Kind: bot.Usage, Title: "Usage"}}
		e := newTestEnv(t, d)
		act := invokeActivity(e.conn.serviceURL(), "qlik.run", "")
		act["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": "qlik.run", "data": data}}
		decodeInvoke(t, e.post(t, e.validToken(t), act))
		_, done := d.calls()
		if len(done) != 1 || done[0].Action == nil || *done[0].Action != (bot.Action{ID: "qlik.run", Value: `kick --user LAB\testuser_2`, MessageRef: "card-9"}) {
			t.Fatalf("Do calls %+v", done)
		}
	})
	t.Run("Action.Submit", func(t *testing.T) {
		t.Parallel()
		d := &recordingDispatcher{}
		e := newTestEnv(t, d)
		act := messageActivity(e.conn.serviceURL(), "")
		act["value"] = data
		if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
			t.Fatalf("status %d", rec.Code)
		}
		sub, _ := d.calls()
		if len(sub) != 1 || sub[0].Action == nil || sub[0].Action.Value != `kick --user LAB\testuser_2` {
			t.Fatalf("Submit calls %+v", sub)
		}
	})
	t.Run("a plain button keeps its value", func(t *testing.T) {
		t.Parallel()
		if got := chosen(json.RawMessage(`{"action":"qlik.approve","value":"p-1"}`), "p-1"); got != "p-1" {
			t.Fatalf("chosen = %q", got)
		}
		if got := chosen(json.RawMessage(`{"action":"qlik.run","value":"v","choice":"action"}`), "v"); got != "v" {
			t.Fatalf("a choice naming a field that is not an input: %q", got)
		}
	})
}

// TestInvokeAnswers: what a click's reply becomes in Teams.
func TestInvokeAnswers(t *testing.T) {
	t.Parallel()
	approval := bot.Reply{Kind: bot.Pending, Title: "Approval needed: log LAB\\testuser_2 out", Visibility: bot.InChannel,
		Buttons: []bot.Button{{Label: "Approve", ActionID: "qlik.approve", Value: "p-1"}}}
	tests := []struct {
		name     string
		reply    bot.Reply
		wantType string
		wantText string // in the invoke answer
		posted   bool   // a new card in the conversation
	}{
		{"the next page goes to the clicker as a card", usersPage(), cardContentType, "Next page", false},
		{"an approval chosen from a menu is posted for everyone", approval, invokeMessageType, "Posted: Approval needed", true},
		{"a denial goes to the clicker as text", goldenReplies()["denied"], invokeMessageType, "You may not approve this", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, &recordingDispatcher{reply: tc.reply})
			resp := decodeInvoke(t, e.post(t, e.validToken(t), invokeActivity(e.conn.serviceURL(), "qlik.run", "users --from 21")))
			val, _ := json.Marshal(resp.Value)
			if resp.Type != tc.wantType || !strings.Contains(string(val), tc.wantText) {
				t.Fatalf("invoke answer %s %s", resp.Type, val)
			}
			calls := e.conn.recorded()
			if tc.posted {
				if len(calls) != 1 || calls[0].Method != http.MethodPost {
					t.Fatalf("connector calls %+v, want the reply posted", calls)
				}
				body, _ := json.Marshal(calls[0].Activity)
				if !strings.Contains(string(body), "qlik.approve") {
					t.Fatalf("posted %s", body)
				}
			} else if len(calls) != 0 {
				t.Fatalf("connector calls %+v, want none", calls)
			}
		})
	}
}
