package qliksim_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Wire shapes as a client would decode them (camelCase).
type qrsNode struct {
	ID, Name, HostName string
}

type qrsVP struct {
	ID                       string
	Prefix                   string
	Description              string
	SessionCookieHeaderName  string
	DefaultVirtualProxy      bool
	SessionInactivityTimeout int
	LoadBalancingServerNodes []qrsNode
}

type qrsProxy struct {
	ID                      string
	ServerNodeConfiguration qrsNode
	Settings                struct {
		RestListenPort int
		ListenPort     int
		VirtualProxies []struct{ ID, Prefix, SessionCookieHeaderName string }
	}
}

func TestQRSTopology(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	rawVPs := mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/virtualproxyconfig/full"), nil, 200)
	for _, key := range []string{`"sessionCookieHeaderName"`, `"loadBalancingServerNodes"`, `"defaultVirtualProxy"`, `"hostName"`} {
		if !strings.Contains(string(rawVPs), key) {
			t.Fatalf("virtualproxyconfig lacks camelCase key %s", key)
		}
	}
	vps := decode[[]qrsVP](t, rawVPs)
	proxies := decode[[]qrsProxy](t, mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/proxyservice/full"), nil, 200))

	if len(vps) != 29 {
		t.Fatalf("%d virtual proxies, want 29", len(vps))
	}
	byCookie := map[string]qrsVP{}
	hdr := 0
	for _, vp := range vps {
		byCookie[vp.SessionCookieHeaderName] = vp
		if vp.Prefix == "hdr" {
			hdr++
		}
	}
	if hdr != 2 {
		t.Fatalf("%d virtual proxies with prefix hdr, want 2", hdr)
	}
	def := byCookie["X-Qlik-Session"]
	if def.Prefix != "" || !def.DefaultVirtualProxy || def.Description != "Central Proxy (Default)" {
		t.Fatalf("default virtual proxy = %+v", def)
	}
	fin := byCookie["X-Qlik-Session-finance"]
	var lb []string
	for _, n := range fin.LoadBalancingServerNodes {
		lb = append(lb, n.Name+"="+n.HostName)
	}
	if !slices.Equal(lb, []string{"Central=" + central, "dev1=" + dev1}) {
		t.Fatalf("finance load balancing %v", lb)
	}

	if len(proxies) != 2 {
		t.Fatalf("%d proxy services, want 2", len(proxies))
	}
	wantProxies := []struct {
		id, name, host string
		linked         int
	}{
		{"9d5d7900-3e52-4f22-b6b9-51f38a3afe86", "Central", central, 24},
		{"d0510bbe-c686-459b-b10e-713fcf3951e8", "dev1", dev1, 5},
	}
	linked := map[string][]string{}
	for i, w := range wantProxies {
		p := proxies[i]
		if p.ID != w.id || p.ServerNodeConfiguration.Name != w.name || p.ServerNodeConfiguration.HostName != w.host {
			t.Fatalf("proxy %d = %+v, want %+v", i, p, w)
		}
		if len(p.Settings.VirtualProxies) != w.linked {
			t.Fatalf("%s links %d virtual proxies, want %d", w.name, len(p.Settings.VirtualProxies), w.linked)
		}
		if p.Settings.RestListenPort != s.QPSPort() {
			t.Fatalf("%s restListenPort %d, want the QPS port %d", w.name, p.Settings.RestListenPort, s.QPSPort())
		}
		for _, v := range p.Settings.VirtualProxies {
			linked[v.ID] = append(linked[v.ID], w.name)
		}
	}
	// The seed's session-get --session-virtual-proxy finance run asks dev1
	// too ("dev1: pro2-win2.lab.ptarmiganlabs.net: 0").
	if got := linked[fin.ID]; !slices.Equal(got, []string{"Central", "dev1"}) {
		t.Fatalf("finance linked to %v, want Central and dev1", got)
	}
	if got := linked[byCookie["X-Qlik-Session-reload"].ID]; !slices.Equal(got, []string{"Central"}) {
		t.Fatalf("reload linked to %v, want Central only (dev1 keeps its 5)", got)
	}
	if got := linked[byCookie["X-Qlik-Session-hdr"].ID]; !slices.Equal(got, []string{"Central"}) {
		t.Fatalf("second hdr linked to %v, want Central", got)
	}
	var unlinked []string
	for _, vp := range vps {
		if len(linked[vp.ID]) == 0 {
			unlinked = append(unlinked, vp.Prefix+"/"+vp.SessionCookieHeaderName)
		}
	}
	want := []string{"mobile/X-Qlik-Session-mob", "hdr/X-Qlik-Session-hdr-dev", "hdr-access1/X-Qlik-Session-hdr-access1"}
	if !slices.Equal(unlinked, want) {
		t.Fatalf("unlinked %v, want %v", unlinked, want)
	}
}

func TestQRSFilter(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	tests := []struct {
		name, path, filter string
		wantStatus         int
		wantPrefixes       []string // for virtual proxies
		wantCount          int      // for proxy services
	}{
		{"one prefix", "/qrs/virtualproxyconfig/full", "prefix eq 'finance'", 200, []string{"finance"}, 0},
		{"case-insensitive value and keywords", "/qrs/virtualproxyconfig/full", "prefix EQ 'FINANCE' OR prefix eq 'Win'", 200, []string{"finance", "win"}, 0},
		{"empty prefix is the default", "/qrs/virtualproxyconfig/full", "prefix eq ''", 200, []string{""}, 0},
		{"empty prefix or finance", "/qrs/virtualproxyconfig/full", "prefix eq '' or prefix eq 'finance'", 200, []string{"", "finance"}, 0},
		{"duplicate prefix", "/qrs/virtualproxyconfig/full", "prefix eq 'hdr'", 200, []string{"hdr", "hdr"}, 0},
		{"no match", "/qrs/virtualproxyconfig/full", "prefix eq 'nope'", 200, []string{}, 0},
		{"doubled quote is a literal quote", "/qrs/virtualproxyconfig/full", "prefix eq 'it''s'", 200, []string{}, 0},
		{"stray quote", "/qrs/virtualproxyconfig/full", "prefix eq 'fin'ance'", 400, nil, 0},
		{"unterminated", "/qrs/virtualproxyconfig/full", "prefix eq 'finance", 400, nil, 0},
		{"unquoted value", "/qrs/virtualproxyconfig/full", "prefix eq finance", 400, nil, 0},
		{"unsupported operator", "/qrs/virtualproxyconfig/full", "prefix ne 'finance'", 400, nil, 0},
		{"and is not supported", "/qrs/virtualproxyconfig/full", "prefix eq 'a' and prefix eq 'b'", 400, nil, 0},
		{"unknown field", "/qrs/virtualproxyconfig/full", "colour eq 'red'", 400, nil, 0},
		{"proxy by host", "/qrs/proxyservice/full", "serverNodeConfiguration.hostName eq '" + dev1 + "'", 200, nil, 1},
		{"proxy by name", "/qrs/proxyservice/full", "serverNodeConfiguration.name eq 'central' or serverNodeConfiguration.name eq 'dev1'", 200, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := qrsURL(s, tc.path) + "?filter=" + url.QueryEscape(tc.filter)
			body := mustCall(t, c, http.MethodGet, u, nil, tc.wantStatus)
			switch {
			case tc.wantStatus == http.StatusBadRequest:
				if !strings.Contains(string(body), "Cannot parse the expression") {
					t.Fatalf("400 body %q", body)
				}
			case tc.wantPrefixes != nil:
				var got []string
				for _, vp := range decode[[]qrsVP](t, body) {
					got = append(got, vp.Prefix)
				}
				if !slices.Equal(got, tc.wantPrefixes) && !(len(got) == 0 && len(tc.wantPrefixes) == 0) {
					t.Fatalf("prefixes %q, want %q", got, tc.wantPrefixes)
				}
				if len(tc.wantPrefixes) == 0 && strings.TrimSpace(string(body)) != "[]" {
					t.Fatalf("no match answered %q, want []", body)
				}
			default:
				if got := decode[[]qrsProxy](t, body); len(got) != tc.wantCount {
					t.Fatalf("%d proxies, want %d", len(got), tc.wantCount)
				}
			}
		})
	}
}

func TestQRSRoutes(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"about", http.MethodGet, "/qrs/about", 200},
		{"unknown", http.MethodGet, "/qrs/app/full", 404},
		{"write refused", http.MethodPost, "/qrs/virtualproxyconfig/full", 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mustCall(t, c, tc.method, qrsURL(s, tc.path), nil, tc.want)
		})
	}
}

func TestXrfkey(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	tests := []struct {
		name, query, header string
		want                int
	}{
		{"valid", "xrfkey=" + xrf, xrf, 200},
		{"parameter name in any case (Butler SOS)", "Xrfkey=" + xrf, xrf, 200},
		{"digits and upper case", "XRFKEY=0123456789ABCdef", "0123456789ABCdef", 200},
		{"missing entirely", "", "", 403},
		{"parameter missing", "", xrf, 403},
		{"header missing", "xrfkey=" + xrf, "", 403},
		{"mismatch", "xrfkey=" + xrf, "abcdefghijklmnoq", 403},
		{"header differs in case", "xrfkey=" + xrf, strings.ToUpper(xrf), 403},
		{"too short", "xrfkey=abcdefghijklmno", "abcdefghijklmno", 403},
		{"too long", "xrfkey=abcdefghijklmnopq", "abcdefghijklmnopq", 403},
		{"not alphanumeric", "xrfkey=abcdefghijklmn-p", "abcdefghijklmn-p", 403},
		{"given twice", "xrfkey=" + xrf + "&XrfKey=" + xrf, xrf, 403},
	}
	for _, tc := range tests {
		for _, base := range []string{qrsURL(s, "/qrs/about"), qpsURL(s, central, "/qps//session/"+notASessID)} {
			t.Run(tc.name+" "+base[8:12], func(t *testing.T) {
				t.Parallel()
				u := base
				if tc.query != "" {
					u += "?" + tc.query
				}
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				if tc.header != "" {
					req.Header.Set("X-Qlik-Xrfkey", tc.header)
				}
				resp, err := send(c, req)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.want
				if want == 200 && strings.Contains(base, "/qps/") {
					want = 404 // past the check, the session does not exist
				}
				if resp.status != want {
					t.Fatalf("status %d, want %d (%s)", resp.status, want, resp.body)
				}
				if want == 403 && strings.TrimSpace(string(resp.body)) != "XSRF prevention check failed. Possible XSRF discovered." {
					t.Fatalf("403 body %q", resp.body)
				}
			})
		}
	}
	// No request changed anything (checked once the parallel subtests ran).
	t.Cleanup(func() {
		if n := s.AllSessions(); n != 5 {
			t.Errorf("%d sessions after the Xrfkey checks, want 5", n)
		}
	})
}

func TestXrfkeyProtectsDelete(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, qpsURL(s, central, "/qps/finance/session/"+testuser1), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := send(c, req)
	if err != nil || resp.status != http.StatusForbidden {
		t.Fatalf("DELETE without Xrfkey: %d %v, want 403", resp.status, err)
	}
	if n := len(s.Sessions(central, "finance")); n != 2 {
		t.Fatalf("finance holds %d sessions after a refused DELETE, want 2", n)
	}
}
