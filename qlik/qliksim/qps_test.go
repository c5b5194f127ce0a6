package qliksim_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

const (
	goran      = "a906ee6b-a8da-4c66-9700-48036c96de7b"
	testuser1  = "55142b14-8d2d-43b3-a522-4b2fb46b2798"
	testuser2  = "d1b5d953-4312-4cf2-a106-1992a84dd82b"
	testuser3  = "e9a9c1d3-2d75-4559-9a68-48d1180b3859"
	testuser4  = "6ac3b0ea-7d87-41d6-bede-89eb43c63e38"
	notASessID = "00000000-0000-4000-8000-000000000000"
)

func TestListSessions(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	tests := []struct {
		name       string
		host, path string
		wantStatus int
		wantIDs    []string
	}{
		{"default proxy, double slash (Ctrl-Q)", central, "/qps//session", 200, []string{goran}},
		{"default proxy, no prefix (Butler SOS)", central, "/qps/session", 200, []string{goran}},
		{"finance", central, "/qps/finance/session", 200, []string{testuser1, testuser2}},
		{"prefix case-insensitive", central, "/qps/FINANCE/session", 200, []string{testuser1, testuser2}},
		{"win", central, "/qps/win/session", 200, []string{testuser3, testuser4}},
		{"linked, no sessions", central, "/qps/hdr/session", 200, []string{}},
		{"dev1 has its own (empty) butler", dev1, "/qps/butler/session", 200, []string{}},
		{"finance on dev1: linked, no sessions (the seed's dev1: 0)", dev1, "/qps/finance/session", 200, []string{}},
		{"reload not linked on dev1", dev1, "/qps/reload/session", 404, nil},
		{"default proxy not linked on dev1", dev1, "/qps//session", 404, nil},
		{"unlinked virtual proxy", central, "/qps/mobile/session", 404, nil},
		{"unknown prefix", central, "/qps/nope/session", 404, nil},
		{"not a QPS path", central, "/qps/finance/sessions", 404, nil},
		{"outside /qps", central, "/finance/session", 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := mustCall(t, c, http.MethodGet, qpsURL(s, tc.host, tc.path), nil, tc.wantStatus)
			if tc.wantStatus != http.StatusOK {
				return
			}
			got := decode[[]wireSession](t, body)
			if ids := sessionIDs(got); !slices.Equal(ids, tc.wantIDs) {
				t.Fatalf("session ids %v, want %v", ids, tc.wantIDs)
			}
			if !strings.Contains(string(body), `"SessionId"`) && len(got) > 0 {
				t.Fatalf("body is not PascalCase: %s", body)
			}
		})
	}
}

func TestSessionsLiveOnTheirNode(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	onC := mustCall(t, c, http.MethodPost, qpsURL(s, central, "/qps/butler/session"),
		map[string]any{"UserDirectory": "LAB", "UserId": "ann"}, http.StatusCreated)
	onD := mustCall(t, c, http.MethodPost, qpsURL(s, dev1, "/qps/butler/session"),
		map[string]any{"UserDirectory": "LAB", "UserId": "bob"}, http.StatusCreated)
	idC, idD := decode[wireSession](t, onC).SessionId, decode[wireSession](t, onD).SessionId

	for _, tc := range []struct{ host, want, other string }{{central, idC, idD}, {dev1, idD, idC}} {
		got := sessionIDs(decode[[]wireSession](t, mustCall(t, c, http.MethodGet, qpsURL(s, tc.host, "/qps/butler/session"), nil, 200)))
		if !slices.Equal(got, []string{tc.want}) {
			t.Fatalf("%s lists %v, want only %s", tc.host, got, tc.want)
		}
		mustCall(t, c, http.MethodGet, qpsURL(s, tc.host, "/qps/butler/session/"+tc.other), nil, http.StatusNotFound)
	}
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && r.Status != http.StatusCreated {
			t.Fatalf("POST logged with status %d", r.Status)
		}
	}
	byNode := map[string]int{}
	for _, r := range s.Requests() {
		byNode[r.Node]++
	}
	if byNode[central] != 3 || byNode[dev1] != 3 {
		t.Fatalf("requests per node %v, want 3 each: each node answers at its own address", byNode)
	}
}

func TestGetAndDeleteSession(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	tests := []struct {
		name, path, id, user string
	}{
		{"finance", "/qps/finance/session/", testuser1, "testuser_1"},
		{"default via //", "/qps//session/", goran, "goran"},
		{"win via upper-case prefix", "/qps/WIN/session/", testuser3, "testuser_3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := qpsURL(s, central, tc.path+tc.id)
			got := decode[wireSession](t, mustCall(t, c, http.MethodGet, u, nil, http.StatusOK))
			if got.SessionId != tc.id || got.UserId != tc.user || got.UserDirectory != "LAB" {
				t.Fatalf("GET = %+v", got)
			}
			del := decode[wireSession](t, mustCall(t, c, http.MethodDelete, u, nil, http.StatusOK))
			if del.SessionId != tc.id || del.UserId != tc.user {
				t.Fatalf("DELETE body = %+v, want the deleted session", del)
			}
			mustCall(t, c, http.MethodDelete, u, nil, http.StatusNotFound)
			mustCall(t, c, http.MethodGet, u, nil, http.StatusNotFound)
		})
	}
	t.Run("unknown id", func(t *testing.T) {
		t.Parallel()
		mustCall(t, c, http.MethodDelete, qpsURL(s, central, "/qps/finance/session/"+notASessID), nil, http.StatusNotFound)
	})
	t.Run("session of another virtual proxy", func(t *testing.T) {
		t.Parallel()
		mustCall(t, c, http.MethodDelete, qpsURL(s, central, "/qps/win/session/"+testuser2), nil, http.StatusNotFound)
		if ids := s.Sessions(central, "finance"); len(ids) == 0 {
			t.Fatal("finance session vanished after a DELETE on win")
		}
	})
	t.Run("method not allowed", func(t *testing.T) {
		t.Parallel()
		mustCall(t, c, http.MethodPut, qpsURL(s, central, "/qps/win/session/"+testuser4), nil, http.StatusMethodNotAllowed)
	})
}

func TestDeleteIsNotRedirected(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	mustCall(t, c, http.MethodDelete, qpsURL(s, central, "/qps//session/"+goran), nil, http.StatusOK)
	if n := len(s.Sessions(central, "")); n != 0 {
		t.Fatalf("default proxy still holds %d sessions", n)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodDelete || reqs[0].Path != "/qps//session/"+goran {
		t.Fatalf("request log %+v, want one DELETE on /qps//session/...", reqs)
	}
}

func TestUserSessions(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	var added []string
	for range 2 {
		sess, err := s.AddSession(central, "finance", qliksim.Session{UserDirectory: "LAB", UserID: "testuser_1"})
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, sess.ID)
	}
	// A session of the same user elsewhere is not part of this proxy's answer.
	if _, err := s.AddSession(central, "win", qliksim.Session{UserDirectory: "LAB", UserID: "testuser_1"}); err != nil {
		t.Fatal(err)
	}
	want := append([]string{testuser1}, added...)
	u := qpsURL(s, central, "/qps/finance/user/lab/TESTUSER_1") // user match is case-insensitive
	if got := sessionIDs(decode[[]wireSession](t, mustCall(t, c, http.MethodGet, u, nil, 200))); !slices.Equal(got, want) {
		t.Fatalf("GET user = %v, want %v", got, want)
	}
	if got := sessionIDs(decode[[]wireSession](t, mustCall(t, c, http.MethodDelete, u, nil, 200))); !slices.Equal(got, want) {
		t.Fatalf("DELETE user ended %v, want %v", got, want)
	}
	if got := decode[[]wireSession](t, mustCall(t, c, http.MethodGet, u, nil, 200)); len(got) != 0 {
		t.Fatalf("after logout GET user = %v, want []", got)
	}
	if got := sessionIDs(decode[[]wireSession](t, mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps/finance/session"), nil, 200))); !slices.Equal(got, []string{testuser2}) {
		t.Fatalf("finance after logout = %v, want only testuser_2", got)
	}
	if n := len(s.Sessions(central, "win")); n != 3 {
		t.Fatalf("win holds %d sessions, want 3 (logout is per virtual proxy)", n)
	}
	// Default proxy spelled /qps/user/...
	got := decode[[]wireSession](t, mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps/user/LAB/goran"), nil, 200))
	if ids := sessionIDs(got); !slices.Equal(ids, []string{goran}) {
		t.Fatalf("/qps/user/LAB/goran = %v", ids)
	}
}

func TestAddSession(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	tests := []struct {
		name       string
		body       any
		wantStatus int
		check      func(t *testing.T, got wireSession)
	}{
		{"PascalCase with id and attributes", map[string]any{"UserDirectory": "LAB", "UserId": "ann", "SessionId": "11111111-2222-4333-8444-555555555555",
			"Attributes": []map[string]string{{"group": "Sales"}, {"email": "ann@example.com"}}}, 201,
			func(t *testing.T, got wireSession) {
				if got.SessionId != "11111111-2222-4333-8444-555555555555" || len(got.Attributes) != 2 || got.Attributes[1]["email"] != "ann@example.com" || got.UserName != nil {
					t.Fatalf("got %+v", got)
				}
			}},
		{"camelCase, id generated", map[string]any{"userDirectory": "LAB", "userId": "bob", "userName": "Bob B"}, 201,
			func(t *testing.T, got wireSession) {
				if len(got.SessionId) != 36 || got.UserId != "bob" || got.UserName == nil || *got.UserName != "Bob B" || got.Attributes == nil {
					t.Fatalf("got %+v", got)
				}
			}},
		{"duplicate id", map[string]any{"UserDirectory": "LAB", "UserId": "x", "SessionId": testuser2}, 409, nil},
		{"missing user id", map[string]any{"UserDirectory": "LAB"}, 400, nil},
		{"not JSON", "{", 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := mustCall(t, c, http.MethodPost, qpsURL(s, central, "/qps/finance/session"), tc.body, tc.wantStatus)
			if tc.check != nil {
				got := decode[wireSession](t, body)
				tc.check(t, got)
				one := decode[wireSession](t, mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps/finance/session/"+got.SessionId), nil, 200))
				if one.UserId != got.UserId {
					t.Fatalf("GET after POST = %+v", one)
				}
			}
		})
	}
}

func TestSessionLimit(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	user := map[string]any{"UserDirectory": "LAB", "UserId": "carol"}
	// Five sessions across two nodes and three virtual proxies: the limit is site-wide.
	places := []struct{ host, prefix string }{{central, "finance"}, {central, "finance"}, {central, "win"}, {dev1, "dev"}, {dev1, "butler"}}
	var ids []string
	for _, p := range places {
		body := mustCall(t, c, http.MethodPost, qpsURL(s, p.host, "/qps/"+p.prefix+"/session"), user, http.StatusCreated)
		ids = append(ids, decode[wireSession](t, body).SessionId)
	}
	body := mustCall(t, c, http.MethodPost, qpsURL(s, dev1, "/qps/test/session"), map[string]any{"UserDirectory": "lab", "UserId": "CAROL"}, http.StatusForbidden)
	if !strings.Contains(string(body), "No available access type") {
		t.Fatalf("6th session refused with %q, want it to mention No available access type", body)
	}
	if _, err := s.AddSession(central, "", qliksim.Session{UserDirectory: "LAB", UserID: "carol"}); !errors.Is(err, qliksim.ErrSessionLimit) {
		t.Fatalf("AddSession over the limit: %v, want ErrSessionLimit", err)
	}
	// Ending one frees a slot.
	mustCall(t, c, http.MethodDelete, qpsURL(s, dev1, "/qps/dev/session/"+ids[3]), nil, http.StatusOK)
	mustCall(t, c, http.MethodPost, qpsURL(s, dev1, "/qps/test/session"), user, http.StatusCreated)
	if got := s.AllSessions(); got != 5+5 {
		t.Fatalf("AllSessions = %d, want 10", got)
	}
}

func TestAddSessionErrors(t *testing.T) {
	t.Parallel()
	s := start(t)
	tests := []struct {
		name, host, prefix string
		sess               qliksim.Session
		wantErr            error
	}{
		{"unknown host", "nope.example", "finance", qliksim.Session{UserDirectory: "LAB", UserID: "a"}, nil},
		{"prefix not linked to node", dev1, "win", qliksim.Session{UserDirectory: "LAB", UserID: "a"}, nil},
		{"no user", central, "finance", qliksim.Session{}, qliksim.ErrInvalidSession},
		{"duplicate id", central, "win", qliksim.Session{ID: testuser3, UserDirectory: "LAB", UserID: "a"}, qliksim.ErrDuplicateSession},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.AddSession(tc.host, tc.prefix, tc.sess)
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("AddSession: %v, want error %v", err, tc.wantErr)
			}
		})
	}
	// Cleanup runs after the parallel subtests; a check here in the body
	// would run before them.
	t.Cleanup(func() {
		if n := s.AllSessions(); n != 5 {
			t.Errorf("failed adds changed the site: %d sessions", n)
		}
	})
}
