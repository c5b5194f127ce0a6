package commands

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store/seal"
	"github.com/qlikbot/qlikbot/watch"
)

// watchPolicy: on-call sees and subscribes everywhere; the lead acts on
// finance and may subscribe; the admin does everything; UFIN lists
// finance only; UNOSUB lists everything but may not subscribe.
const watchPolicy = `
roles:
  oncall: [list, subscribe]
  lister: [list]
  lead:   [list, delete, kick, logout, approve, subscribe]
  admin:  [list, delete, kick, logout, approve, audit, subscribe]
grants:
  - subjects: ["slack:UONCALL"]
    roles: [oncall]
    virtualProxies: ["*"]
  - subjects: ["slack:UNOSUB"]
    roles: [lister]
    virtualProxies: ["*"]
  - subjects: ["slack:UFIN"]
    roles: [lister]
    virtualProxies: ["finance"]
  - subjects: ["slack:UADMIN", "slack:UADMIN2"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["slack:UHOSTLIST"]
    roles: [lister]
    virtualProxies: ["*"]
    hosts: ["pro2-win2.lab.ptarmiganlabs.net"]
approval:
  required: [kick, logout]
alerts:
  rules:
    - name: session-limit
      type: user-sessions
    - name: crowded
      type: proxy-sessions
      above: 100
`

// chatRecorder is a Deliverer that records what the watcher posts.
type chatRecorder struct {
	mu    sync.Mutex
	posts []delivered
}

func (c *chatRecorder) Deliver(_ context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts = append(c.posts, delivered{dst, r})
	if !r.ReplaceOriginal {
		dst.Message = fmt.Sprintf("%d.000", len(c.posts))
	}
	return dst, nil
}

func (c *chatRecorder) all() []delivered {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.posts)
}

// watchEnv is env with the watcher's commands on, and a watcher sharing
// the engine's store, sealer and renderer.
type watchEnv struct {
	*env
	w    *watch.Watcher
	chat *chatRecorder
}

func newWatchEnv(t *testing.T) *watchEnv {
	t.Helper()
	e := newEnv(t, envConfig{policy: watchPolicy})
	eng, err := New(e.client, e.st, authz.NewStatic(e.pol), WithClock(e.clk.Now), WithSealer(e.sealer), WithWatch(e.st, nil))
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	we := &watchEnv{env: e, chat: &chatRecorder{}}
	we.w, err = watch.New([]watch.Site{{Name: DefaultSite, Qlik: e.client}}, e.st, eng.AlertReply,
		watch.WithClock(e.clk.Now), watch.WithSealer(e.sealer), watch.WithDeliverer(we.chat),
		watch.WithRules(e.pol.Alerts))
	if err != nil {
		t.Fatal(err)
	}
	return we
}

// sample moves the clock a minute and lets the watcher sample.
func (we *watchEnv) sample(t *testing.T) {
	t.Helper()
	we.clk.Advance(time.Minute)
	if !we.w.Step(t.Context()) {
		t.Fatal("the watcher did not sample")
	}
}

func (we *watchEnv) addUser(t *testing.T, prefix, user string, n int) {
	t.Helper()
	for range n {
		if _, err := we.sim.AddSession(central, prefix, qliksim.Session{UserDirectory: "LAB", UserID: user}); err != nil {
			t.Fatal(err)
		}
	}
}

func buttonOf(t *testing.T, r bot.Reply, label string) bot.Button {
	t.Helper()
	for _, b := range r.Choices() {
		if b.Label == label {
			return b
		}
	}
	t.Fatalf("reply %q has no %q button: %+v", r.Title, label, r.Choices())
	return bot.Button{}
}

// TestSubscribeAlertKick: a channel subscribes, the watcher posts the
// session-limit alert there with its buttons, its Kick goes through the
// approval (two-person rule), and the alert resolves in place once the
// user's sessions are ended.
func TestSubscribeAlertKick(t *testing.T) {
	t.Parallel()
	we := newWatchEnv(t)
	r := we.ask(t, "UONCALL", "subscribe session-limit")
	if r.Kind != bot.Success || r.Visibility != bot.InChannel {
		t.Fatalf("subscribe: %v %s", r.Kind, joined(r))
	}
	we.addUser(t, "win", "kiosk", 5)
	we.sample(t)
	posts := we.chat.all()
	if len(posts) != 1 || posts[0].dst != (bot.Destination{Platform: bot.Slack, Channel: "C1"}) {
		t.Fatalf("posts: %+v; want one to the subscribed channel C1", posts)
	}
	alert := posts[0].r
	if alert.Kind != bot.Warning || alert.Title != "Alert: 1 user at or above 5 sessions on site default" ||
		!slices.Equal(column(t, alert, "User"), []string{`LAB\kiosk`}) || alert.Visibility != bot.InChannel {
		t.Fatalf("alert: %s\n%s", alert.Title, bot.PlainText(alert))
	}
	kick := buttonOf(t, alert, `Kick LAB\kiosk`)
	buttonOf(t, alert, "Silence 1 h")
	buttonOf(t, alert, "Silence until resolved")

	// The Kick button is the normal kick --user, with its approval.
	if r := we.click(t, "UNOSUB", kick.ActionID, kick.Value); r.Kind != bot.Denied {
		t.Errorf("Kick by someone without logout: %v %s", r.Kind, joined(r))
	}
	req := we.click(t, "UADMIN", kick.ActionID, kick.Value)
	id := pendingID(t, req)
	if r := we.click(t, "UADMIN", ActionApprove, id); r.Kind != bot.Denied || !strings.Contains(joined(r), "two-person rule") {
		t.Errorf("the requester approving: %v %s", r.Kind, joined(r))
	}
	if r := we.click(t, "UADMIN2", ActionApprove, id); r.Kind != bot.Success {
		t.Fatalf("approval: %v %s", r.Kind, joined(r))
	}
	waitJobs(t, we.env)
	we.sample(t)
	posts = we.chat.all()
	if len(posts) != 2 || !posts[1].r.ReplaceOriginal || posts[1].dst.Message != "1.000" ||
		!strings.HasPrefix(posts[1].r.Title, "Resolved: session-limit on site default") || len(posts[1].r.Buttons) != 0 {
		t.Fatalf("after the kick: %+v", posts)
	}
	if n := countAudit(we.audit(t), "delete", "deleted"); n != 5 {
		t.Errorf("%d sessions deleted, want kiosk's 5", n)
	}
}

// waitJobs waits for the engine's approved jobs to finish.
func waitJobs(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobs, err := e.st.ListJobs(t.Context(), true, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still running: %+v", jobs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSilenceButton: a silence is checked, saved, audited, and holds the
// alert back; clicks on an alert no longer firing or forged values are
// refused.
func TestSilenceButton(t *testing.T) {
	t.Parallel()
	we := newWatchEnv(t)
	we.ask(t, "UONCALL", "subscribe")
	we.addUser(t, "win", "kiosk", 5)
	we.sample(t)
	alert := we.chat.all()[0].r
	hour := buttonOf(t, alert, "Silence 1 h")

	if r := we.click(t, "UNOSUB", hour.ActionID, hour.Value); r.Kind != bot.Denied || !strings.Contains(joined(r), "subscribe") {
		t.Errorf("silence without the subscribe right: %v %s", r.Kind, joined(r))
	}
	for _, v := range []string{"2h|session-limit|default|", "1h|Session Limit|default|", "1h|session-limit|no site|", "1h|session-limit"} {
		if r := we.click(t, "UONCALL", ActionSilence, v); r.Kind != bot.Usage {
			t.Errorf("silence %q: %v %s; want refused", v, r.Kind, joined(r))
		}
	}
	if r := we.click(t, "UONCALL", ActionSilence, "1h|crowded|default|"); r.Kind != bot.Info || !strings.Contains(joined(r), "not firing") {
		t.Errorf("silencing an alert that does not fire: %v %s", r.Kind, joined(r))
	}
	r := we.click(t, "UONCALL", hour.ActionID, hour.Value)
	if r.Kind != bot.Success || r.Visibility != bot.InChannel || !strings.Contains(joined(r), "Silenced by slack:UONCALL until 2026-11-22 10:01 UTC") {
		t.Fatalf("silence: %v %s", r.Kind, joined(r))
	}
	evs := we.audit(t)
	if countAudit(evs, "silence", "silenced by slack:UONCALL until 2026-11-22 10:01 UTC") != 1 {
		t.Errorf("the silence is not audited: %+v", evs[:3])
	}
	silences, _ := we.st.ListSilences(t.Context(), we.clk.Now())
	if len(silences) != 1 || silences[0].Rule != "session-limit" || silences[0].By != "slack:UONCALL" {
		t.Fatalf("silences: %+v", silences)
	}
	we.sample(t)
	posts := we.chat.all()
	if len(posts) != 2 || !posts[1].r.ReplaceOriginal || !strings.Contains(bot.PlainText(posts[1].r), "Silenced by slack:UONCALL") {
		t.Fatalf("after the silence: %+v", posts)
	}
	if _, err := buttonOrNil(posts[1].r, "Silence 1 h"); err == nil {
		t.Error("a silenced alert still offers Silence")
	}
	buttonOf(t, posts[1].r, `Kick LAB\kiosk`)

	// /qlik alerts shows it firing and silenced, with its Kick button.
	list := we.ask(t, "UONCALL", "alerts")
	if list.Kind != bot.Warning || !slices.Equal(column(t, list, "State"), []string{"firing"}) ||
		!strings.Contains(column(t, list, "Silenced")[0], "Silenced by slack:UONCALL") {
		t.Fatalf("alerts: %s", bot.PlainText(list))
	}
	buttonOf(t, list, `Kick LAB\kiosk`)
	if !strings.Contains(joined(list), "This channel is subscribed to every rule (by slack:UONCALL).") ||
		!strings.Contains(joined(list), "Rules: session-limit (user-sessions), crowded (proxy-sessions).") {
		t.Errorf("alerts summary:\n%s", joined(list))
	}
	if r := we.ask(t, "UFIN", "alerts"); r.Kind != bot.Denied {
		t.Errorf("alerts for a finance-only lister: %v %s; want denied (alerts cover every virtual proxy)", r.Kind, joined(r))
	}
}

// TestSilenceUntilResolvedClockBehind: the replica that answers the
// Silence click runs behind the watcher's clock (by less than nothing a
// user sees): the silence still holds the firing it was made in, and the
// watcher neither repeats the alert nor ends the silence as resolved.
func TestSilenceUntilResolvedClockBehind(t *testing.T) {
	t.Parallel()
	we := newWatchEnv(t)
	we.ask(t, "UONCALL", "subscribe")
	we.addUser(t, "win", "kiosk", 5)
	we.sample(t)
	fired := we.clk.Now()
	resolved := buttonOf(t, we.chat.all()[0].r, "Silence until resolved")
	we.clk.Set(fired.Add(-30 * time.Second))
	if r := we.click(t, "UONCALL", resolved.ActionID, resolved.Value); r.Kind != bot.Success {
		t.Fatalf("silence: %v %s", r.Kind, joined(r))
	}
	we.sample(t)
	posts := we.chat.all()
	if len(posts) != 2 || !strings.Contains(bot.PlainText(posts[1].r), "Silenced by slack:UONCALL until it resolves") {
		t.Fatalf("after the silence: %+v", posts)
	}
	if n := countAudit(we.audit(t), "unsilence", ""); n != 0 {
		t.Errorf("the silence of a firing alert was ended %d times", n)
	}
	if silences, err := we.st.ListSilences(t.Context(), we.clk.Now()); err != nil || len(silences) != 1 {
		t.Errorf("silences: %+v, %v; want the one made", silences, err)
	}
}

func buttonOrNil(r bot.Reply, label string) (bot.Button, error) {
	for _, b := range r.Choices() {
		if b.Label == label {
			return b, nil
		}
	}
	return bot.Button{}, fmt.Errorf("no %q", label)
}

// TestSubscribeCommands: the checks of subscribe and unsubscribe, and a
// subscription's destination sealed under the state key.
func TestSubscribeCommands(t *testing.T) {
	t.Parallel()
	we := newWatchEnv(t)
	cases := []struct {
		user, text string
		kind       bot.Kind
		want       string
	}{
		{"UNOSUB", "subscribe", bot.Denied, `no grant with "subscribe"`},
		{"UONCALL", "subscribe nosuch", bot.Usage, `no alert rule "nosuch"`},
		{"UONCALL", "subscribe session-limt", bot.Usage, "did you mean session-limit?"},
		{"UONCALL", "subscribe Bad!", bot.Usage, "is not a rule name"},
		{"UONCALL", "unsubscribe now", bot.Usage, "unsubscribe takes no arguments"},
		{"UONCALL", "unsubscribe", bot.Info, "not subscribed"},
		{"UONCALL", "subscribe session-limit crowded", bot.Success, "session-limit, crowded"},
		{"UONCALL", "unsubscribe", bot.Success, "unsubscribed this channel"},
	}
	for _, tc := range cases {
		r := we.ask(t, tc.user, tc.text)
		if r.Kind != tc.kind || !strings.Contains(joined(r), tc.want) {
			t.Errorf("%s %q: %v %s; want %v with %q", tc.user, tc.text, r.Kind, joined(r), tc.kind, tc.want)
		}
	}
	// Teams needs the conversation reference: without an Origin nothing
	// is stored.
	r := we.eng.Handle(t.Context(), bot.Request{Platform: bot.Teams, User: bot.User{ID: "x"}, Channel: "19:abc", Text: "subscribe"})
	if r.Kind == bot.Success {
		t.Errorf("a Teams subscription without Origin: %s", joined(r))
	}
	// Origin wins, its message dropped; the destination is sealed.
	origin := bot.Destination{Platform: bot.Slack, Channel: "C1", Message: "17.5"}
	r = we.eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UONCALL"}, Channel: "C1", Text: "subscribe", Origin: origin})
	if r.Kind != bot.Success {
		t.Fatalf("subscribe: %s", joined(r))
	}
	subs, _ := we.st.ListSubscriptions(t.Context())
	if len(subs) != 1 {
		t.Fatalf("subscriptions: %+v", subs)
	}
	d, err := watch.OpenDestination(we.sealer, watch.SubscriptionID("slack", "C1"), subs[0].Dest)
	if err != nil || d != (bot.Destination{Platform: bot.Slack, Channel: "C1"}) {
		t.Errorf("stored destination %+v, %v", d, err)
	}
	if _, err := watch.OpenDestination(seal.Random(), watch.SubscriptionID("slack", "C1"), subs[0].Dest); err == nil {
		t.Error("the stored destination opens under another key: it is not sealed")
	}
}

// TestAlertsHostLimitedGrant: alerts sum a whole site, so a list grant
// limited to some hosts does not show them (it would show the sessions
// of the hosts it may not list).
func TestAlertsHostLimitedGrant(t *testing.T) {
	t.Parallel()
	we := newWatchEnv(t)
	we.addUser(t, "finance", "crowd", 5)
	we.sample(t)
	if r := we.ask(t, "UONCALL", "alerts"); r.Kind != bot.Warning || !strings.Contains(joined(r), "session-limit") {
		t.Fatalf("on-call sees no firing alert: %v %s", r.Kind, joined(r))
	}
	r := we.ask(t, "UHOSTLIST", "alerts")
	if r.Kind != bot.Denied || strings.Contains(joined(r), "session-limit") || !strings.Contains(joined(r), "only on some hosts") {
		t.Errorf("a host-limited grant: %v %s", r.Kind, joined(r))
	}
}

// TestWatcherOff: without WithWatch the commands say the watcher is off.
func TestWatcherOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: watchPolicy})
	for _, text := range []string{"subscribe", "alerts", "trend"} {
		if r := e.ask(t, "UONCALL", text); r.Title != "The watcher is off" {
			t.Errorf("%s: %s", text, joined(r))
		}
	}
}

// TestParseWatchCommands: the watcher's commands parse, validate and read
// back from their canonical form; mistakes are usage errors.
func TestParseWatchCommands(t *testing.T) {
	t.Parallel()
	ok := map[string]Command{
		"subscribe":                         {Verb: VerbSubscribe},
		"subscribe Session-Limit node-down": {Verb: VerbSubscribe, Rules: []string{"session-limit", "node-down"}},
		"unsubscribe":                       {Verb: VerbUnsubscribe},
		"alerts --site prod":                {Verb: VerbAlerts, Site: "prod"},
		"trend":                             {Verb: VerbTrend},
		"trend finance default --since 7d --by NODE": {Verb: VerbTrend, Prefixes: []string{"finance", ""}, Since: "7d", By: "node"},
	}
	for in, want := range ok {
		c, err := Parse(in)
		if err != nil || !reflect.DeepEqual(c, want) {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", in, c, err, want)
			continue
		}
		if again, err := Parse(c.String()); err != nil || !reflect.DeepEqual(again, c) {
			t.Errorf("Parse(%q).String() = %q reads back as %#v, %v", in, c.String(), again, err)
		}
	}
	for _, in := range []string{"subscribe bad/rule", "alerts x", "trend --by user", "trend --min 3", "sessions --by node",
		"subscribe --since 2h", "unsubscribe --site prod", "audit --by node"} {
		var ue *UsageError
		if _, err := Parse(in); !errors.As(err, &ue) {
			t.Errorf("Parse(%q) = %v, want a usage error", in, err)
		}
	}
	if err := (Command{Verb: VerbSessions, Rules: []string{"x"}}).Validate(); err == nil {
		t.Error("a sessions command with rules validates")
	}
	if err := (Command{Verb: VerbTrend, By: "user"}).Validate(); err == nil {
		t.Error("trend --by user validates")
	}
}

// TestSubscribeRefusedWhenRuleFull: channels subscribe to a rule until it
// has as many places to post to as its alert record can hold; the next is
// refused with a clear answer and nothing stored, and when the alert
// fires every channel that was accepted gets its message.
func TestSubscribeRefusedWhenRuleFull(t *testing.T) {
	t.Parallel()
	we := newWatchEnv(t)
	const most = 1000
	accepted := 0
	var refusal bot.Reply
	for i := range most {
		r := we.eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UONCALL"}, Channel: fmt.Sprintf("C%04d", i),
			Text: "subscribe session-limit"})
		if r.Kind != bot.Success {
			refusal = r
			break
		}
		accepted++
	}
	if accepted == most || accepted < 50 || refusal.Title != "Too many places for this rule" ||
		!strings.Contains(joined(refusal), fmt.Sprintf("already posts to %d other places", accepted)) {
		t.Fatalf("after %d subscriptions: %v %q %s", accepted, refusal.Kind, refusal.Title, joined(refusal))
	}
	t.Logf("%d channels subscribed before the rule was full", accepted)
	if subs, err := we.st.ListSubscriptions(t.Context()); err != nil || len(subs) != accepted {
		t.Fatalf("%d subscriptions stored for %d accepted (%v)", len(subs), accepted, err)
	}
	// Another rule still has room.
	if r := we.eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UONCALL"}, Channel: "CLAST",
		Text: "subscribe crowded"}); r.Kind != bot.Success {
		t.Errorf("subscribe to another rule: %v %s", r.Kind, joined(r))
	}
	we.addUser(t, "win", "kiosk", 5)
	we.sample(t)
	posted := map[string]bool{}
	for _, p := range we.chat.all() {
		posted[p.dst.Channel] = true
	}
	for i := range accepted {
		if ch := fmt.Sprintf("C%04d", i); !posted[ch] {
			t.Fatalf("subscribed channel %s got no alert (%d of %d posted)", ch, len(posted), accepted)
		}
	}
}
