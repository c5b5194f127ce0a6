package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/qlikbot/qlikbot/bot"
)

// App Home. When a person opens the app's Home tab, Slack sends the
// app_home_opened event; the adapter asks HomeFunc for that person's view
// (a neutral reply built with their rights) and publishes it with
// views.publish. Buttons on Home (Approve, Reject) arrive as clicks like
// any other; their answers go to the person's direct message with the app,
// since a Home view has no channel and no response_url, and the view is
// published afresh.

// HomeFunc builds a person's Home view; commands.Engine.Home is one. req
// carries the platform and the user (no text, no channel).
type HomeFunc func(ctx context.Context, req bot.Request) bot.Reply

const (
	homeTimeout     = 30 * time.Second // building and publishing one view
	homeCooldown    = 10 * time.Second // per person: opening the tab again soon reuses the view
	homeConcurrency = 2                // views built at once: each lists the whole site
	maxHomeBlocks   = 100
)

// WithHome publishes a Home tab built by home on app_home_opened. The app
// needs the Home tab and the app_home_opened event (deploy/slack/manifest.yaml).
func WithHome(home HomeFunc) Option {
	return func(a *Adapter) error {
		if home == nil {
			return errors.New("slack: nil home func")
		}
		a.home = &homeTab{build: home, sem: make(chan struct{}, homeConcurrency), last: map[string]time.Time{}}
		return nil
	}
}

// homeTab is the Home state of an adapter. Safe for concurrent use.
type homeTab struct {
	build HomeFunc
	sem   chan struct{}
	// builds tracks the views being built and published: Start waits for
	// them, so none outlives it (and the store it reads).
	builds sync.WaitGroup

	mu       sync.Mutex
	last     map[string]time.Time // user -> when their view was last built
	stopping bool                 // Start is ending: no new builds
}

// goBuild runs fn on a goroutine of its own, tracked by builds, unless
// Start is ending (it reports whether fn runs). A panic in fn (in the
// HomeFunc) is logged and ends that build only.
func (a *Adapter) goBuild(ctx context.Context, user string, fn func()) bool {
	h := a.home
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopping {
		a.log.InfoContext(ctx, "slack home: stopping, view not refreshed", "user", user)
		return false
	}
	h.builds.Go(func() {
		defer func() {
			if v := recover(); v != nil {
				a.log.ErrorContext(ctx, "slack home: building the view panicked", "user", user,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			}
		}()
		fn()
	})
	return true
}

// stop refuses new builds and waits for those under way (each bounded by
// homeTimeout).
func (h *homeTab) stop() {
	h.mu.Lock()
	h.stopping = true
	h.mu.Unlock()
	h.builds.Wait()
}

// due reports whether user's view should be built now, and records it.
// It is asked once a build slot is taken: a view not built because all
// slots were busy leaves no cooldown behind.
func (h *homeTab) due(user string, now time.Time, force bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.last[user]; ok && !force && now.Sub(t) < homeCooldown {
		return false
	}
	if len(h.last) > 10000 { // forget old entries rather than grow without bound
		for u, t := range h.last {
			if now.Sub(t) >= homeCooldown {
				delete(h.last, u)
			}
		}
	}
	h.last[user] = now
	return true
}

// onEventsAPI handles an Events API event (already acknowledged).
func (a *Adapter) onEventsAPI(ctx context.Context, ev slackevents.EventsAPIEvent) {
	if a.home == nil || ev.Type != slackevents.CallbackEvent {
		return
	}
	opened, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || opened.Tab != "home" || !validID(opened.User) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	a.goBuild(ctx, opened.User, func() { a.publishHome(ctx, opened.User, ev.TeamID, false) })
}

// publishHome builds and publishes user's Home view, unless it was built
// moments ago (force: after a click on it) or too many are being built.
// team is the workspace the event or click came from.
func (a *Adapter) publishHome(ctx context.Context, user, team string, force bool) {
	select {
	case a.home.sem <- struct{}{}:
		defer func() { <-a.home.sem }()
	default:
		a.log.InfoContext(ctx, "slack home: busy, view not refreshed", "user", user)
		return
	}
	if !a.home.due(user, a.now(), force) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, homeTimeout)
	defer cancel()
	req := bot.Request{ID: bot.NewRequestID(), Platform: bot.Slack, User: bot.User{ID: user}, ReceivedAt: a.now()}
	a.withEmail(ctx, &req, team)
	view := renderHome(a.home.build(ctx, req))
	err := a.post.retry(ctx, "views.publish", func(ctx context.Context) error {
		_, err := a.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view})
		return err
	})
	if err != nil {
		a.log.WarnContext(ctx, "slack home: views.publish failed", "user", user, "request_id", req.ID, "err", err)
	}
}

// renderHome is render for a Home view: the same blocks (a view holds up
// to 100), no fallback text.
func renderHome(r bot.Reply) slack.HomeTabViewRequest {
	blocks, _ := render(r)
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks[:min(len(blocks), maxHomeBlocks)]}}
}

// serveEvents answers Slack's Events API in HTTP mode: the URL check
// when the request URL is set, and app_home_opened.
func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request) {
	// No replay guard: a replayed event only republishes a Home view,
	// which is idempotent and paced per person.
	body, _, ok := a.readSigned(w, r, maxCommandBody)
	if !ok {
		return
	}
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var ch slackevents.ChallengeResponse
		if err := json.Unmarshal(body, &ch); err != nil {
			http.Error(w, "malformed challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = fmt.Fprint(w, ch.Challenge)
		return
	}
	w.WriteHeader(http.StatusOK) // ack first: Slack retries events not acked within 3 s
	a.onEventsAPI(r.Context(), ev)
}

// isHomeClick reports whether a click was made on a Home view.
func isHomeClick(cb slack.InteractionCallback) bool {
	return cb.View.Type == slack.VTHomeTab || cb.Container.Type == "view" && cb.Channel.ID == ""
}

// homeResponder delivers the answers to a click on a Home view to the
// person's direct message with the app (posting to a user id opens it):
// the first as a new message, later ones that replace the original (the
// progress of a long approval, then its outcome) as updates of it. Each
// answer refreshes their Home. Safe for concurrent use.
type homeResponder struct {
	a          *Adapter
	user, team string

	mu          sync.Mutex
	channel, ts string // the message posted, once it is
}

func (a *Adapter) homeResponder(req bot.Request, team string) *homeResponder {
	return &homeResponder{a: a, user: req.User.ID, team: team}
}

// Respond posts or updates the answer in the direct message, then
// republishes Home.
func (h *homeResponder) Respond(ctx context.Context, rep bot.Reply) error {
	blocks, text := render(rep)
	h.mu.Lock()
	defer h.mu.Unlock()
	var err error
	if rep.ReplaceOriginal && h.ts != "" {
		err = h.a.post.update(ctx, h.channel, h.ts, blocks, text)
	} else {
		err = h.a.post.retry(ctx, "chat.postMessage", func(ctx context.Context) error {
			var e error
			h.channel, h.ts, e = h.a.api.PostMessageContext(ctx, h.user, msgOptions(blocks, text)...)
			return e
		})
	}
	if err != nil {
		return fmt.Errorf("answer a click on home: %w", err)
	}
	if h.a.home != nil && rep.Kind != bot.Pending {
		ctx := context.WithoutCancel(ctx)
		h.a.goBuild(ctx, h.user, func() { h.a.publishHome(ctx, h.user, h.team, true) })
	}
	return nil
}
