package teams

import (
	"net/http"
	"testing"
	"time"
)

// TestMemberEmails: the sender's e-mail comes from the channel's member
// roster on the fake connector (with the bot token), is cached per user
// for the ttl, and is left empty where Teams does not vouch for one; a
// failed lookup is not cached and never holds the request up.
func TestMemberEmails(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil, WithUserEmails(time.Hour))
	const channel = "19:ops@thread.tacv2" // the roster is the channel's, not the thread's
	roster := map[string]map[string]any{
		"29:ann":   {"id": "29:ann", "aadObjectId": "aad-ann", "email": " Ann.Admin@Contoso.com ", "userPrincipalName": "ann@contoso.com", "userRole": "user"},
		"29:upn":   {"id": "29:upn", "aadObjectId": "aad-upn", "userPrincipalName": "Uma@Contoso.com"},
		"29:guest": {"id": "29:guest", "aadObjectId": "aad-guest", "email": "guest@fabrikam.com", "userRole": "guest"},
		"29:ext":   {"id": "29:ext", "aadObjectId": "aad-ext", "userPrincipalName": "eve_fabrikam.com#EXT#@contoso.onmicrosoft.com"},
		"29:other": {"id": "29:other", "aadObjectId": "aad-someone-else", "email": "boss@contoso.com"},
	}
	for id, m := range roster {
		e.conn.setMember(channel, id, m)
	}
	steps := []struct {
		name      string
		advance   time.Duration
		from, aad string
		want      string
		lookups   int64
	}{
		{"member with an e-mail", 0, "29:ann", "aad-ann", "ann.admin@contoso.com", 1},
		{"cached", time.Minute, "29:ann", "aad-ann", "ann.admin@contoso.com", 1},
		{"userPrincipalName when there is no e-mail", 0, "29:upn", "aad-upn", "uma@contoso.com", 2},
		{"guest: not vouched", 0, "29:guest", "aad-guest", "", 3},
		{"guest's #EXT# name: not an address", 0, "29:ext", "aad-ext", "", 4},
		{"roster entry of another user", 0, "29:other", "aad-mallory", "", 5},
		{"not in the roster: no e-mail, request goes on", 0, "29:gone", "aad-gone", "", 6},
		{"failures are not cached", 0, "29:gone", "aad-gone", "", 7},
		{"after the ttl: looked up again", 2 * time.Hour, "29:ann", "aad-ann", "ann.admin@contoso.com", 8},
	}
	for _, s := range steps {
		e.now.Advance(s.advance)
		act := messageActivity(e.conn.serviceURL(), "whoami")
		act["from"] = map[string]any{"id": s.from, "name": "x", "aadObjectId": s.aad}
		if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
			t.Fatalf("%s: status %d", s.name, rec.Code)
		}
		submitted, _ := e.d.calls()
		got := submitted[len(submitted)-1]
		if got.User.ID != s.aad || got.User.Email != s.want || e.conn.memberHits.Load() != s.lookups {
			t.Fatalf("%s: user %q e-mail %q after %d lookups; want %q after %d",
				s.name, got.User.ID, got.User.Email, e.conn.memberHits.Load(), s.want, s.lookups)
		}
	}
	if n := len(e.conn.recorded()); n != 0 {
		t.Fatalf("lookups posted %d activities", n)
	}
}

func TestMemberEmailsOption(t *testing.T) {
	t.Parallel()
	cfg := Config{AppID: testAppID, AppPassword: testSecret, TenantID: testTenant}
	tests := []struct {
		name   string
		opts   []Option
		wantOn bool
		ok     bool
	}{
		{"on by default", nil, true, true},
		{"off with 0", []Option{WithUserEmails(0)}, false, true},
		{"other ttl", []Option{WithUserEmails(time.Minute)}, true, true},
		{"negative", []Option{WithUserEmails(-time.Second)}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := New(cfg, &recordingDispatcher{}, tc.opts...)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v, want ok=%v", err, tc.ok)
			}
			if err == nil && (a.emails != nil) != tc.wantOn {
				t.Fatalf("lookups on = %v, want %v", a.emails != nil, tc.wantOn)
			}
		})
	}
}
