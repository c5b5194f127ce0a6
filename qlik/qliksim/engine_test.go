package qliksim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func engineURL(s *qliksim.Server, host, path string) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(s.EnginePort())) + path
}

// getEngine calls the health check as Butler SOS does: client
// certificate, no Xrfkey.
func getEngine(t *testing.T, c *http.Client, url string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := send(c, req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}

// TestEngineHealthFields: every documented field, with the documented
// names, on every path Qlik serves it on.
func TestEngineHealthFields(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	for _, path := range []string{"/healthcheck", "/engine/healthcheck", "/engine/healthcheck/"} {
		resp := getEngine(t, c, engineURL(s, central, path))
		if resp.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.status, resp.body)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(resp.body, &doc); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			"version": nil, "started": nil, "saturated": nil,
			"mem":     {"committed", "allocated", "free", "totalPhysical"},
			"cpu":     {"total"},
			"session": {"active", "total"},
			"apps":    {"active_docs", "in_memory_docs", "loaded_docs", "calls", "selections"},
			"users":   {"active", "total"},
			"cache":   {"hits", "lookups", "added", "replaced", "bytes_added"},
		}
		for key, sub := range want {
			raw, ok := doc[key]
			if !ok {
				t.Errorf("%s: no %q", path, key)
				continue
			}
			if sub == nil {
				continue
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(raw, &obj); err != nil {
				t.Errorf("%s: %s is not an object: %s", path, key, raw)
				continue
			}
			for _, k := range sub {
				if _, ok := obj[k]; !ok {
					t.Errorf("%s: no %s.%s", path, key, k)
				}
			}
		}
		if len(doc) != len(want) {
			t.Errorf("%s: %d top-level fields, want %d: %s", path, len(doc), len(want), resp.body)
		}
	}
	if resp := getEngine(t, c, engineURL(s, central, "/qrs/about")); resp.status != http.StatusNotFound {
		t.Errorf("unknown engine path: %d, want 404", resp.status)
	}
	resp, err := call(t.Context(), c, http.MethodPost, engineURL(s, central, "/healthcheck"), nil)
	if err != nil || resp.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d %v, want 405", resp.status, err)
	}
}

// TestEngineHealthFollowsSessions: the figures come from the sessions
// each node holds, as EngineHealth documents.
func TestEngineHealthFollowsSessions(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	read := func(host string) qliksim.EngineHealth {
		t.Helper()
		resp := getEngine(t, c, engineURL(s, host, "/healthcheck"))
		if resp.status != http.StatusOK {
			t.Fatalf("%s: %d", host, resp.status)
		}
		return decode[qliksim.EngineHealth](t, resp.body)
	}
	// The seed lab: five sessions of five users on Central (default,
	// finance, win: three virtual proxies), none on dev1.
	h := read(central)
	if h.Session != (qliksim.EngineCount{Active: 4, Total: 5}) || h.Users != (qliksim.EngineCount{Active: 4, Total: 5}) {
		t.Errorf("central: session %+v users %+v, want 4/5 of each", h.Session, h.Users)
	}
	if len(h.Apps.LoadedDocs) != 3 || len(h.Apps.InMemoryDocs) != 3 || len(h.Apps.ActiveDocs) != 3 || h.Apps.Calls != 125 || h.Apps.Selections != 50 {
		t.Errorf("central apps %+v, want 3 loaded, 125 calls, 50 selections", h.Apps)
	}
	if h.Mem.TotalPhysical != 32768 || h.Mem.Committed != 1024+5*48.5 || h.Mem.Free != 32768-h.Mem.Allocated || h.CPU.Total != 9.5 || h.Saturated {
		t.Errorf("central mem %+v cpu %+v saturated %v", h.Mem, h.CPU, h.Saturated)
	}
	if h.Cache != (qliksim.EngineCache{Hits: 400, Lookups: 500, Added: 100, Replaced: 10, BytesAdded: 409600}) {
		t.Errorf("central cache %+v", h.Cache)
	}
	if _, err := time.Parse("20060102T150405.000-0700", h.Started); err != nil || h.Version == "" {
		t.Errorf("version %q started %q: %v", h.Version, h.Started, err)
	}
	if got, ok := s.EngineHealth(central); !ok || got.Session != h.Session {
		t.Errorf("EngineHealth(central) = %+v, %v; the wire said %+v", got.Session, ok, h.Session)
	}
	d := read(dev1)
	if d.Session.Total != 0 || d.Users.Total != 0 || len(d.Apps.LoadedDocs) != 0 || d.Apps.LoadedDocs == nil {
		t.Errorf("dev1 holds no sessions, reports %+v %+v apps %#v", d.Session, d.Users, d.Apps.LoadedDocs)
	}
	for range 4 {
		if _, err := s.AddSession(dev1, "dev", qliksim.Session{UserDirectory: "LAB", UserID: "dev_a"}); err != nil {
			t.Fatal(err)
		}
	}
	if d := read(dev1); d.Session != (qliksim.EngineCount{Active: 3, Total: 4}) || d.Users != (qliksim.EngineCount{Active: 1, Total: 1}) || len(d.Apps.LoadedDocs) != 1 {
		t.Errorf("dev1 after four sessions of one user on one virtual proxy: %+v %+v %v", d.Session, d.Users, d.Apps.LoadedDocs)
	}
	if _, ok := s.EngineHealth("nowhere.example.com"); ok {
		t.Error("EngineHealth of an unknown host answered")
	}
}

func TestEngineFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault qliksim.Fault
		check func(t *testing.T, resp response, err error)
	}{
		{name: "saturated", fault: qliksim.Fault{Saturated: true}, check: func(t *testing.T, resp response, err error) {
			if h := decode[qliksim.EngineHealth](t, resp.body); !h.Saturated {
				t.Errorf("saturated = false")
			}
		}},
		{name: "high CPU", fault: qliksim.Fault{HighCPU: true}, check: func(t *testing.T, resp response, err error) {
			if h := decode[qliksim.EngineHealth](t, resp.body); h.CPU.Total != 97 || h.Saturated {
				t.Errorf("cpu %v saturated %v, want 97 and not saturated", h.CPU.Total, h.Saturated)
			}
		}},
		{name: "low memory", fault: qliksim.Fault{LowMemory: true}, check: func(t *testing.T, resp response, err error) {
			h := decode[qliksim.EngineHealth](t, resp.body)
			if free := h.Mem.Free / h.Mem.TotalPhysical; free > 0.031 || free < 0.029 || h.Mem.Allocated+h.Mem.Free != h.Mem.TotalPhysical {
				t.Errorf("mem %+v, want 3%% free", h.Mem)
			}
		}},
		{name: "errors", fault: qliksim.Fault{ErrorRate: 1}, check: func(t *testing.T, resp response, err error) {
			if err != nil || resp.status != http.StatusInternalServerError {
				t.Errorf("%d %v, want 500", resp.status, err)
			}
		}},
		{name: "down", fault: qliksim.Fault{Down: true}, check: func(t *testing.T, resp response, err error) {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("err %v, want connection refused", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			if err := s.SetFault(dev1, tt.fault); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, s, tlsConfig(t, s))
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, engineURL(s, dev1, "/healthcheck"), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := send(c, req)
			if err == nil && resp.status != http.StatusOK && tt.fault.ErrorRate == 0 {
				t.Fatalf("%d %s", resp.status, resp.body)
			}
			tt.check(t, resp, err)
			// The other node is healthy.
			if h := decode[qliksim.EngineHealth](t, getEngine(t, c, engineURL(s, central, "/healthcheck")).body); h.Saturated || h.CPU.Total == 97 {
				t.Errorf("central caught dev1's fault: %+v", h)
			}
		})
	}
}

func TestEngineNeedsClientCertificate(t *testing.T) {
	t.Parallel()
	s := start(t)
	conf := tlsConfig(t, s)
	conf.Certificates = nil
	c := newClient(t, s, conf)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, engineURL(s, central, "/healthcheck"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := send(c, req); err == nil {
		t.Fatalf("answered %d without a client certificate", resp.status)
	}
}

func TestQRSEngineServices(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	type engine struct {
		ID                      string
		ServerNodeConfiguration struct{ Name, HostName string }
		Settings                struct{ ListenerPorts []int }
	}
	all := decode[[]engine](t, mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/engineservice/full"), nil, http.StatusOK))
	var hosts []string
	for _, e := range all {
		hosts = append(hosts, e.ServerNodeConfiguration.HostName)
		if !slices.Equal(e.Settings.ListenerPorts, []int{s.EnginePort()}) || e.ID == "" {
			t.Errorf("%s: id %q listenerPorts %v, want [%d]", e.ServerNodeConfiguration.HostName, e.ID, e.Settings.ListenerPorts, s.EnginePort())
		}
	}
	if !slices.Equal(hosts, []string{central, dev1}) {
		t.Errorf("engine hosts %v, want %v", hosts, []string{central, dev1})
	}
	one := decode[[]engine](t, mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/engineservice/full?filter=serverNodeConfiguration.name+eq+'dev1'"), nil, http.StatusOK))
	if len(one) != 1 || one[0].ServerNodeConfiguration.HostName != dev1 {
		t.Errorf("filtered by name dev1: %+v", one)
	}
}
