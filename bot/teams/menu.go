package teams

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/qlikbot/qlikbot/bot"
)

// Menus. A bot.Menu becomes a filtered Input.ChoiceSet (type-ahead in
// Teams) and one button under it: a card holds any number of choices but
// only a handful of actions, so per-row actions never push the paging
// buttons off. The button's data names its input; Teams merges every
// input's value into the data of the action that submits the card, so a
// click arrives as {"action": ..., "choice": "choice0", "choice0": value}.

const (
	maxChoices     = 100 // per menu: more would crowd out the table
	maxChoiceRunes = 80
	choiceIDPrefix = "choice"
)

// menuData is the data of a menu's button.
type menuData struct {
	Action string `json:"action"`
	Choice string `json:"choice"`
}

// menuElements renders each menu as a choice set and a one-button
// action set.
func menuElements(ms []bot.Menu) []element {
	var out []element
	for i, m := range ms {
		id := choiceIDPrefix + strconv.Itoa(i)
		set := element{Type: "Input.ChoiceSet", ID: id, Style: "filtered", IsRequired: true,
			Label: bot.Clip(m.Label, maxTitleRunes), Placeholder: bot.Clip(placeholder(m), maxLabelRunes*2),
			ErrorMessage: "Choose one first."}
		for j, o := range m.Options {
			if j == maxChoices {
				break
			}
			title := o.Label
			if title == "" {
				title = o.Value
			}
			set.Choices = append(set.Choices, choice{Title: bot.Clip(title, maxChoiceRunes), Value: o.Value})
		}
		if len(set.Choices) == 0 {
			continue
		}
		data := menuData{Action: m.ActionID, Choice: id}
		title := m.Label
		if title == "" {
			title = m.ActionID // as a button without a label
		}
		title = bot.Clip(title, maxLabelRunes)
		btn := confirmed(cardAction{Type: "Action.Execute", Title: title, Verb: m.ActionID, Data: data,
			Fallback: &cardAction{Type: "Action.Submit", Title: title, Data: data}}, m.Confirm)
		out = append(out, set, element{Type: "ActionSet", Actions: []cardAction{btn}})
		if n := len(m.Options) - len(set.Choices); n > 0 {
			out = append(out, subtle(fmt.Sprintf("%d more choices not listed: type the command instead.", n)))
		}
	}
	return out
}

func placeholder(m bot.Menu) string {
	if m.Placeholder != "" {
		return m.Placeholder
	}
	return m.Label
}

// chosen returns the value a menu's button submitted: the value of the
// input its data names. For a plain button's data it returns value as is.
func chosen(data json.RawMessage, value string) string {
	var d map[string]any
	if len(data) == 0 || json.Unmarshal(data, &d) != nil {
		return value
	}
	id, _ := d["choice"].(string)
	if !strings.HasPrefix(id, choiceIDPrefix) {
		return value
	}
	v, _ := d[id].(string)
	return v
}
