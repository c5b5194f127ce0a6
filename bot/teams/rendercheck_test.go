package teams

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/bottest"
)

// TestRenderChecks pages the sessions, users, proxies, audit, approval
// request and approval outcome lists of 5, 400 and 10,000 rows through
// Fit, Next by Next, as commands does, and checks every card: it is a
// valid Adaptive Card 1.5, under the size budget and the action limit,
// shows every row of its page in order, and keeps every button of its
// page (an approval's Approve and Reject next to Next, Previous).
func TestRenderChecks(t *testing.T) {
	t.Parallel()
	link := []fileLink{{Name: "x.csv", URL: placeholderURL}}
	for _, n := range []int{5, 400, 10000} {
		for _, l := range bottest.Lists(n) {
			t.Run(fmt.Sprintf("%s %d", l.Name, n), func(t *testing.T) {
				t.Parallel()
				fit := func(r bot.Reply) int { return fitRows(r, link[:min(1, len(r.Files))]) }
				pages := l.Pages(fit, 100)
				for _, p := range pages {
					c := renderCard(p.Reply, link[:min(1, len(p.Reply.Files))])
					checkCard(t, c)
					if got := tableRows(t, c); !slices.EqualFunc(got, compactRows(p.Reply.Table), slices.Equal) {
						t.Fatalf("page %d-%d: the card shows %d rows, want its %d rows in order", p.First, p.Last, len(got), p.Last-p.First)
					}
					for _, b := range p.Reply.Buttons {
						if !slices.ContainsFunc(c.Actions, func(a cardAction) bool {
							title := a.Title
							if a.Type == "Action.ShowCard" && b.Confirm != "" && len(a.Card.Actions) == 1 {
								a = a.Card.Actions[0] // the button asks first
							}
							d, ok := a.Data.(clickData)
							return ok && title == b.Label && d.Action == b.ActionID && d.Value == b.Value
						}) {
							t.Fatalf("page %d-%d: button %q missing", p.First, p.Last, b.Label)
						}
					}
				}
				if n == 10000 && len(pages) > 10000/20 {
					t.Errorf("%d pages for %d rows: pages are needlessly short", len(pages), n)
				}
				t.Logf("%d rows in %d pages", n, len(pages))
			})
		}
	}
}

// compactRows is what a card's table shows of t: its rows without the
// columns empty on every row, cells clipped as cards clip them.
func compactRows(t *bot.Table) [][]string {
	c := bot.Compact(t)
	out := make([][]string, len(c.Rows))
	for i, r := range c.Rows {
		for _, v := range r[:min(len(r), maxColumns)] {
			out[i] = append(out[i], cellText(v))
		}
	}
	return out
}

// tableRows reads the data rows (not the header) of the card's table.
func tableRows(t *testing.T, c *card) [][]string {
	t.Helper()
	var out [][]string
	for _, el := range c.Body {
		if el.Type != "Table" {
			continue
		}
		for _, r := range el.Rows[1:] {
			var cells []string
			for _, cl := range r.Cells {
				cells = append(cells, cl.Items[0].Text)
			}
			out = append(out, cells)
		}
	}
	return out
}

// checkCard applies the Adaptive Card 1.5 rules a card of ours can break
// (element and action types, required fields, enumerations, unique input
// ids, table shape, version) and Teams' limits: the activity and the
// invoke answer under 28 KB, at most 6 actions, at most 5 buttons.
func checkCard(t *testing.T, c *card) {
	t.Helper()
	act, err := json.Marshal(cardActivity(c, "title"))
	if err != nil {
		t.Fatal(err)
	}
	inv, _ := json.Marshal(invokeResponse{StatusCode: 200, Type: cardContentType, Value: c})
	if len(act) > maxCardBytes || len(inv) > maxCardBytes {
		t.Fatalf("card: activity %d / invoke answer %d bytes, limit %d", len(act), len(inv), maxCardBytes)
	}
	var raw map[string]any
	b, _ := json.Marshal(c)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	v := &acValidator{t: t, ids: map[string]bool{}}
	v.card(raw)
	if v.actions > maxCardActions {
		t.Errorf("card has %d actions, Teams shows %d", v.actions, maxCardActions)
	}
	if n := len(c.Actions) - v.links; n > maxActions {
		t.Errorf("card has %d buttons, want at most %d", n, maxActions)
	}
}

// acValidator walks a card as generic JSON.
type acValidator struct {
	t       *testing.T
	ids     map[string]bool
	actions int
	links   int
}

var (
	acProps = map[string][]string{
		"AdaptiveCard":    {"type", "$schema", "version", "msteams", "body", "actions"},
		"TextBlock":       {"type", "text", "size", "weight", "color", "fontType", "isSubtle", "wrap", "spacing"},
		"FactSet":         {"type", "facts"},
		"Table":           {"type", "columns", "rows", "firstRowAsHeader", "gridStyle"},
		"TableRow":        {"type", "style", "cells"},
		"TableCell":       {"type", "items"},
		"Input.ChoiceSet": {"type", "id", "label", "style", "placeholder", "choices", "isRequired", "errorMessage"},
		"ActionSet":       {"type", "actions"},
		"Action.Execute":  {"type", "title", "verb", "data", "style", "fallback"},
		"Action.Submit":   {"type", "title", "data", "style"},
		"Action.OpenUrl":  {"type", "title", "url"},
		"Action.ShowCard": {"type", "title", "style", "card"},
	}
	acRequired = map[string][]string{
		"TextBlock": {"text"}, "FactSet": {"facts"}, "Table": {"columns", "rows"}, "TableRow": {"cells"}, "TableCell": {"items"},
		"Input.ChoiceSet": {"id", "choices"}, "ActionSet": {"actions"}, "Action.OpenUrl": {"url"},
	}
	acEnums = map[string][]string{
		"size":      {"Small", "Default", "Medium", "Large", "ExtraLarge"},
		"weight":    {"Lighter", "Default", "Bolder"},
		"color":     {"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"},
		"fontType":  {"Default", "Monospace"},
		"spacing":   {"None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"},
		"gridStyle": {"default", "emphasis", "good", "attention", "warning", "accent"},
	}
)

func (v *acValidator) errorf(format string, a ...any) {
	v.t.Helper()
	v.t.Errorf(format, a...)
}

func (v *acValidator) card(c map[string]any) {
	v.object(c, "AdaptiveCard")
	if c["version"] != "1.5" || c["$schema"] != cardSchema {
		v.errorf("card version %v schema %v", c["version"], c["$schema"])
	}
	body, ok := c["body"].([]any)
	if !ok {
		v.errorf("card without a body")
	}
	for _, el := range body {
		v.element(el)
	}
	acts, _ := c["actions"].([]any)
	for _, a := range acts {
		v.action(a, true)
	}
}

// object checks o's type, that it has no property the type lacks, and
// its required properties.
func (v *acValidator) object(o map[string]any, typ string) {
	v.t.Helper()
	if o["type"] != typ {
		v.errorf("%v where %s is expected", o["type"], typ)
		return
	}
	allowed := acProps[typ]
	for k, val := range o {
		if !slices.Contains(allowed, k) {
			v.errorf("%s has property %q, not in Adaptive Cards 1.5 as we use it", typ, k)
		}
		if enum, ok := acEnums[k]; ok && typ != "TableRow" {
			if s, _ := val.(string); !slices.Contains(enum, s) {
				v.errorf("%s.%s = %v, want one of %v", typ, k, val, enum)
			}
		}
	}
	for _, k := range acRequired[typ] {
		if o[k] == nil || o[k] == "" {
			v.errorf("%s lacks required %q", typ, k)
		}
	}
}

func (v *acValidator) element(x any) {
	v.t.Helper()
	el, _ := x.(map[string]any)
	typ, _ := el["type"].(string)
	if _, ok := acProps[typ]; !ok || strings.HasPrefix(typ, "Action.") || typ == "AdaptiveCard" {
		v.errorf("unknown element type %q", typ)
		return
	}
	v.object(el, typ)
	switch typ {
	case "FactSet":
		for _, f := range el["facts"].([]any) {
			fm := f.(map[string]any)
			if _, ok := fm["title"].(string); !ok || len(fm) != 2 {
				v.errorf("fact %v", fm)
			}
		}
	case "Table":
		cols := len(el["columns"].([]any))
		for _, col := range el["columns"].([]any) {
			if w, ok := col.(map[string]any)["width"].(float64); !ok || w < 1 {
				v.errorf("table column width %v", col)
			}
		}
		for _, r := range el["rows"].([]any) {
			rm := r.(map[string]any)
			v.object(rm, "TableRow")
			cells, _ := rm["cells"].([]any)
			if len(cells) != cols {
				v.errorf("table row of %d cells in a table of %d columns", len(cells), cols)
			}
			for _, cl := range cells {
				cm := cl.(map[string]any)
				v.object(cm, "TableCell")
				for _, it := range cm["items"].([]any) {
					v.element(it)
				}
			}
		}
	case "Input.ChoiceSet":
		id, _ := el["id"].(string)
		if v.ids[id] {
			v.errorf("input id %q used twice", id)
		}
		v.ids[id] = true
		if s := el["style"]; s != "compact" && s != "expanded" && s != "filtered" {
			v.errorf("choice set style %v", s)
		}
		for _, ch := range el["choices"].([]any) {
			cm := ch.(map[string]any)
			if _, ok := cm["title"].(string); !ok || cm["value"] == "" || len(cm) != 2 {
				v.errorf("choice %v", cm)
			}
		}
	case "ActionSet":
		for _, a := range el["actions"].([]any) {
			v.action(a, true)
		}
	}
}

func (v *acValidator) action(x any, counts bool) {
	v.t.Helper()
	a, _ := x.(map[string]any)
	typ, _ := a["type"].(string)
	if !strings.HasPrefix(typ, "Action.") {
		v.errorf("unknown action type %q", typ)
		return
	}
	v.object(a, typ)
	if counts {
		v.actions++
		if typ == "Action.OpenUrl" {
			v.links++
		}
	}
	if s, ok := a["style"]; ok && s != "default" && s != "positive" && s != "destructive" {
		v.errorf("action style %v", s)
	}
	if title, _ := a["title"].(string); title == "" {
		v.errorf("action without a title: %v", a)
	}
	if typ == "Action.ShowCard" {
		// A confirmation: its card says what happens and holds the one
		// action that does it.
		c, _ := a["card"].(map[string]any)
		v.object(c, "AdaptiveCard")
		body, _ := c["body"].([]any)
		acts, _ := c["actions"].([]any)
		if len(body) == 0 || len(acts) != 1 {
			v.errorf("ShowCard with %d body elements and %d actions, want a question and one action", len(body), len(acts))
		}
		for _, el := range body {
			v.element(el)
		}
		for _, x := range acts {
			if inner, _ := x.(map[string]any); inner["type"] != "Action.Execute" {
				v.errorf("a ShowCard holding %v, want the Action.Execute it confirms", inner["type"])
			}
			v.action(x, false)
		}
	}
	if typ == "Action.Execute" {
		if a["verb"] == "" {
			v.errorf("Action.Execute without a verb")
		}
		if fb, ok := a["fallback"]; ok {
			v.action(fb, false)
		}
	}
}
