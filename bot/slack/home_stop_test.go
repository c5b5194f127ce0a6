package slackbot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/slacktest"
	"github.com/slack-go/slack/socketmode"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

// homeOpened is the socket-mode event of user opening the Home tab.
func homeOpened(user string) socketmode.Event {
	ev := slackevents.EventsAPIEvent{Type: slackevents.CallbackEvent, TeamID: "T1", InnerEvent: slackevents.EventsAPIInnerEvent{
		Type: "app_home_opened", Data: &slackevents.AppHomeOpenedEvent{Type: "app_home_opened", User: user, Tab: "home"}}}
	return socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev, Request: &socketmode.Request{EnvelopeID: "env-" + user}}
}

// homeAdapter is a socket-mode adapter with home as its HomeFunc, whose
// views.publish calls are counted.
func homeAdapter(t *testing.T, logs *testkit.Buffer, home HomeFunc) (*Adapter, *atomic.Int32) {
	t.Helper()
	var published atomic.Int32
	fake := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/views.publish", func(w http.ResponseWriter, _ *http.Request) {
			published.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true}`)
		})
	})
	a, err := New(Config{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: fake.GetAPIURL()}, newRecorder(), neverSeen{},
		WithHome(home), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return a, &published
}

// TestHomePanic: a HomeFunc that panics ends that build only: the panic
// is logged with its stack, the process goes on, the next view is built.
func TestHomePanic(t *testing.T) {
	t.Parallel()
	logs := &testkit.Buffer{}
	a, published := homeAdapter(t, logs, func(_ context.Context, req bot.Request) bot.Reply {
		if req.User.ID == "UBOOM" {
			panic("home exploded")
		}
		return bot.Reply{Title: "Home of " + req.User.ID}
	})
	a.onSocketEvent(t.Context(), &eventLog{}, homeOpened("UBOOM"))
	a.home.builds.Wait()
	if out := logs.String(); !strings.Contains(out, "panicked") || !strings.Contains(out, "home exploded") || !strings.Contains(out, "goroutine") {
		t.Fatalf("the panic is not logged with its stack:\n%s", out)
	}
	a.onSocketEvent(t.Context(), &eventLog{}, homeOpened("U2"))
	a.home.builds.Wait()
	if n := published.Load(); n != 1 {
		t.Fatalf("%d views published after the panic, want the next one", n)
	}
}

// TestHomeStopWaits: Start does not return while a view is being built,
// and once it has, an opened tab starts no build (the store it reads may
// be closed).
func TestHomeStopWaits(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var builds atomic.Int32
	a, _ := homeAdapter(t, &testkit.Buffer{}, func(_ context.Context, req bot.Request) bot.Reply {
		builds.Add(1)
		if req.User.ID == "USLOW" {
			close(entered)
			<-release
		}
		return bot.Reply{Title: "Home"}
	})
	a.cfg.Mode = ModeHTTP // Start waits for ctx only: no socket to connect
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	a.onSocketEvent(t.Context(), &eventLog{}, homeOpened("USLOW"))
	<-entered
	cancel()
	select {
	case <-done:
		t.Fatal("Start returned while a Home view was being built")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
	a.onSocketEvent(t.Context(), &eventLog{}, homeOpened("ULATE"))
	a.home.builds.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d views built, want none after Start returned", n)
	}
}

// TestHomeBusyLeavesNoCooldown: a view not built because every build
// slot was taken is built when the tab is opened again, cooldown or not.
func TestHomeBusyLeavesNoCooldown(t *testing.T) {
	t.Parallel()
	var builds atomic.Int32
	a, _ := homeAdapter(t, &testkit.Buffer{}, func(context.Context, bot.Request) bot.Reply {
		builds.Add(1)
		return bot.Reply{Title: "Home"}
	})
	for range cap(a.home.sem) {
		a.home.sem <- struct{}{}
	}
	a.publishHome(t.Context(), "U1", "T1", false)
	if n := builds.Load(); n != 0 {
		t.Fatalf("%d views built with every slot taken", n)
	}
	for range cap(a.home.sem) {
		<-a.home.sem
	}
	a.publishHome(t.Context(), "U1", "T1", false)
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d views built once a slot was free, want 1", n)
	}
}
