package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// Qlik is what the engine asks of a site's Qlik client (*qlik.Client).
type Qlik interface {
	Topology(ctx context.Context) (*qlik.Topology, error)
	Sessions(ctx context.Context, sel qlik.Selection) (*qlik.SessionList, error)
	DeleteSessions(ctx context.Context, ts []qlik.DeleteTarget) []qlik.Outcome
	Engines(ctx context.Context) ([]qlik.EngineService, error)
	Health(ctx context.Context, hosts []string) (*qlik.HealthReport, error)
}

// Store is what the engine keeps: pending approvals, the audit trail, and
// approved work as durable jobs with their leases (see job.go).
type Store interface {
	CreatePending(ctx context.Context, p store.Pending) error
	GetPending(ctx context.Context, id string) (store.Pending, error)
	Claim(ctx context.Context, id string, decision store.State, by string, now time.Time) (store.Pending, error)
	ExpireDue(ctx context.Context, now time.Time, auditFor func(store.Pending) store.Event) ([]store.Pending, error)
	AppendAudit(ctx context.Context, events ...store.Event) error
	RecentAudit(ctx context.Context, n int) ([]store.Event, error)

	StartJob(ctx context.Context, s store.JobStart) (store.Pending, store.Lease, error)
	RecordJobBatch(ctx context.Context, l store.Lease, jobID string, batch []byte, events []store.Event) error
	FinishJob(ctx context.Context, l store.Lease, jobID string, now time.Time, result []byte, events []store.Event) error
	GetJob(ctx context.Context, id string) (store.Job, [][]byte, error)
	ListJobs(ctx context.Context, unfinishedOnly bool, limit int) ([]store.Job, error)
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error)
	RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, l store.Lease) error
}

// Policies gives the current authorization policy (*authz.Authorizer).
type Policies interface {
	Policy() *authz.Policy
}

// Event tells an observer (metrics) what one request came to.
type Event struct {
	Command  string // verb, or "approve" / "reject" / "expire" for approvals
	Outcome  string // the reply kind: "info", "success", "denied" ...
	Approval string // "requested", "approved", "rejected", "expired" or ""
}

// Button action ids.
const (
	ActionApprove = "qlik.approve"
	ActionReject  = "qlik.reject"
	ActionRun     = "qlik.run"
)

// Engine runs /qlik commands and button clicks. It implements bot.Handler
// and is safe for concurrent use: shared state lives in the Store; the
// engine itself knows only which jobs it runs (jobs).
type Engine struct {
	st   Store
	pol  Policies
	jobs *jobTracker
	options
}

var _ bot.Handler = (*Engine)(nil)

// New returns an Engine. It does no I/O. q is the Qlik client of the one
// site the engine serves, named "default"; with WithSites, q is nil.
func New(q Qlik, st Store, pol Policies, opts ...Option) (*Engine, error) {
	if st == nil || pol == nil {
		return nil, errors.New("commands: store and policies are required")
	}
	o := options{
		log:      slog.New(slog.DiscardHandler),
		now:      time.Now,
		pageSize: 50,
		cmdName:  "/qlik",
		observe:  func(Event) {},

		progressThreshold: defaultProgressThreshold,
		progressEvery:     defaultProgressEvery,
		batch:             jobBatch,
		window:            jobWindow,
		holder:            newHolder(),
		leaseTTL:          DefaultJobLease,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("commands: %w", err)
		}
	}
	switch {
	case q != nil && o.sites != nil:
		return nil, errors.New("commands: give New a Qlik client or WithSites, not both")
	case q == nil && o.sites == nil:
		return nil, errors.New("commands: a Qlik client (or WithSites) is required")
	case q != nil:
		s, err := newSite(Site{Name: DefaultSite, Qlik: q})
		if err != nil {
			return nil, fmt.Errorf("commands: %w", err)
		}
		o.sites = []*site{s}
	}
	if o.observe == nil {
		o.observe = func(Event) {}
	}
	if o.sealer == nil {
		o.sealer = seal.Random()
	}
	return &Engine{st: st, pol: pol, jobs: newJobTracker(), options: o}, nil
}

// call is one request in flight: who asked, from where, when.
type call struct {
	req      bot.Request
	id       string // request id
	subject  string
	subjects []string
	text     string // the command line as typed (or run by a button)
	policy   *authz.Policy
	site     string // the site(s) the request concerns, for the audit trail: "prod", "prod,test"
	onlySite string // approve/reject --site: the site the approval must be for
	// The command's row of the audit trail: its decision, noted when made,
	// written once (see commandRow).
	decision, reason, target, pending string
	audited                           bool
}

func (e *Engine) newCall(req bot.Request, text string) *call {
	id := req.ID
	if id == "" {
		id = bot.NewRequestID()
	}
	subjects := []string{req.Subject()}
	if req.User.Email != "" {
		subjects = append(subjects, "email:"+strings.ToLower(req.User.Email))
	}
	return &call{req: req, id: id, subject: req.Subject(), subjects: subjects, text: text, policy: e.pol.Policy()}
}

// Handle answers one request: a command line or a button click. Each
// request leaves one "command" row in the audit trail, with its decision
// and, unless it acted, its outcome.
func (e *Engine) Handle(ctx context.Context, req bot.Request) bot.Reply {
	var c *call
	var r bot.Reply
	if req.Action != nil {
		c = e.newCall(req, actionText(req.Action))
		r = e.handleAction(ctx, c)
	} else {
		c = e.newCall(req, req.Text)
		r = e.run(ctx, c, false)
	}
	e.commandRow(ctx, c, outcomeOf(r))
	return r
}

// run parses and runs c.text. byButton marks a qlik.run click.
func (e *Engine) run(ctx context.Context, c *call, byButton bool) bot.Reply {
	if r, ok := e.bareKick(ctx, c); ok {
		return e.done(VerbKick, r, "")
	}
	cmd, err := Parse(c.text)
	if err != nil {
		var ue *UsageError
		if !errors.As(err, &ue) {
			ue = &UsageError{Problem: err.Error()}
		}
		return e.done("usage", e.usage(ue), "")
	}
	var r bot.Reply
	switch cmd.Verb {
	case VerbHelp:
		r = e.help(cmd.Topic)
	case VerbWhoami:
		r = e.whoami(c, cmd)
	case VerbAudit:
		r = e.auditTrail(ctx, c, cmd)
	case VerbJobs:
		r = e.listJobs(ctx, c)
	case VerbProxies:
		r = e.proxies(ctx, c, cmd)
	case VerbHealth:
		r = e.health(ctx, c, cmd)
	case VerbSessions:
		r = e.sessions(ctx, c, cmd)
	case VerbUsers:
		r = e.users(ctx, c, cmd)
	case VerbDelete, VerbKick:
		r = e.act(ctx, c, cmd)
	case VerbSubscribe, VerbUnsubscribe, VerbAlerts, VerbTrend:
		r = e.watchCommand(ctx, c, cmd)
	case VerbApprove, VerbReject:
		// Typed, not clicked: there is no message to replace, so the
		// outcome is a new message (the buttons' path does the rest).
		c.onlySite = cmd.Site
		if cmd.Verb == VerbApprove {
			r = e.approve(ctx, c, cmd.Approval)
		} else {
			r = e.reject(ctx, c, cmd.Approval)
		}
		r.ReplaceOriginal = false
		return r
	case VerbApproval:
		return e.showApproval(ctx, c, cmd)
	}
	// A paging click shows the next page to the clicker only: it must not
	// rewrite a list others are reading.
	if byButton && cmd.paged() {
		r.Visibility = bot.Ephemeral
	}
	return e.done(cmd.Verb, r, approvalOf(r))
}

func approvalOf(r bot.Reply) string {
	if r.Kind == bot.Pending {
		return "requested"
	}
	return ""
}

func (e *Engine) done(command string, r bot.Reply, approval string) bot.Reply {
	e.observe(Event{Command: command, Outcome: r.Kind.String(), Approval: approval})
	return r
}

// visibility: lists go to the channel (on-call visibility is the point),
// answers in a direct message stay there.
func listVisibility(c *call) bot.Visibility {
	if c.req.Channel == "" {
		return bot.Ephemeral
	}
	return bot.InChannel
}

// decide asks the policy and notes the decision for the audit trail.
func (e *Engine) decide(c *call, perm authz.Permission, s authz.Scope, target string) authz.Decision {
	d := c.policy.Decide(c.subjects, perm, s)
	dec := "denied"
	if d.Allowed {
		dec = "allowed"
	}
	c.note(dec, d.Reason, target)
	return d
}

// scopePhrase names a scope in a sentence: "on finance on
// pro2-win1.lab...", "on the default virtual proxy".
func (e *Engine) scopePhrase(s authz.Scope) string {
	w := "on " + prefixPhrase(s.VirtualProxy)
	if s.VirtualProxy == "*" {
		w = "on every virtual proxy"
	}
	if s.Host != "" {
		w += " on " + s.Host
	}
	return w + e.siteWord(s.Site)
}

// denied is the reply to a refusal: ephemeral, naming the asker's id and
// what to ask an admin for.
func (e *Engine) denied(c *call, d authz.Decision) bot.Reply {
	where := "virtual proxy " + prefixLabel(d.Scope.VirtualProxy)
	if d.Scope.VirtualProxy == "*" {
		where = "every virtual proxy"
	}
	if d.Scope.Host != "" {
		where += " on " + d.Scope.Host
	}
	where += e.siteWord(d.Scope.Site)
	reason := d.Reason
	if reason == "" {
		reason = fmt.Sprintf("no grant with %q on %s", d.Permission, where)
	}
	return bot.Reply{
		Kind:  bot.Denied,
		Title: "Not allowed",
		Summary: []string{fmt.Sprintf("Not allowed: %s. Your id: %s, ask an admin to grant %q on %s.",
			reason, strings.Join(c.subjects, ", "), d.Permission, where)},
		Visibility: bot.Ephemeral,
	}
}

func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
