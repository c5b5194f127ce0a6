package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/watch"
)

// The watcher's commands: subscribe and unsubscribe a channel, list the
// alerts (alerts.go), draw the history (trend.go), and the alert
// buttons. The watcher itself (package watch) runs in the background;
// these commands read and write what it reads: subscriptions, silences,
// alerts and the sample history in the store.

// WatchStore is what the watcher's commands keep and read.
type WatchStore interface {
	ListAlerts(ctx context.Context) ([]store.Alert, error)
	GetAlert(ctx context.Context, k store.AlertKey) (store.Alert, error)
	PutSubscription(ctx context.Context, s store.Subscription) error
	DeleteSubscription(ctx context.Context, platform, channel string) (store.Subscription, error)
	ListSubscriptions(ctx context.Context) ([]store.Subscription, error)
	PutSilence(ctx context.Context, s store.Silence) error
	ListSilences(ctx context.Context, now time.Time) ([]store.Silence, error)
	QueryHistory(ctx context.Context, q store.HistoryQuery) (store.History, error)
}

type watchSetup struct {
	st    WatchStore
	rules func() []authz.AlertRule // nil: the policy's
}

// WithWatch turns on subscribe, unsubscribe, alerts, trend and the alert
// buttons, on st. rules gives the alert rules in force (QLIKBOT_ALERTS);
// nil takes the policy's (authz.Policy.Alerts). Subscriptions are sealed
// with the engine's sealer (WithSealer), which the watcher must share.
func WithWatch(st WatchStore, rules func() []authz.AlertRule) Option {
	return func(o *options) error {
		if st == nil {
			return errors.New("WithWatch: nil store")
		}
		o.watch = &watchSetup{st: st, rules: rules}
		return nil
	}
}

// ActionSilence is the action id of an alert's silence buttons; the value
// is "DURATION|RULE|SITE|GROUP" with DURATION 1h or resolved.
const ActionSilence = "qlik.silence"

// maxRulesNamed bounds subscribe's rules.
const maxRulesNamed = 100

func (c *Command) setRules(pos []string) error {
	if c.Verb != VerbSubscribe && len(pos) > 0 {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf("%s takes no arguments, got %q", c.Verb, clip(pos[0]))}
	}
	if len(pos) > maxRulesNamed {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf("at most %d rules", maxRulesNamed)}
	}
	for _, p := range pos {
		r := strings.ToLower(p)
		if authz.CheckRuleName(r) != nil {
			return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf("%q is not a rule name (letters, digits, - and _, as alerts lists them)", clip(p))}
		}
		c.Rules = appendFold(c.Rules, r)
	}
	return nil
}

func (c *Command) setBy(val string) error {
	v := strings.ToLower(val)
	if v != "proxy" && v != "node" {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf("--by %q: proxy or node", clip(val))}
	}
	c.By = v
	return nil
}

// validWatch checks the watcher's fields as Validate checks the others.
func (c Command) validWatch() error {
	bad := func(format string, a ...any) error {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf(format, a...)}
	}
	switch {
	case len(c.Rules) > 0 && c.Verb != VerbSubscribe:
		return bad("arguments not valid for %s", c.Verb)
	case len(c.Rules) > maxRulesNamed:
		return bad("at most %d rules", maxRulesNamed)
	case c.By != "" && (c.Verb != VerbTrend || c.By != "proxy" && c.By != "node"):
		return bad("flag not valid for %s", c.Verb)
	}
	for _, r := range c.Rules {
		if authz.CheckRuleName(r) != nil {
			return bad("bad rule name %q", clip(r))
		}
	}
	return nil
}

// watchCommand runs subscribe, unsubscribe, alerts and trend.
func (e *Engine) watchCommand(ctx context.Context, c *call, cmd Command) bot.Reply {
	if e.watch == nil {
		c.note("allowed", "the watcher is off", "")
		return bot.Reply{Kind: bot.Info, Title: "The watcher is off", Visibility: bot.Ephemeral, Summary: []string{
			"qlikbot does not watch the sites here (QLIKBOT_WATCH_INTERVAL=0), so it keeps no alerts and no history."}}
	}
	switch cmd.Verb {
	case VerbSubscribe:
		return e.subscribe(ctx, c, cmd)
	case VerbUnsubscribe:
		return e.unsubscribe(ctx, c)
	case VerbAlerts:
		return e.alerts(ctx, c, cmd)
	default:
		return e.trend(ctx, c, cmd)
	}
}

// rules are the alert rules in force for c.
func (e *Engine) rules(c *call) []authz.AlertRule {
	if e.watch.rules != nil {
		return e.watch.rules()
	}
	return c.policy.Alerts()
}

// mayWatch asks for the subscribe right in c's channel on every virtual
// proxy of site ("" for a subscription: every site).
func (e *Engine) mayWatch(c *call, site, target string) authz.Decision {
	return e.decide(c, authz.Subscribe, authz.Scope{VirtualProxy: "*", Channel: c.req.Channel, Site: site}, target)
}

// destination is where the watcher posts for c's channel: the adapter's
// Origin (for Teams, the conversation reference), or for Slack and the
// console the channel itself.
func destination(req bot.Request) (bot.Destination, bool) {
	d := req.Origin
	d.Message = ""
	switch {
	case !d.IsZero():
		return d, true
	case req.Platform == bot.Console:
		return bot.Destination{Platform: bot.Console, Channel: req.Channel}, true
	case req.Platform == bot.Slack && req.Channel != "":
		return bot.Destination{Platform: bot.Slack, Channel: req.Channel}, true
	}
	return bot.Destination{}, false
}

func (e *Engine) subscribe(ctx context.Context, c *call, cmd Command) bot.Reply {
	what := "every rule"
	if len(cmd.Rules) > 0 {
		what = strings.Join(cmd.Rules, ", ")
	}
	if d := e.mayWatch(c, "", what); !d.Allowed {
		return e.denied(c, d)
	}
	rules := e.rules(c)
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	for _, r := range cmd.Rules {
		if !containsFold(names, r) {
			known := "none"
			if len(names) > 0 {
				known = strings.Join(names, ", ")
			}
			return e.usage(&UsageError{Verb: VerbSubscribe, Problem: fmt.Sprintf("no alert rule %q%s; the rules: %s", r, didYouMean(r, names), known)})
		}
	}
	dst, ok := destination(c.req)
	if !ok {
		c.note("denied", "no channel to post to", what)
		return bot.Reply{Kind: bot.Usage, Title: "Cannot subscribe here", Visibility: bot.Ephemeral, Summary: []string{
			"qlikbot cannot post here unasked: subscribe in a channel (in Teams, one where it was added)."}}
	}
	sub := store.Subscription{Platform: string(dst.Platform), Channel: dst.Channel, Rules: cmd.Rules, By: c.subject, At: e.now()}
	sub.Dest = watch.SealDestination(e.sealer, watch.SubscriptionID(sub.Platform, sub.Channel), dst)
	if r := e.ruleFull(ctx, c, rules, sub, dst); r != nil {
		return *r
	}
	if err := e.watch.st.PutSubscription(ctx, sub); err != nil {
		if errors.Is(err, store.ErrLimit) {
			return bot.Reply{Kind: bot.Error, Title: "Too many subscriptions", Visibility: bot.Ephemeral, Summary: []string{
				fmt.Sprintf("qlikbot keeps at most %d subscriptions; nothing was changed.", store.MaxSubscriptions)}}
		}
		return e.storeDown(c, "save the subscription", err)
	}
	lines := []string{fmt.Sprintf("%s subscribed this channel to the alerts of %s: each is posted here when it fires, "+
		"updated while it fires and marked resolved when it clears.", whoText(c.req.User.Name, c.subject), what)}
	if len(rules) == 0 {
		lines = append(lines, "The policy has no alert rules now: nothing will be posted until it has.")
	}
	lines = append(lines, "Alerts that fire now come at the watcher's next sample. "+e.cmdName+" unsubscribe stops them.")
	return bot.Reply{Kind: bot.Success, Title: "Subscribed to alerts", Summary: lines, Visibility: bot.InChannel}
}

// ruleFull refuses sub when a rule it would receive already has as many
// places to post to as an alert record can hold (watch.TargetRoom): the
// watcher would never post to this one. Nil when every rule has room.
func (e *Engine) ruleFull(ctx context.Context, c *call, rules []authz.AlertRule, sub store.Subscription, dst bot.Destination) *bot.Reply {
	subs, err := e.watch.st.ListSubscriptions(ctx)
	if err != nil {
		r := e.storeDown(c, "read the subscriptions", err)
		return &r
	}
	me := watch.TargetName(dst)
	for _, rule := range rules {
		if !rule.Post.Subscribers || !sub.Wants(rule.Name) {
			continue
		}
		seen := map[string]bool{me: true}
		used, n := watch.MessageRoom(e.sealer, dst), 1
		add := func(d bot.Destination) {
			if name := watch.TargetName(d); !seen[name] {
				seen[name] = true
				used += watch.MessageRoom(e.sealer, d)
				n++
			}
		}
		for _, ch := range rule.Post.Slack {
			add(bot.Destination{Platform: bot.Slack, Channel: ch})
		}
		for _, tc := range rule.Post.Teams { // about as the adapter names it
			add(bot.Destination{Platform: bot.Teams, Channel: tc.Conversation, Conversation: tc.ServiceURL + "|" + tc.Tenant + "|" + tc.Conversation})
		}
		if rule.Post.Console {
			add(bot.Destination{Platform: bot.Console})
		}
		for _, s := range subs {
			if !s.Wants(rule.Name) {
				continue
			}
			if d, err := watch.OpenDestination(e.sealer, watch.SubscriptionID(s.Platform, s.Channel), s.Dest); err == nil {
				add(d) // one that does not verify is not posted to
			}
		}
		if used > watch.TargetRoom {
			c.note("denied", fmt.Sprintf("alert rule %s has as many places to post to as its alerts can hold", rule.Name), rule.Name)
			return &bot.Reply{Kind: bot.Error, Title: "Too many places for this rule", Visibility: bot.Ephemeral, Summary: []string{
				fmt.Sprintf("Alert rule %s already posts to %d other places, as many as its alerts can keep track of: "+
					"it would never post here. Nothing was changed; subscribe to other rules, or unsubscribe a channel first.", rule.Name, n-1)}}
		}
	}
	return nil
}

func (e *Engine) unsubscribe(ctx context.Context, c *call) bot.Reply {
	if d := e.mayWatch(c, "", "this channel"); !d.Allowed {
		return e.denied(c, d)
	}
	dst, ok := destination(c.req)
	if !ok {
		return bot.Reply{Kind: bot.Info, Title: "Not subscribed", Visibility: bot.Ephemeral, Summary: []string{"This conversation is not subscribed to alerts."}}
	}
	_, err := e.watch.st.DeleteSubscription(ctx, string(dst.Platform), dst.Channel)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return bot.Reply{Kind: bot.Info, Title: "Not subscribed", Visibility: bot.Ephemeral, Summary: []string{"This channel is not subscribed to alerts; nothing was changed."}}
	case err != nil:
		return e.storeDown(c, "remove the subscription", err)
	}
	return bot.Reply{Kind: bot.Success, Title: "Unsubscribed from alerts", Visibility: bot.InChannel, Summary: []string{
		whoText(c.req.User.Name, c.subject) + " unsubscribed this channel: alerts are no longer posted here (messages already posted are still updated)."}}
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
