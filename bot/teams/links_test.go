package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

const testLink = "https://bot.example.com/files/0123456789abcdef0123456789abcdef/sessions.csv"

// fakePublisher records what it is asked to publish and answers with url
// or err.
type fakePublisher struct {
	url string
	err error

	mu    sync.Mutex
	files []bot.File
}

func (p *fakePublisher) publish(_ context.Context, f bot.File) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files = append(p.files, f)
	return p.url, p.err
}

func (p *fakePublisher) published() []bot.File {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bot.File(nil), p.files...)
}

// pagedWithCSV is the sessions reply of a long list: one page of rows and
// the whole list as a CSV.
func pagedWithCSV(replace bool) bot.Reply {
	return bot.Reply{Kind: bot.Info, Title: "Sessions on finance", Table: sessionsTable(2500, 100), ReplaceOriginal: replace,
		Files: []bot.File{{Name: "sessions.csv", Type: "text/csv", Data: []byte("Proxy,Node,User\nfinance,n1,LAB\\u1\n")}}}
}

// asJSONValue round-trips v through JSON, so cards read back from the
// connector (maps) and rendered cards (structs) compare equal.
func asJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkLinkCard checks a card offers exactly the one download link and
// its note points at it, within the size limit.
func checkLinkCard(t *testing.T, c *card) {
	t.Helper()
	var opens []cardAction
	for _, a := range c.Actions {
		if a.Type == "Action.OpenUrl" {
			opens = append(opens, a)
		}
	}
	if len(opens) != 1 || opens[0].URL != testLink || opens[0].Title != "Download sessions.csv" {
		t.Fatalf("OpenUrl actions = %+v, want one to %s", opens, testLink)
	}
	b, _ := json.Marshal(c)
	if !strings.Contains(string(b), "Download the full list (sessions.csv) with the button below") ||
		strings.Contains(string(b), "cannot be attached") {
		t.Fatalf("note does not point at the download: %s", b)
	}
	if len(b) > maxCardBytes {
		t.Fatalf("card is %d bytes, limit %d", len(b), maxCardBytes)
	}
}

func TestMessageReplyLinksTheCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pub      *fakePublisher // nil: no WithFileLinks
		wantLink bool
		wantLog  string
	}{
		{"published", &fakePublisher{url: testLink}, true, ""},
		{"publisher fails", &fakePublisher{err: errors.New("store down")}, false, "store down"},
		{"publisher returns a script URL", &fakePublisher{url: "javascript:alert(1)"}, false, "want absolute http(s)"},
		{"no publisher", nil, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if tc.pub != nil {
				opts = append(opts, WithFileLinks(tc.pub.publish))
			}
			e := newTestEnv(t, nil, opts...)
			if rec := e.post(t, e.validToken(t), messageActivity(e.conn.serviceURL(), "sessions finance")); rec.Code != 202 {
				t.Fatalf("status %d", rec.Code)
			}
			submitted, _ := e.d.calls()
			rep := pagedWithCSV(false)
			if err := submitted[0].ReplyTo.Respond(t.Context(), rep); err != nil {
				t.Fatal(err)
			}
			calls := e.conn.recorded()
			if len(calls) != 1 {
				t.Fatalf("connector calls = %+v", calls)
			}
			content := calls[0].Activity["attachments"].([]any)[0].(map[string]any)["content"]
			raw, _ := json.Marshal(calls[0].Activity)
			if len(raw) > maxCardBytes {
				t.Fatalf("activity is %d bytes, limit %d", len(raw), maxCardBytes)
			}
			if tc.pub != nil {
				got := tc.pub.published()
				if len(got) != 1 || got[0].Name != "sessions.csv" || got[0].Type != "text/csv" || !bytes.Equal(got[0].Data, rep.Files[0].Data) {
					t.Fatalf("published %+v, want the reply's CSV", got)
				}
			}
			if tc.wantLink {
				checkLinkCard(t, renderCard(rep, []fileLink{{Name: "sessions.csv", URL: testLink}}))
				if !reflect.DeepEqual(content, asJSONValue(t, renderCard(rep, []fileLink{{Name: "sessions.csv", URL: testLink}}))) {
					t.Fatalf("posted card is not the linked card: %s", raw)
				}
				return
			}
			// Without a link the card is today's: the note says the file
			// cannot be attached.
			if !reflect.DeepEqual(content, asJSONValue(t, render(rep))) || !strings.Contains(string(raw), "cannot be attached") ||
				strings.Contains(string(raw), "Action.OpenUrl") {
				t.Fatalf("posted card is not the unlinked card: %s", raw)
			}
			logs := e.logs.String()
			if tc.wantLog != "" && (!strings.Contains(logs, "cannot publish file") || !strings.Contains(logs, tc.wantLog)) {
				t.Fatalf("publish failure not logged: %s", logs)
			}
			if strings.Contains(logs, testSecret) || strings.Contains(logs, testToken) {
				t.Fatalf("secret in logs: %s", logs)
			}
		})
	}
}

func TestInvokeOutcomeLinksTheCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		reply         bot.Reply
		wantPublished int
	}{
		{"outcome card", pagedWithCSV(true), 1},
		{"the next page, a card for the clicker", pagedWithCSV(false), 1},
		{"message to the clicker publishes nothing", bot.Reply{Kind: bot.Usage, Title: "Usage", Files: pagedWithCSV(false).Files}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pub := &fakePublisher{url: testLink}
			e := newTestEnv(t, &recordingDispatcher{reply: tc.reply}, WithFileLinks(pub.publish))
			resp := decodeInvoke(t, e.post(t, e.validToken(t), invokeActivity(e.conn.serviceURL(), "qlik.page", "2")))
			if got := len(pub.published()); got != tc.wantPublished {
				t.Fatalf("published %d files, want %d", got, tc.wantPublished)
			}
			if tc.wantPublished == 0 {
				if resp.Type != invokeMessageType {
					t.Fatalf("invoke response type %q, want a message", resp.Type)
				}
				return
			}
			want := renderCard(tc.reply, []fileLink{{Name: "sessions.csv", URL: testLink}})
			checkLinkCard(t, want)
			if resp.Type != cardContentType || !reflect.DeepEqual(asJSONValue(t, resp.Value), asJSONValue(t, want)) {
				t.Fatalf("invoke card = %+v", resp.Value)
			}
		})
	}
}

func TestRenderLinksWithinLimits(t *testing.T) {
	t.Parallel()
	link := []fileLink{{Name: "sessions.csv", URL: testLink}}
	many := make([]bot.Button, 5)
	for i := range many {
		many[i] = bot.Button{Label: fmt.Sprintf("b%d", i), ActionID: "qlik.x", Value: fmt.Sprint(i)}
	}
	tests := []struct {
		name      string
		rep       bot.Reply
		links     []fileLink
		wantLinks int
		wantNote  string
	}{
		{"10000 sessions unpaged", bot.Reply{Title: "Sessions", Table: sessionsTable(10000, 10000),
			Files: []bot.File{{Name: "sessions.csv"}}}, link, 1, "Download the full list (sessions.csv)"},
		{"no table", bot.Reply{Title: "Sessions", Files: []bot.File{{Name: "sessions.csv"}}}, link, 1, "Download the full list (sessions.csv)"},
		{"six actions at most", bot.Reply{Title: "Sessions", Buttons: many, Table: sessionsTable(500, 100),
			Files: []bot.File{{Name: "sessions.csv"}, {Name: "users.csv"}}},
			[]fileLink{{Name: "sessions.csv", URL: testLink}, {Name: "users.csv", URL: testLink + "2"}}, 1,
			"Download the full list (sessions.csv) with the button below; the link expires. The full list (users.csv) cannot be attached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := renderCard(tc.rep, tc.links)
			act, _ := json.Marshal(cardActivity(c, tc.rep.Title))
			inv, _ := json.Marshal(invokeResponse{StatusCode: 200, Type: cardContentType, Value: c})
			if len(act) > maxCardBytes || len(inv) > maxCardBytes {
				t.Fatalf("activity %d / invoke %d bytes, limit %d", len(act), len(inv), maxCardBytes)
			}
			opens := 0
			for _, a := range c.Actions {
				if a.Type == "Action.OpenUrl" {
					opens++
				}
			}
			if opens != tc.wantLinks || len(c.Actions) > maxCardActions {
				t.Fatalf("%d links of %d actions, want %d links and at most %d actions", opens, len(c.Actions), tc.wantLinks, maxCardActions)
			}
			if !strings.Contains(string(act), tc.wantNote) {
				t.Fatalf("note missing %q: %s", tc.wantNote, act)
			}
		})
	}
}

func TestWithFileLinksRefusesNil(t *testing.T) {
	t.Parallel()
	_, err := New(Config{AppID: testAppID, AppPassword: testSecret, TenantID: testTenant}, &recordingDispatcher{}, WithFileLinks(nil))
	if err == nil || !strings.Contains(err.Error(), "WithFileLinks") {
		t.Fatalf("New with WithFileLinks(nil) = %v, want an error naming it", err)
	}
}
