package teams

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestDeliver: a reply no request waits for (a resumed job's outcome) is
// sent proactively with the connector token by an adapter that has seen
// no activity since it started: an update of the card the destination
// names, or a new activity in the conversation. A destination in another
// tenant, at a plain-http service URL or with a path in its ids is
// refused with no call.
func TestDeliver(t *testing.T) {
	t.Parallel()
	outcome := bot.Reply{Kind: bot.Success, Title: "Approved: end 2 sessions on finance", Summary: []string{"Resumed after an interruption."},
		Visibility: bot.InChannel, ReplaceOriginal: true}
	cases := []struct {
		name         string
		dst          func(service string) bot.Destination
		method, path string // "" when refused
	}{
		{"replaces the card", func(s string) bot.Destination { return origin(s, testTenant, testConv, "card-9") },
			http.MethodPut, "/v3/conversations/" + testConv + "/activities/card-9"},
		{"posts where there is no card", func(s string) bot.Destination { return origin(s, testTenant, testConv, "") },
			http.MethodPost, "/v3/conversations/" + testConv + "/activities"},
		{"another tenant", func(s string) bot.Destination { return origin(s, "other-tenant", testConv, "card-9") }, "", ""},
		{"plain http", func(string) bot.Destination {
			return origin("http://smba.example.com/amer/", testTenant, testConv, "card-9")
		}, "", ""},
		{"a path in the conversation", func(s string) bot.Destination { return origin(s, testTenant, "19:x/../../y", "card-9") }, "", ""},
		{"a path in the card id", func(s string) bot.Destination { return origin(s, testTenant, testConv, "../x") }, "", ""},
		{"not a Teams destination", func(s string) bot.Destination {
			d := origin(s, testTenant, testConv, "card-9")
			d.Platform = bot.Slack
			return d
		}, "", ""},
		{"garbled", func(string) bot.Destination {
			return bot.Destination{Platform: bot.Teams, Conversation: "{", Message: "card-9"}
		}, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			dst := tc.dst(e.conn.serviceURL())
			got, err := e.a.Deliver(t.Context(), dst, outcome)
			calls := e.conn.recorded()
			if tc.method == "" {
				if err == nil || len(calls) != 0 {
					t.Errorf("Deliver = %+v, %v with %d calls; want refused, none", got, err, len(calls))
				}
				return
			}
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if len(calls) != 1 {
				t.Fatalf("connector calls %+v, want 1", calls)
			}
			body, _ := json.Marshal(calls[0].Activity)
			if calls[0].Method != tc.method || calls[0].Path != tc.path || calls[0].Auth != "Bearer "+testToken ||
				!strings.Contains(string(body), "Resumed after an interruption.") {
				t.Errorf("call %s %s (%s): %s", calls[0].Method, calls[0].Path, calls[0].Auth, body)
			}
			if want := map[string]string{http.MethodPut: "card-9", http.MethodPost: "act-1"}[tc.method]; got.Message != want {
				t.Errorf("returned %+v, want message %s", got, want)
			}
		})
	}
}

// TestOrigin: the origin of an activity names its conversation (the
// channel without the thread part) and, for a click, its card.
func TestOrigin(t *testing.T) {
	t.Parallel()
	d := origin("https://smba.trafficmanager.net/amer/", testTenant, "19:abc@thread.tacv2;messageid=1700", "card-9")
	var tc teamsConversation
	if err := json.Unmarshal([]byte(d.Conversation), &tc); err != nil {
		t.Fatal(err)
	}
	if d.Platform != bot.Teams || d.Channel != "19:abc@thread.tacv2" || d.Message != "card-9" ||
		tc != (teamsConversation{ServiceURL: "https://smba.trafficmanager.net/amer/", Tenant: testTenant, Conversation: "19:abc@thread.tacv2;messageid=1700"}) {
		t.Errorf("origin = %+v (%+v)", d, tc)
	}
}
