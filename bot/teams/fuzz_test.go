package teams

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/bot"
)

// FuzzParseActivity feeds arbitrary bodies through everything the adapter
// does with an activity after authentication, short of the network.
func FuzzParseActivity(f *testing.F) {
	svc := "https://smba.trafficmanager.net/amer/"
	for _, seed := range []map[string]any{
		messageActivity(svc, "<at>qlikbot</at> sessions finance"),
		invokeActivity(svc, "qlik.approve", "p-1"),
		{"type": "conversationUpdate", "serviceUrl": svc, "channelId": "msteams", "conversation": map[string]any{"id": "c"},
			"recipient": map[string]any{"id": "28:b"}, "membersAdded": []any{map[string]any{"id": "28:b"}}},
		{"type": "message", "serviceUrl": svc, "channelId": "msteams", "conversation": map[string]any{"id": "c"},
			"from": map[string]any{"aadObjectId": "x"}, "value": map[string]any{"action": 3}},
	} {
		f.Add([]byte(mustJSON(seed)))
	}
	f.Add([]byte(`{"type":"invoke","value":{"action":{"verb":1}}}`))
	f.Add([]byte(`null`))
	a, err := New(Config{AppID: testAppID, AppPassword: testSecret, TenantID: testTenant}, &recordingDispatcher{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		act, err := parseActivity(body)
		if err != nil {
			return
		}
		if act.ServiceURL == "" || act.ChannelID == "" || act.Conversation.ID == "" {
			t.Fatalf("parseActivity accepted an activity without routing fields: %+v", act)
		}
		_ = act.botAdded()
		_ = act.tenantID()
		if ch := channelOf(act.Conversation.ID); strings.Contains(strings.ToLower(ch), ";messageid=") ||
			!strings.HasPrefix(act.Conversation.ID, ch) {
			t.Fatalf("channelOf(%q) = %q", act.Conversation.ID, ch)
		}
		// The serviceUrl is not trusted here: no e-mail lookup leaves.
		req, ok := a.request(t.Context(), act)
		if ok && (req.User.ID == "" || req.Platform != bot.Teams) {
			t.Fatalf("request without identity: %+v", req)
		}
		if d, ok := act.submitClick(); ok && d.Action == "" {
			t.Fatal("submit click without action id")
		}
		if d, err := act.executeClick(); err == nil && d.Action == "" {
			t.Fatal("execute click without verb")
		}
		txt := bot.TrimCommand(act.plainText())
		if !utf8.ValidString(act.Text) {
			return
		}
		// Whatever was typed, the card echoing it stays valid JSON
		// under the size limit.
		c := render(bot.Reply{Title: txt, Summary: []string{act.Text}, Table: &bot.Table{Columns: []string{txt}, Rows: [][]string{{act.Text}}}})
		b, err := json.Marshal(cardActivity(c, txt))
		if err != nil || len(b) > maxCardBytes {
			t.Fatalf("card: %d bytes, err %v", len(b), err)
		}
	})
}
