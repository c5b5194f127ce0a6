package teams

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// activity is the part of a Bot Framework activity the adapter reads. It
// reuses msbotbuilder-go's account types but not schema.Activity, whose
// Value is a map (an Action.Submit value may be any JSON) and whose
// non-pointer time and struct fields reject or invent data we never use.
type activity struct {
	Type         schema.ActivityTypes       `json:"type"`
	ID           string                     `json:"id"`
	Name         string                     `json:"name"`
	ServiceURL   string                     `json:"serviceUrl"`
	ChannelID    string                     `json:"channelId"`
	From         schema.ChannelAccount      `json:"from"`
	Recipient    schema.ChannelAccount      `json:"recipient"`
	Conversation schema.ConversationAccount `json:"conversation"`
	Text         string                     `json:"text"`
	ReplyToID    string                     `json:"replyToId"`
	Value        json.RawMessage            `json:"value"`
	MembersAdded []schema.ChannelAccount    `json:"membersAdded"`
	// ChannelData is channel-specific; for msteams it names the tenant.
	// Kept raw: other channels put other shapes here, and those are
	// refused as "not msteams" (403), not as malformed (400).
	ChannelData json.RawMessage `json:"channelData"`
}

// invokeAdaptiveCardAction is the invoke name of an Action.Execute click.
const invokeAdaptiveCardAction = "adaptiveCard/action"

// errBadActivity: the body is not an activity we can act on.
var errBadActivity = errors.New("bad activity")

// parseActivity decodes and sanity-checks an activity body.
func parseActivity(body []byte) (activity, error) {
	var a activity
	if err := json.Unmarshal(body, &a); err != nil {
		return activity{}, fmt.Errorf("%w: %w", errBadActivity, err)
	}
	switch {
	case a.Type == "":
		return activity{}, fmt.Errorf("%w: no type", errBadActivity)
	case a.ServiceURL == "":
		return activity{}, fmt.Errorf("%w: no serviceUrl", errBadActivity)
	case a.ChannelID == "":
		return activity{}, fmt.Errorf("%w: no channelId", errBadActivity)
	case a.Conversation.ID == "":
		return activity{}, fmt.Errorf("%w: no conversation id", errBadActivity)
	}
	if err := checkHTTPS(a.ServiceURL); err != nil {
		return activity{}, fmt.Errorf("%w: serviceUrl %w", errBadActivity, err)
	}
	return a, nil
}

// clickData is what our cards put in an action's data: the bot.Button's
// ActionID and Value, nothing else.
type clickData struct {
	Action string `json:"action"`
	Value  string `json:"value"`
}

// submitClick returns the Action.Submit data of a message activity, if it
// carries ours.
func (a activity) submitClick() (clickData, bool) {
	if len(a.Value) == 0 {
		return clickData{}, false
	}
	var d clickData
	if err := json.Unmarshal(a.Value, &d); err != nil || d.Action == "" {
		return clickData{}, false
	}
	d.Value = chosen(a.Value, d.Value)
	return d, true
}

// clickedCard is the card a click came from (an Action.Execute invoke, or
// an Action.Submit message carrying our data): its replyToId. A typed
// message's replyToId, if any, names the thread it was typed in (maybe a
// person's post), which a reply must never try to replace.
func (a activity) clickedCard() string {
	if a.Type == "invoke" {
		return a.ReplyToID
	}
	if _, ok := a.submitClick(); ok {
		return a.ReplyToID
	}
	return ""
}

// executeClick returns the verb and data of an adaptiveCard/action invoke.
func (a activity) executeClick() (clickData, error) {
	var v struct {
		Action struct {
			Type string          `json:"type"`
			Verb string          `json:"verb"`
			Data json.RawMessage `json:"data"`
		} `json:"action"`
	}
	if err := json.Unmarshal(a.Value, &v); err != nil {
		return clickData{}, fmt.Errorf("%w: invoke value: %w", errBadActivity, err)
	}
	var d clickData
	if len(v.Action.Data) > 0 {
		if err := json.Unmarshal(v.Action.Data, &d); err != nil {
			return clickData{}, fmt.Errorf("%w: invoke data: %w", errBadActivity, err)
		}
	}
	d.Value = chosen(v.Action.Data, d.Value)
	if v.Action.Verb != "" {
		d.Action = v.Action.Verb // the verb is what the client reports clicking
	}
	if d.Action == "" {
		return clickData{}, fmt.Errorf("%w: invoke without verb", errBadActivity)
	}
	return d, nil
}

// botAdded reports whether a conversationUpdate adds the bot itself.
func (a activity) botAdded() bool {
	for _, m := range a.MembersAdded {
		if m.ID != "" && m.ID == a.Recipient.ID {
			return true
		}
	}
	return false
}

// tenantID returns channelData.tenant.id, "" when absent or malformed.
func (a activity) tenantID() string {
	var cd struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	if len(a.ChannelData) == 0 || json.Unmarshal(a.ChannelData, &cd) != nil {
		return ""
	}
	return strings.TrimSpace(cd.Tenant.ID)
}

// channelOf returns the conversation id without its ";messageid=..."
// suffix: a channel message's conversation id names the thread, and
// grants and rate limits apply to the channel as a whole.
func channelOf(conversationID string) string {
	if i := strings.Index(strings.ToLower(conversationID), ";messageid="); i >= 0 {
		return conversationID[:i]
	}
	return conversationID
}

// plainText returns the message text with HTML entities decoded and
// surrounding space trimmed; Teams sends "&nbsp;" and "&amp;" in text.
func (a activity) plainText() string {
	return strings.TrimSpace(html.UnescapeString(a.Text))
}
