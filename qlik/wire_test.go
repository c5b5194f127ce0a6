package qlik

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeSessions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Session
		wantErr bool
	}{
		{name: "PascalCase as QPS sends it",
			in: `[{"SessionId":"s1","UserDirectory":"LAB","UserId":"ann","UserName":"Ann","Attributes":[{"group":"Sales"},{"email":"ann@example.com"}]}]`,
			want: []Session{{ID: "s1", UserDirectory: "LAB", UserID: "ann", UserName: "Ann",
				Attributes: []Attribute{{"group", "Sales"}, {"email", "ann@example.com"}}}}},
		{name: "camelCase as Qlik's reference writes it",
			in:   `[{"sessionId":"s1","userDirectory":"LAB","userId":"ann","userName":"Ann","attributes":[{"group":"Sales"}]}]`,
			want: []Session{{ID: "s1", UserDirectory: "LAB", UserID: "ann", UserName: "Ann", Attributes: []Attribute{{"group", "Sales"}}}}},
		{name: "null UserName and null Attributes",
			in:   `[{"SessionId":"s1","UserDirectory":"LAB","UserId":"ann","UserName":null,"Attributes":null}]`,
			want: []Session{{ID: "s1", UserDirectory: "LAB", UserID: "ann"}}},
		{name: "absent UserName and Attributes",
			in:   `[{"SessionId":"s1","UserDirectory":"LAB","UserId":"ann"}]`,
			want: []Session{{ID: "s1", UserDirectory: "LAB", UserID: "ann"}}},
		{name: "empty Attributes",
			in:   `[{"SessionId":"s1","UserDirectory":"LAB","UserId":"ann","Attributes":[]}]`,
			want: []Session{{ID: "s1", UserDirectory: "LAB", UserID: "ann", Attributes: []Attribute{}}}},
		{name: "attribute object with several keys, non-string values",
			in: `[{"SessionId":"s1","UserDirectory":"LAB","UserId":"ann","Attributes":[{"b":"2","a":1,"c":null},{"ok":true}]}]`,
			want: []Session{{ID: "s1", UserDirectory: "LAB", UserID: "ann",
				Attributes: []Attribute{{"a", "1"}, {"b", "2"}, {"c", ""}, {"ok", "true"}}}}},
		{name: "attributes as one object",
			in:   `[{"SessionId":"s1","UserDirectory":"LAB","UserId":"ann","Attributes":{"group":"Sales"}}]`,
			want: []Session{{ID: "s1", UserDirectory: "LAB", UserID: "ann", Attributes: []Attribute{{"group", "Sales"}}}}},
		{name: "null list", in: `null`, want: []Session{}},
		{name: "empty list", in: `[]`, want: []Session{}},
		{name: "attributes of the wrong type", in: `[{"SessionId":"s1","Attributes":"x"}]`, wantErr: true},
		{name: "not JSON", in: `<html>`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeSessions([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeTopology(t *testing.T) {
	t.Parallel()
	vps := []struct{ name, in string }{
		{"camelCase", `[{"id":"v1","prefix":"finance","description":"d","sessionCookieHeaderName":"X-Qlik-Session-finance","defaultVirtualProxy":false,"sessionInactivityTimeout":30,"loadBalancingServerNodes":[{"id":"n1","name":"Central","hostName":"h1"}]}]`},
		{"PascalCase", `[{"Id":"v1","Prefix":"finance","Description":"d","SessionCookieHeaderName":"X-Qlik-Session-finance","DefaultVirtualProxy":false,"SessionInactivityTimeout":30,"LoadBalancingServerNodes":[{"Id":"n1","Name":"Central","HostName":"h1"}]}]`},
	}
	wantVP := []VirtualProxy{{ID: "v1", Prefix: "finance", Description: "d", SessionCookieHeader: "X-Qlik-Session-finance",
		SessionInactivityTimeout: 30, LoadBalancingNodes: []Node{{ID: "n1", Name: "Central", HostName: "h1"}}}}
	for _, tt := range vps {
		t.Run("virtual proxies "+tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeVirtualProxies([]byte(tt.in))
			if err != nil || !reflect.DeepEqual(got, wantVP) {
				t.Errorf("got %#v, %v", got, err)
			}
		})
	}
	t.Run("proxy services", func(t *testing.T) {
		t.Parallel()
		in := `[{"id":"p1","serverNodeConfiguration":{"id":"n1","name":"Central","hostName":"h1"},"settings":{"restListenPort":4243,"listenPort":443,"virtualProxies":[{"id":"v1","prefix":"finance"},{"id":"v2"}]}}]`
		want := []ProxyService{{ID: "p1", Node: Node{ID: "n1", Name: "Central", HostName: "h1"}, RESTPort: 4243, ListenPort: 443, LinkedVirtualProxyIDs: []string{"v1", "v2"}}}
		got, err := decodeProxyServices([]byte(in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("got %#v, %v", got, err)
		}
	})
}

func TestXrfkey(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		k := newXrfkey()
		if len(k) != 16 {
			t.Fatalf("key %q has %d characters", k, len(k))
		}
		for _, c := range k {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				t.Fatalf("key %q has %q", k, c)
			}
		}
		if seen[k] {
			t.Fatalf("key %q repeated", k)
		}
		seen[k] = true
	}
}

func TestResolveAddr(t *testing.T) {
	t.Parallel()
	m := map[string]string{"a.example": "10.0.0.1", "b.example": "10.0.0.2:9999"}
	tests := []struct{ name, in, want string }{
		{"mapped ip keeps the port", "a.example:4243", "10.0.0.1:4243"},
		{"mapped address with port", "b.example:4243", "10.0.0.2:9999"},
		{"unmapped", "c.example:4243", "c.example:4243"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := resolveAddr(m, tt.in); got != tt.want {
				t.Errorf("resolveAddr(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// BenchmarkDecodeSessions decodes one QPS answer of 25 sessions, as a
// 10,000-session site sends 400 of them per list.
func BenchmarkDecodeSessions(b *testing.B) {
	var buf strings.Builder
	buf.WriteString("[")
	for i := range 25 {
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, `{"SessionId":"2734806e-c2e6-4d72-8c84-8a1964638f%02d","UserDirectory":"SIM","UserId":"user%04d","UserName":"User %04d","Attributes":[{"group":"Sales"}]}`, i, i, i)
	}
	buf.WriteString("]")
	in := []byte(buf.String())
	b.ReportAllocs()
	for b.Loop() {
		ss, err := decodeSessions(in)
		if err != nil || len(ss) != 25 {
			b.Fatal(len(ss), err)
		}
		sortSessions(ss)
	}
}

func TestCompareFold(t *testing.T) {
	t.Parallel()
	words := []string{"", "a", "A", "ab", "aB", "b", "Z", "lab", "LAB", "Ärger", "ärger", "user0001", "User0002", "zz", "ÿ", "é", "E"}
	for _, a := range words {
		for _, b := range words {
			want := strings.Compare(strings.ToLower(a), strings.ToLower(b))
			if got := compareFold(a, b); got != want {
				t.Errorf("compareFold(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}
