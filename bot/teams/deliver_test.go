package teams

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestDeliver: a reply no request waits for (a resumed job's outcome) is
// sent proactively with the connector token by an adapter that has seen
// no activity since it started: an update of the card the destination
// names, or a new activity in the conversation. A destination in another
// tenant or naming none, at a host other than the connector's or with a
// path in its ids is refused with no call; the service URL of a delivered
// one is not trusted for inbound replies. A tenant configured as a domain
// is checked as the GUID of the connector token.
func TestDeliver(t *testing.T) {
	t.Parallel()
	outcome := bot.Reply{Kind: bot.Success, Title: "Approved: end 2 sessions on finance", Summary: []string{"Resumed after an interruption."},
		Visibility: bot.InChannel, ReplaceOriginal: true}
	cases := []struct {
		name         string
		dst          func(service string) bot.Destination
		method, path string // "" when refused
		domain       bool   // the tenant is configured as a domain
	}{
		{"tenant configured as a domain", func(s string) bot.Destination { return origin(s, testTenant, testConv, "card-9") },
			http.MethodPut, "/v3/conversations/" + testConv + "/activities/card-9", true},
		{"another tenant, configured as a domain", func(s string) bot.Destination {
			return origin(s, "0e0e0e0e-0000-4000-8000-000000000bad", testConv, "card-9")
		},
			"", "", true},
		{"tenant named by the configured domain", func(s string) bot.Destination { return origin(s, "Contoso.onmicrosoft.com", testConv, "") },
			http.MethodPost, "/v3/conversations/" + testConv + "/activities", true},
		{"no tenant", func(s string) bot.Destination { return origin(s, "", testConv, "card-9") }, "", "", false},
		{"no tenant, configured as a domain", func(s string) bot.Destination { return origin(s, "", testConv, "card-9") }, "", "", true},
		{"a non-Microsoft https host", func(string) bot.Destination {
			return origin("https://evil.example.com/amer/", testTenant, testConv, "card-9")
		}, "", "", false},
		{"the connector over plain http", func(s string) bot.Destination {
			return origin(strings.Replace(s, "https://", "http://", 1), testTenant, testConv, "card-9")
		}, "", "", false},
		{"replaces the card", func(s string) bot.Destination { return origin(s, testTenant, testConv, "card-9") },
			http.MethodPut, "/v3/conversations/" + testConv + "/activities/card-9", false},
		{"posts where there is no card", func(s string) bot.Destination { return origin(s, testTenant, testConv, "") },
			http.MethodPost, "/v3/conversations/" + testConv + "/activities", false},
		{"another tenant", func(s string) bot.Destination { return origin(s, "other-tenant", testConv, "card-9") }, "", "", false},
		{"plain http", func(string) bot.Destination {
			return origin("http://smba.example.com/amer/", testTenant, testConv, "card-9")
		}, "", "", false},
		{"a path in the conversation", func(s string) bot.Destination { return origin(s, testTenant, "19:x/../../y", "card-9") }, "", "", false},
		{"a path in the card id", func(s string) bot.Destination { return origin(s, testTenant, testConv, "../x") }, "", "", false},
		{"not a Teams destination", func(s string) bot.Destination {
			d := origin(s, testTenant, testConv, "card-9")
			d.Platform = bot.Slack
			return d
		}, "", "", false},
		{"garbled", func(string) bot.Destination {
			return bot.Destination{Platform: bot.Teams, Conversation: "{", Message: "card-9"}
		}, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			if tc.domain {
				e.a.cfg.TenantID = "contoso.onmicrosoft.com"
			}
			dst := tc.dst(e.conn.serviceURL())
			got, err := e.a.Deliver(t.Context(), dst, outcome)
			calls := e.conn.recorded()
			if e.a.conn.isTrusted(e.conn.serviceURL()) {
				t.Errorf("Deliver made its service URL trusted for inbound replies")
			}
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

// TestMicrosoftServiceURL: without the test override, proactive messages
// go only to https on Microsoft's Bot Connector hosts.
func TestMicrosoftServiceURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://smba.trafficmanager.net/amer/", true},
		{"https://smba.trafficmanager.net/teams/", true},
		{"https://SMBA.trafficmanager.net:443/emea/", true},
		{"https://smba.infra.gcc.teams.microsoft.com/teams", true},
		{"https://smba.infra.gov.teams.microsoft.us/teams", true},
		{"https://smba.infra.dod.teams.microsoft.us/teams", true},
		{"https://webchat.botframework.com/", true},
		{"http://smba.trafficmanager.net/amer/", false},
		{"https://smba.trafficmanager.net:8443/amer/", false},
		{"https://evil.example.com/amer/", false},
		{"https://smba.trafficmanager.net.evil.example.com/", false},
		{"https://botframework.com.evil.example.com/", false},
		{"https://evilbotframework.com/", false},
		{"http://127.0.0.1:8080/amer/", false},
		{"http://localhost/amer/", false},
		{"https://127.0.0.1/amer/", false},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := microsoftServiceURL(u); got != tc.ok {
			t.Errorf("microsoftServiceURL(%s) = %v, want %v", tc.url, got, tc.ok)
		}
	}
}

// TestDeliverProductionCheck: an adapter with Microsoft's token endpoint
// and without the test override sends nothing to a local connector, over
// https or plain http.
func TestDeliverProductionCheck(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.a.serviceURLOK = serviceURLCheck(fmt.Sprintf(defaultTokenURLFormat, testTenant))
	for _, service := range []string{e.conn.serviceURL(), strings.Replace(e.conn.serviceURL(), "https://", "http://", 1)} {
		_, err := e.a.Deliver(t.Context(), origin(service, testTenant, testConv, ""), bot.Reply{Kind: bot.Info, Title: "alert"})
		if !errors.Is(err, errBadDestination) {
			t.Errorf("Deliver to %s: err = %v, want errBadDestination", service, err)
		}
	}
	if calls := e.conn.recorded(); len(calls) != 0 {
		t.Errorf("%d calls reached the connector", len(calls))
	}
}

// TestDeliverFitsTable: a delivered reply that was never fitted (an
// alert with 400 sessions) shows the rows one card holds, in a card
// within Teams' size limit, and names the CSV that holds them all; without
// file links no CSV reaches Teams, so the card names none and says the
// rest cannot be attached.
func TestDeliverFitsTable(t *testing.T) {
	t.Parallel()
	for _, links := range []bool{true, false} {
		t.Run(fmt.Sprintf("links %v", links), func(t *testing.T) {
			t.Parallel()
			pub := &fakePublisher{url: testLink}
			var opts []Option
			if links {
				opts = append(opts, WithFileLinks(pub.publish))
			}
			e := newTestEnv(t, nil, opts...)
			table := &bot.Table{Columns: []string{"User", "Node"}}
			for i := range 400 {
				table.Rows = append(table.Rows, []string{"DOMAIN\\user" + strings.Repeat("x", 40) + string(rune('a'+i%26)), "node1"})
			}
			alert := bot.Reply{Kind: bot.Warning, Title: "Firing: too many sessions", Table: table, Visibility: bot.InChannel}
			if _, err := e.a.Deliver(t.Context(), origin(e.conn.serviceURL(), testTenant, testConv, ""), alert); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			calls := e.conn.recorded()
			if len(calls) != 1 {
				t.Fatalf("%d calls", len(calls))
			}
			body, _ := json.Marshal(calls[0].Activity)
			rows := strings.Count(string(body), `"TableRow"`) - 1
			if rows < 10 || rows >= 400 || strings.Contains(string(body), "Only ") || len(body) > 40<<10 {
				t.Errorf("%d rows shown in %d bytes; card %.1500s", rows, len(body), body)
			}
			files := pub.published()
			if links {
				if !strings.Contains(string(body), "rows.csv holds all 400") || !strings.Contains(string(body), "Download rows.csv") {
					t.Errorf("the card does not name and link rows.csv: %.1500s", body)
				}
				if len(files) != 1 || strings.Count(string(files[0].Data), "\n") != 401 {
					t.Errorf("published %d files; want rows.csv with the header and 400 rows", len(files))
				}
			} else if strings.Contains(string(body), "rows.csv") || !strings.Contains(string(body), "no file can be attached here") {
				t.Errorf("without links the card names a CSV or does not say none can be attached: %.1500s", body)
			}
		})
	}
}

// TestServiceURLCheckTokenHost: besides Microsoft's hosts, proactive
// messages may go to the host of the configured token endpoint (which
// already gets the app password), over https only, and nowhere else.
func TestServiceURLCheckTokenHost(t *testing.T) {
	t.Parallel()
	ok := serviceURLCheck("https://127.0.0.1:4443/tenant/oauth2/v2.0/token")
	for raw, want := range map[string]bool{
		"https://127.0.0.1:4443/amer/":          true,
		"https://smba.trafficmanager.net/amer/": true,
		"http://127.0.0.1:4443/amer/":           false,
		"https://127.0.0.1:4444/amer/":          false,
		"https://localhost:4443/amer/":          false,
		"https://evil.example.com/amer/":        false,
	} {
		u, _ := url.Parse(raw)
		if got := ok(u); got != want {
			t.Errorf("%s: %v, want %v", raw, got, want)
		}
	}
	def := serviceURLCheck("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
	if u, _ := url.Parse("https://127.0.0.1:4443/amer/"); def(u) {
		t.Error("a local service URL allowed with Microsoft's token endpoint")
	}
}
