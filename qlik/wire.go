package qlik

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Wire shapes. encoding/json matches keys to these field names
// case-insensitively, so PascalCase (what QPS sends) and camelCase (what
// Qlik's reference pages and QRS write) both decode; wire_test.go holds
// that to account.

type wireNode struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	HostName string `json:"hostName"`
}

func (n wireNode) node() Node { return Node(n) }

type wireVirtualProxy struct {
	ID                       string     `json:"id"`
	Prefix                   string     `json:"prefix"`
	Description              string     `json:"description"`
	SessionCookieHeaderName  string     `json:"sessionCookieHeaderName"`
	DefaultVirtualProxy      bool       `json:"defaultVirtualProxy"`
	SessionInactivityTimeout int        `json:"sessionInactivityTimeout"`
	LoadBalancingServerNodes []wireNode `json:"loadBalancingServerNodes"`
}

type wireProxyService struct {
	ID                      string   `json:"id"`
	ServerNodeConfiguration wireNode `json:"serverNodeConfiguration"`
	Settings                struct {
		RESTListenPort int `json:"restListenPort"`
		ListenPort     int `json:"listenPort"`
		VirtualProxies []struct {
			ID string `json:"id"`
		} `json:"virtualProxies"`
	} `json:"settings"`
}

type wireSession struct {
	SessionID     string         `json:"SessionId"`
	UserDirectory string         `json:"UserDirectory"`
	UserID        string         `json:"UserId"`
	UserName      *string        `json:"UserName"`
	Attributes    wireAttributes `json:"Attributes"`
}

func (w wireSession) session() Session {
	s := Session{ID: w.SessionID, UserDirectory: w.UserDirectory, UserID: w.UserID, Attributes: []Attribute(w.Attributes)}
	if w.UserName != nil {
		s.UserName = *w.UserName
	}
	return s
}

// wireAttributes accepts what QPS sends, [{"group":"Sales"},{"email":"a@b"}],
// and is tolerant of null, [], a single object, objects with several keys
// (split, keys sorted) and non-string values (kept as their JSON text).
type wireAttributes []Attribute

func (a *wireAttributes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*a = nil
		return nil
	}
	// The common case, an array of objects with string values, without
	// keeping every value's raw text.
	if b[0] == '[' {
		var plain []map[string]string
		if err := json.Unmarshal(b, &plain); err == nil {
			out := make([]Attribute, 0, len(plain))
			for _, o := range plain {
				out = appendSorted(out, o)
			}
			*a = out
			return nil
		}
	}
	var objs []map[string]json.RawMessage
	switch b[0] {
	case '[':
		if err := json.Unmarshal(b, &objs); err != nil {
			return fmt.Errorf("session attributes: %w", err)
		}
	case '{':
		var one map[string]json.RawMessage
		if err := json.Unmarshal(b, &one); err != nil {
			return fmt.Errorf("session attributes: %w", err)
		}
		objs = append(objs, one)
	default:
		return fmt.Errorf("session attributes: want an array of objects, got %.20s", b)
	}
	out := make([]Attribute, 0, len(objs))
	for _, o := range objs {
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, Attribute{Key: k, Value: attrValue(o[k])})
		}
	}
	*a = out
	return nil
}

func attrValue(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return ""
	}
	return string(raw)
}

// appendSorted appends o's entries with their keys in order (a one-key
// object, the usual case, needs no sorting).
func appendSorted(out []Attribute, o map[string]string) []Attribute {
	if len(o) == 1 {
		for k, v := range o {
			out = append(out, Attribute{Key: k, Value: v})
		}
		return out
	}
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, Attribute{Key: k, Value: o[k]})
	}
	return out
}

// decodeSessions decodes a QPS array of sessions (null is no sessions).
func decodeSessions(b []byte) ([]Session, error) {
	var ws []wireSession
	if err := json.Unmarshal(b, &ws); err != nil {
		return nil, fmt.Errorf("decode sessions: %w", err)
	}
	out := make([]Session, len(ws))
	for i, w := range ws {
		out[i] = w.session()
	}
	return out, nil
}

// decodeSession decodes one QPS session object.
func decodeSession(b []byte) (Session, error) {
	var w wireSession
	if err := json.Unmarshal(b, &w); err != nil {
		return Session{}, fmt.Errorf("decode session: %w", err)
	}
	return w.session(), nil
}

func decodeVirtualProxies(b []byte) ([]VirtualProxy, error) {
	var ws []wireVirtualProxy
	if err := json.Unmarshal(b, &ws); err != nil {
		return nil, fmt.Errorf("decode virtual proxies: %w", err)
	}
	out := make([]VirtualProxy, len(ws))
	for i, w := range ws {
		vp := VirtualProxy{
			ID:                       w.ID,
			Prefix:                   w.Prefix,
			Description:              w.Description,
			SessionCookieHeader:      w.SessionCookieHeaderName,
			Default:                  w.DefaultVirtualProxy,
			SessionInactivityTimeout: w.SessionInactivityTimeout,
		}
		for _, n := range w.LoadBalancingServerNodes {
			vp.LoadBalancingNodes = append(vp.LoadBalancingNodes, n.node())
		}
		out[i] = vp
	}
	return out, nil
}

func decodeProxyServices(b []byte) ([]ProxyService, error) {
	var ws []wireProxyService
	if err := json.Unmarshal(b, &ws); err != nil {
		return nil, fmt.Errorf("decode proxy services: %w", err)
	}
	out := make([]ProxyService, len(ws))
	for i, w := range ws {
		ps := ProxyService{
			ID:         w.ID,
			Node:       w.ServerNodeConfiguration.node(),
			RESTPort:   w.Settings.RESTListenPort,
			ListenPort: w.Settings.ListenPort,
		}
		for _, v := range w.Settings.VirtualProxies {
			ps.LinkedVirtualProxyIDs = append(ps.LinkedVirtualProxyIDs, v.ID)
		}
		out[i] = ps
	}
	return out, nil
}
