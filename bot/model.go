// Package bot holds the platform-neutral conversation model (Request, Reply,
// Table, Button ...) shared by every chat adapter, and the dispatcher that
// queues requests, applies per-user rate limits and runs them on a bounded
// worker pool. Adapters (bot/slack, bot/teams, bot/console) import this
// package and their own SDK, never each other.
package bot

import (
	"context"
	"time"
)

// Platform names the chat platform a request came from. It is also the
// prefix of a subject ("slack:U123", "teams:<aad-object-id>").
type Platform string

// The platforms qlikbot speaks.
const (
	Console Platform = "console"
	Slack   Platform = "slack"
	Teams   Platform = "teams"
)

// User is the person behind a request, as the platform vouches for them.
// ID is the platform's stable id (Slack user id, Teams AAD object id);
// Name and Email are filled in when the platform tells us.
type User struct {
	ID    string
	Name  string
	Email string
}

// Action is a click on a button of an earlier reply.
type Action struct {
	ID    string // the Button.ActionID that was clicked
	Value string // the Button.Value, opaque to the adapter
	// MessageRef identifies the message that carried the button, so the
	// reply can replace it. Opaque outside the adapter.
	MessageRef string
}

// Responder delivers replies for one request. Adapters implement it: the
// Slack one posts to response_url (then chat.postMessage/chat.update), the
// Teams one posts or updates an activity, the console one prints.
// Respond may be called more than once (a progress reply, then the outcome).
type Responder interface {
	Respond(ctx context.Context, r Reply) error
}

// ResponderFunc adapts a function to a Responder.
type ResponderFunc func(ctx context.Context, r Reply) error

// Respond calls f.
func (f ResponderFunc) Respond(ctx context.Context, r Reply) error { return f(ctx, r) }

// Request is one thing a user asked of the bot: a command line or a click.
type Request struct {
	ID       string // request id for logs and the audit trail
	Platform Platform
	User     User
	Channel  string // channel / conversation id; "" for a direct message
	Text     string // the command text without the "/qlik" or mention, e.g. "sessions finance"
	Action   *Action
	// ReplyTo is where answers go. The dispatcher uses it for "busy" and
	// "slow down" replies too.
	ReplyTo    Responder
	ReceivedAt time.Time
	// Origin is where the request came from, for replies that come after
	// it has been answered (a resumed job's outcome, alerts for a channel
	// that subscribed). Adapters fill it; for a click, Origin.Message is
	// the message that carried the button.
	Origin Destination
	// Fit, set by the adapter, says how many leading rows of r.Table the
	// platform can show in one message holding everything else r holds
	// (Slack: a table of 100 rows with its header; Teams: the card's size
	// budget). nil means no limit, as on the console. See FitRows.
	Fit func(r Reply) int
}

// FitRows returns how many leading rows of r.Table one message can show:
// Fit's answer, kept between 1 and the rows held, so a page always moves
// on. A reply without a table fits 0 rows.
func (r Request) FitRows(rep Reply) int {
	if rep.Table == nil {
		return 0
	}
	n := len(rep.Table.Rows)
	if r.Fit == nil || n == 0 {
		return n
	}
	return min(max(r.Fit(rep), 1), n)
}

// Subject is the authorization subject of the request's user:
// "<platform>:<user id>", e.g. "slack:U2CERLKJA".
func (r Request) Subject() string { return string(r.Platform) + ":" + r.User.ID }

// Visibility says who sees a reply.
type Visibility int

// Visibilities. The zero value is Ephemeral: only the asker sees it, which
// is the safe default for denials and usage errors.
const (
	Ephemeral Visibility = iota
	InChannel
)

// Kind classifies a reply so renderers can colour or prefix it.
type Kind int

// Reply kinds.
const (
	Info    Kind = iota
	Success      // an action completed
	Warning      // partial result, something needs attention
	Error        // the request failed (Qlik down, internal error)
	Denied       // authorization refused
	Usage        // the user typed something wrong
	Pending      // waiting for an approval
)

// String returns the kind's lower-case name.
func (k Kind) String() string {
	switch k {
	case Success:
		return "success"
	case Warning:
		return "warning"
	case Error:
		return "error"
	case Denied:
		return "denied"
	case Usage:
		return "usage"
	case Pending:
		return "pending"
	default:
		return "info"
	}
}

// Reply is what the bot answers, in words of tables and buttons, never of
// blocks or cards. Every field is optional; renderers skip empty ones.
type Reply struct {
	Kind     Kind
	Title    string
	Summary  []string // sentences shown under the title, each kept whole
	Facts    []Fact   // labelled values ("Total sessions" 5), shown as a fact list
	Table    *Table
	Warnings []string // unlinked virtual proxies, nodes that did not answer ...
	Chart    *Chart
	Menus    []Menu // choices of one among many: a virtual proxy, a user to log out
	Buttons  []Button
	Files    []File // e.g. the CSV of the whole list when the table is one page of it
	// Visibility: ephemeral (the asker only) or in-channel.
	Visibility Visibility
	// ReplaceOriginal asks the adapter to replace the message that carried
	// the clicked button (Request.Action.MessageRef) instead of posting anew.
	ReplaceOriginal bool
}

// IsEmpty reports whether r says nothing: a handler that returns an empty
// reply has answered through Request.ReplyTo itself.
func (r Reply) IsEmpty() bool {
	return r.Title == "" && len(r.Summary) == 0 && len(r.Facts) == 0 && r.Table == nil && len(r.Warnings) == 0 &&
		r.Chart == nil && len(r.Menus) == 0 && len(r.Buttons) == 0 && len(r.Files) == 0
}

// Choices lists what a person can pick in r, in the order PlainText numbers
// them: every menu's options (as buttons sending the menu's action), then
// the buttons.
func (r Reply) Choices() []Button {
	var out []Button
	for _, m := range r.Menus {
		for _, o := range m.Options {
			out = append(out, Button{Label: o.Label, ActionID: m.ActionID, Value: o.Value, Confirm: m.Confirm})
		}
	}
	return append(out, r.Buttons...)
}

// Fact is a labelled value of a reply's summary. Label and Value are each
// shown whole: a renderer never splits or joins them at a colon.
type Fact struct {
	Label string
	Value string
}

// Table is one page of a list. Rows hold display strings, one per column.
type Table struct {
	Columns []string
	Rows    [][]string
	// Offset is the 0-based position of Rows[0] in the whole list and
	// TotalRows counts every row of it, so a page says "rows 51-93 of 400".
	// A renderer shows every row it is given: the page was cut to fit by
	// whoever built it (see Request.Fit).
	Offset    int
	TotalRows int
}

// Paged reports whether t is one page of a longer list.
func (t *Table) Paged() bool {
	return t.Offset > 0 || t.TotalRows > len(t.Rows)
}

// Chart is a single data series, e.g. sessions per virtual proxy.
type Chart struct {
	Title  string
	Points []Point
}

// Point is one labelled value of a Chart.
type Point struct {
	Label string
	Value float64
}

// Menu is a choice of one among many: a select menu in Slack, a filtered
// Input.ChoiceSet with one button in Teams, a numbered list on the console.
// Choosing an option sends an Action with ID ActionID and the option's
// Value, as a click on a button would.
type Menu struct {
	Label       string // what choosing does: "Kick a user"
	Placeholder string // shown in an empty choice box: "Choose a user to log out"
	ActionID    string
	Options     []Option
	// Confirm, when set, asks "are you sure?" with this text before the
	// choice is sent.
	Confirm string
}

// Option is one entry of a Menu. Value is opaque, like Button.Value; Slack
// carries at most 150 bytes of it.
type Option struct {
	Label string
	Value string
}

// ButtonStyle is how prominent a button is.
type ButtonStyle int

// Button styles.
const (
	Default ButtonStyle = iota
	Primary
	Danger
)

// Button is a clickable choice. Value is opaque (e.g. a pending action id)
// and must stay under 2000 bytes (Slack's limit); ActionID under 255.
type Button struct {
	Label    string
	ActionID string
	Value    string
	Style    ButtonStyle
	// Confirm, when set, asks "are you sure?" with this text before the
	// click is sent.
	Confirm string
}

// File is an attachment, such as the CSV of a long session list.
type File struct {
	Name string // e.g. "sessions.csv"
	Type string // MIME type, e.g. "text/csv"
	Data []byte
}

// Handler answers requests. commands.Engine implements it.
type Handler interface {
	Handle(ctx context.Context, req Request) Reply
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, req Request) Reply

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req Request) Reply { return f(ctx, req) }

// Adapter is a chat platform connection. Start runs until ctx is done or
// the connection fails for good; it does all network work (constructors
// never touch the network).
type Adapter interface {
	Name() Platform
	Start(ctx context.Context) error
}
