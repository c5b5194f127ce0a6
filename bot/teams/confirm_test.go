package teams

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestConfirmAsks: a button or menu with Confirm runs only after a second
// click, as in Slack and on the console: it opens a card holding the
// question and the Action.Execute that sends the click.
func TestConfirmAsks(t *testing.T) {
	t.Parallel()
	r := bot.Reply{Title: "Approval needed",
		Buttons: []bot.Button{
			{Label: "Approve", ActionID: "qlik.approve", Value: "p-42", Style: bot.Primary, Confirm: "End 2 sessions on finance?"},
			{Label: "Reject", ActionID: "qlik.reject", Value: "p-42"},
		},
		Menus: []bot.Menu{{Label: "Log out", ActionID: "qlik.kick", Confirm: "Log this user out?",
			Options: []bot.Option{{Label: "LAB\\ann", Value: "kick ann"}}}},
	}
	c := render(r)
	checkCard(t, c)
	if len(c.Actions) != 2 {
		t.Fatalf("%d actions, want 2", len(c.Actions))
	}
	approve := c.Actions[0]
	if approve.Type != "Action.ShowCard" || approve.Title != "Approve" || approve.Data != nil || approve.Card == nil ||
		len(approve.Card.Body) != 1 || approve.Card.Body[0].Text != "End 2 sessions on finance?" || len(approve.Card.Actions) != 1 {
		t.Fatalf("Approve %+v: want a ShowCard asking first", approve)
	}
	yes := approve.Card.Actions[0]
	if yes.Type != "Action.Execute" || yes.Verb != "qlik.approve" || yes.Data != (clickData{Action: "qlik.approve", Value: "p-42"}) ||
		yes.Style != "positive" || yes.Fallback == nil || yes.Fallback.Data != yes.Data {
		t.Errorf("the confirming action %+v", yes)
	}
	if reject := c.Actions[1]; reject.Type != "Action.Execute" {
		t.Errorf("Reject without Confirm is %s, want a plain Action.Execute", reject.Type)
	}
	var menuBtn *cardAction
	for _, el := range c.Body {
		if el.Type == "ActionSet" {
			menuBtn = &el.Actions[0]
		}
	}
	if menuBtn == nil || menuBtn.Type != "Action.ShowCard" || menuBtn.Card.Body[0].Text != "Log this user out?" ||
		menuBtn.Card.Actions[0].Data != (menuData{Action: "qlik.kick", Choice: "choice0"}) {
		t.Errorf("menu button %+v: want a ShowCard asking first", menuBtn)
	}
}

// TestButtonsBeyondTheLimitNoted: buttons past the five a card holds are
// left out with a note, never silently.
func TestButtonsBeyondTheLimitNoted(t *testing.T) {
	t.Parallel()
	r := bot.Reply{Title: "Many"}
	for i := range maxActions + 2 {
		r.Buttons = append(r.Buttons, bot.Button{Label: "B" + string(rune('a'+i)), ActionID: "qlik.run", Value: "x"})
	}
	c := render(r)
	b, _ := json.Marshal(c)
	if len(c.Actions) != maxActions || !strings.Contains(string(b), "2 more button(s) left out") {
		t.Errorf("%d actions: %s", len(c.Actions), b)
	}
}

// TestTableLeavesRoomForMenus: a table that was never fitted, under which
// a menu of 100 choices follows, stops where the card still holds the
// menu: the card stays within the size budget, the menu whole.
func TestTableLeavesRoomForMenus(t *testing.T) {
	t.Parallel()
	table := &bot.Table{Columns: []string{"User", "Node"}}
	menu := bot.Menu{Label: "Log out", ActionID: "qlik.kick"}
	for i := range 400 {
		user := fmt.Sprintf("DOMAIN\\user%03d-%s", i, strings.Repeat("x", 30))
		table.Rows = append(table.Rows, []string{user, "node1"})
		if i < maxChoices {
			menu.Options = append(menu.Options, bot.Option{Label: user, Value: "kick " + user + strings.Repeat("v", 40)})
		}
	}
	c := render(bot.Reply{Title: "Sessions", Table: table, Menus: []bot.Menu{menu}})
	checkCard(t, c)
	if size := cardSize(c); size > cardBudget {
		t.Errorf("card of %d bytes, over the budget of %d", size, cardBudget)
	}
	var choices int
	for _, el := range c.Body {
		if el.Type == "Input.ChoiceSet" {
			choices = len(el.Choices)
		}
	}
	if choices != maxChoices {
		t.Errorf("the menu holds %d choices, want %d", choices, maxChoices)
	}
}

// TestConfirmTitles: the confirming button's title lowers the first
// letter, whatever its width, and a menu without a label asks too.
func TestConfirmTitles(t *testing.T) {
	t.Parallel()
	cases := []struct{ label, want string }{
		{"Approve", "Yes, approve"},
		{"Übernehmen", "Yes, übernehmen"},
		{"", "Yes, qlik.kick"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			t.Parallel()
			c := render(bot.Reply{Title: "Ask", Menus: []bot.Menu{{Label: tc.label, ActionID: "qlik.kick", Confirm: "Sure?",
				Options: []bot.Option{{Label: "LAB\\ann", Value: "kick ann"}}}}})
			checkCard(t, c)
			for _, el := range c.Body {
				if el.Type != "ActionSet" {
					continue
				}
				if a := el.Actions[0]; a.Card == nil || a.Card.Actions[0].Title != tc.want {
					t.Errorf("menu %q asks with %+v, want a confirming button %q", tc.label, a, tc.want)
				}
				return
			}
			t.Errorf("menu %q: no button", tc.label)
		})
	}
}
