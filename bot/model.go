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
	Summary  []string // short lines shown under the title ("Total sessions: 5")
	Table    *Table
	Warnings []string // unlinked virtual proxies, nodes that did not answer ...
	Chart    *Chart
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
	return r.Title == "" && len(r.Summary) == 0 && r.Table == nil && len(r.Warnings) == 0 &&
		r.Chart == nil && len(r.Buttons) == 0 && len(r.Files) == 0
}

// Table is a page of rows. Rows hold display strings, one per column.
type Table struct {
	Columns []string
	Rows    [][]string
	// Paging: Page is 1-based; TotalRows counts every row of the result,
	// not just this page. Pages == 0 means the table is not paged.
	Page      int
	Pages     int
	TotalRows int
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
