package botbench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	slackbot "github.com/qlikbot/qlikbot/bot/slack"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

// signingSecret signs the bench's slash commands; it guards nothing.
const signingSecret = "qlikbench-signing-secret"

// grant gives subjects a role on every virtual proxy.
type grant struct {
	role     string // "viewer" (list) or "lead" (list, kick, approve ...)
	subjects []string
}

// policyYAML writes a policy file for the bench's users. Subjects are
// listed one by one: the policy refuses wildcards.
func policyYAML(grants ...grant) []byte {
	var b strings.Builder
	b.WriteString("roles:\n  viewer: [list]\n  lead: [list, delete, kick, logout, approve]\ngrants:\n")
	for _, g := range grants {
		b.WriteString("  - subjects:\n")
		for _, s := range g.subjects {
			fmt.Fprintf(&b, "      - %q\n", s)
		}
		fmt.Fprintf(&b, "    roles: [%s]\n    virtualProxies: [\"*\"]\n", g.role)
	}
	b.WriteString("approval:\n  required: [kick, logout]\n  ttl: 30m\n")
	return []byte(b.String())
}

// slackUsers returns n distinct Slack-looking user ids, so no user meets
// the dispatcher's per-user rate limit.
func slackUsers(n int) []string {
	us := make([]string, n)
	for i := range us {
		us[i] = fmt.Sprintf("UBENCH%05d", i+1)
	}
	return us
}

func subjects(platform bot.Platform, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(platform) + ":" + id
	}
	return out
}

// startSim starts a quiet simulator on lab where every call takes latency,
// with the simulator's default capacity unless opts say otherwise.
func startSim(lab qliksim.Lab, latency time.Duration, opts ...qliksim.Option) (*qliksim.Server, error) {
	sim, err := qliksim.Start(append([]qliksim.Option{qliksim.WithLab(lab), qliksim.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	if latency > 0 {
		sim.SetFaultAll(qliksim.Fault{Latency: latency})
	}
	return sim, nil
}

// siteSize is the generated site the memory scenario lists.
type siteSize struct {
	Sessions, VirtualProxies, Nodes int
}

// largeSite is 10,000 sessions over 100 virtual proxies x 4 nodes (Short:
// 1,000 over 10 x 2).
func largeSite(o qlikbench.Options) siteSize {
	if o.Short {
		return siteSize{Sessions: 1000, VirtualProxies: 10, Nodes: 2}
	}
	return siteSize{Sessions: 10000, VirtualProxies: 100, Nodes: 4}
}

// lab generates the site with users enough for the 5-session limit.
func (s siteSize) lab(seed int64) qliksim.Lab {
	return qliksim.Generate(qliksim.GenOptions{Users: s.Sessions/5 + 1, Sessions: s.Sessions, VirtualProxies: s.VirtualProxies, Nodes: s.Nodes, Seed: seed})
}

// core is the platform-neutral bot: Qlik client, bolt store, policy and
// the commands engine.
type core struct {
	qc     *qlik.Client
	st     *store.Bolt
	dir    string
	engine *commands.Engine
}

func newCore(qcfg qlik.Config, policy []byte) (_ *core, err error) {
	c := &core{}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	pol, err := authz.Parse(policy)
	if err != nil {
		return nil, fmt.Errorf("bench policy: %w", err)
	}
	if c.qc, err = qlik.New(qcfg); err != nil {
		return nil, err
	}
	if c.dir, err = os.MkdirTemp("", "qlikbench-"); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if c.st, err = store.OpenBolt(filepath.Join(c.dir, "state.db"), store.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		return nil, err
	}
	c.engine, err = commands.New(c.qc, c.st, authz.NewStatic(pol))
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *core) close() {
	if c.qc != nil {
		c.qc.Close()
	}
	if c.st != nil {
		_ = c.st.Close()
	}
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

// slackBot is a core behind a dispatcher and the Slack adapter in HTTP
// mode, served on a loopback port, posting to a fake Slack.
type slackBot struct {
	*core
	disp    *bot.Dispatcher
	runDone chan error
	adapter *slackbot.Adapter
	srv     *httptest.Server
	fake    *fakeSlack
	client  *http.Client
}

// startSlackBot wires and starts the bot. workers and queue size the
// dispatcher (qlikbot's defaults are 8 and 64).
func startSlackBot(qcfg qlik.Config, policy []byte, workers, queue int) (_ *slackBot, err error) {
	c, err := newCore(qcfg, policy)
	if err != nil {
		return nil, err
	}
	b := &slackBot{core: c, fake: newFakeSlack()}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	b.disp, err = bot.NewDispatcher(c.engine, bot.WithWorkers(workers), bot.WithQueueSize(queue))
	if err != nil {
		return nil, err
	}
	b.runDone = make(chan error, 1)
	go func() { b.runDone <- b.disp.Run(context.Background()) }()
	b.adapter, err = slackbot.New(slackbot.Config{
		Mode:          slackbot.ModeHTTP,
		SigningSecret: bot.Secret(signingSecret),
		BotToken:      bot.Secret("xoxb-qlikbench"),
		APIURL:        b.fake.URL() + "/",
	}, b.disp, c.st)
	if err != nil {
		return nil, err
	}
	b.srv = httptest.NewServer(b.adapter.Handler())
	b.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	return b, nil
}

// close drains the dispatcher (in-flight work finishes and is posted),
// then stops everything.
func (b *slackBot) close() {
	if b.disp != nil && b.runDone != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = b.disp.Shutdown(ctx)
		cancel()
		<-b.runDone
	}
	if b.srv != nil {
		b.srv.Close()
	}
	if b.client != nil {
		b.client.CloseIdleConnections()
	}
	b.fake.close()
	b.core.close()
}

// command POSTs a correctly signed slash command, as Slack does, and
// returns the round trip: Slack's ack.
func (b *slackBot) command(ctx context.Context, user, channel, text, hook string) (time.Duration, error) {
	form := url.Values{
		"token": {"unused"}, "team_id": {"TBENCH"}, "team_domain": {"bench"},
		"channel_id": {channel}, "channel_name": {"bench"},
		"user_id": {user}, "user_name": {strings.ToLower(user)},
		"command": {"/qlik"}, "text": {text},
		"response_url": {b.fake.URL() + "/hooks/" + hook}, "trigger_id": {"1.2.3"},
	}
	body := form.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(signingSecret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.srv.URL+"/slack/commands", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post slash command: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return took, fmt.Errorf("slash command answered %s", resp.Status)
	}
	return took, nil
}

var errNoAnswer = errors.New("no answer")
