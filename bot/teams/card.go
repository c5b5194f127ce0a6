package teams

import (
	"github.com/infracloudio/msbotbuilder-go/schema"

	"github.com/qlikbot/qlikbot/bot"
)

// Adaptive Card 1.5 wire types: only the properties the renderer uses, in
// a fixed order so golden files are stable.

const (
	cardContentType = "application/vnd.microsoft.card.adaptive"
	cardSchema      = "http://adaptivecards.io/schemas/adaptive-card.json"
	cardVersion     = "1.5"
)

type card struct {
	Type    string       `json:"type"`
	Schema  string       `json:"$schema,omitempty"` // "" in a ShowCard's card
	Version string       `json:"version,omitempty"`
	MSTeams *cardMSTeams `json:"msteams,omitempty"`
	Body    []element    `json:"body"`
	Actions []cardAction `json:"actions,omitempty"`
}

type cardMSTeams struct {
	Width string `json:"width,omitempty"`
}

// element is a TextBlock, FactSet, Table, Image, Input.ChoiceSet or ActionSet;
// unused fields stay empty.
type element struct {
	Type     string `json:"type"`
	ID       string `json:"id,omitempty"`
	Text     string `json:"text,omitempty"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	FontType string `json:"fontType,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	Wrap     bool   `json:"wrap,omitempty"`
	Spacing  string `json:"spacing,omitempty"`

	// Image
	URL     string `json:"url,omitempty"`
	AltText string `json:"altText,omitempty"`

	Facts []fact `json:"facts,omitempty"`

	Columns          []tableColumn `json:"columns,omitempty"`
	Rows             []tableRow    `json:"rows,omitempty"`
	FirstRowAsHeader bool          `json:"firstRowAsHeader,omitempty"`
	GridStyle        string        `json:"gridStyle,omitempty"`

	// Input.ChoiceSet
	Label        string   `json:"label,omitempty"`
	Style        string   `json:"style,omitempty"`
	Placeholder  string   `json:"placeholder,omitempty"`
	Choices      []choice `json:"choices,omitempty"`
	IsRequired   bool     `json:"isRequired,omitempty"`
	ErrorMessage string   `json:"errorMessage,omitempty"`

	// ActionSet
	Actions []cardAction `json:"actions,omitempty"`
}

type choice struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type tableColumn struct {
	Width int `json:"width"`
}

type tableRow struct {
	Type  string      `json:"type"`
	Style string      `json:"style,omitempty"`
	Cells []tableCell `json:"cells"`
}

type tableCell struct {
	Type  string    `json:"type"`
	Items []element `json:"items"`
}

// cardAction is an Action.Execute (with an Action.Submit fallback for
// clients without Universal Actions), an Action.Submit, an Action.OpenUrl
// (a download link: URL, no data), or an Action.ShowCard (a button that
// asks for confirmation: Card holds the question and the Action.Execute).
// Data carries only the button's action id and value (clickData), or a
// menu's action id and the id of its choice input (menuData).
type cardAction struct {
	Type     string      `json:"type"`
	Title    string      `json:"title"`
	URL      string      `json:"url,omitempty"`
	Verb     string      `json:"verb,omitempty"`
	Data     any         `json:"data,omitempty"`
	Style    string      `json:"style,omitempty"`
	Fallback *cardAction `json:"fallback,omitempty"`
	Card     *card       `json:"card,omitempty"`
}

// outActivity is a message the bot sends to the connector.
type outActivity struct {
	Type        string              `json:"type"`
	ID          string              `json:"id,omitempty"`
	ReplyToID   string              `json:"replyToId,omitempty"`
	Summary     string              `json:"summary,omitempty"`
	Attachments []schema.Attachment `json:"attachments"`
}

// invokeResponse is the HTTP body answering an adaptiveCard/action invoke.
type invokeResponse struct {
	StatusCode int    `json:"statusCode"`
	Type       string `json:"type"`
	Value      any    `json:"value"`
}

const invokeMessageType = "application/vnd.microsoft.activity.message"

func cardActivity(c *card, summary string) outActivity {
	return outActivity{
		Type:        "message",
		Summary:     bot.Clip(summary, 100), // the notification preview
		Attachments: []schema.Attachment{{ContentType: cardContentType, Content: c}},
	}
}
