package qliksim

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// wireSession is a session as QPS sends it: PascalCase, UserName null when
// unknown, Attributes always an array of one-key objects.
type wireSession struct {
	SessionID     string              `json:"SessionId"`
	UserDirectory string              `json:"UserDirectory"`
	UserID        string              `json:"UserId"`
	UserName      *string             `json:"UserName"`
	Attributes    []map[string]string `json:"Attributes"`
}

// wireAddSession is a POST body. encoding/json matches keys
// case-insensitively, so camelCase bodies (Qlik's reference page) work too.
type wireAddSession struct {
	UserDirectory string              `json:"UserDirectory"`
	UserID        string              `json:"UserId"`
	UserName      string              `json:"UserName"`
	Attributes    []map[string]string `json:"Attributes"`
	SessionID     string              `json:"SessionId"`
}

func toWire(s Session) wireSession {
	w := wireSession{SessionID: s.ID, UserDirectory: s.UserDirectory, UserID: s.UserID, Attributes: s.Attributes}
	if s.UserName != "" {
		name := s.UserName
		w.UserName = &name
	}
	if w.Attributes == nil {
		w.Attributes = []map[string]string{}
	}
	return w
}

func toWireList(ss []Session) []wireSession {
	out := make([]wireSession, len(ss))
	for i, s := range ss {
		out[i] = toWire(s)
	}
	return out
}

// maxBody caps a POST body: a session is a few hundred bytes.
const maxBody = 64 << 10

func (s *Server) qpsHandler(n *node) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveQPS(n, w, r) })
}

// serveQPS routes by hand: http.ServeMux would clean "/qps//session" with a
// redirect, and a redirected DELETE can turn into a GET.
func (s *Server) serveQPS(n *node, w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/qps/")
	if !ok {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		u, err := url.PathUnescape(seg)
		if err != nil {
			http.Error(w, "Bad path segment", http.StatusBadRequest)
			return
		}
		segs[i] = u
	}
	prefix, route, ok := splitQPSPath(segs)
	if !ok {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	vp, ok := s.linkedVP(n, prefix)
	if !ok {
		http.Error(w, "Virtual proxy not found on this proxy: "+prefix, http.StatusNotFound)
		return
	}
	switch {
	case len(route) == 1: // session
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, toWireList(s.state.list(n.idx, vp.ID)))
		case http.MethodPost:
			s.addSession(n, vp, w, r)
		default:
			methodNotAllowed(w, http.MethodGet, http.MethodPost)
		}
	case len(route) == 2: // session/{id}
		var sess Session
		var found bool
		switch r.Method {
		case http.MethodGet:
			sess, found = s.state.get(n.idx, vp.ID, route[1])
		case http.MethodDelete:
			sess, found = s.state.remove(n.idx, vp.ID, route[1])
		default:
			methodNotAllowed(w, http.MethodGet, http.MethodDelete)
			return
		}
		if !found {
			// The id is echoed, as a careless server might: clients must not
			// pass an answer on whole.
			http.Error(w, "Session not found: "+route[1], http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, toWire(sess))
	default: // user/{dir}/{id}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, toWireList(s.state.user(n.idx, vp.ID, route[1], route[2], false)))
		case http.MethodDelete:
			writeJSON(w, http.StatusOK, toWireList(s.state.user(n.idx, vp.ID, route[1], route[2], true)))
		default:
			methodNotAllowed(w, http.MethodGet, http.MethodDelete)
		}
	}
}

// splitQPSPath splits the segments after /qps/ into a prefix and a route
// (session | session/{id} | user/{dir}/{id}). The first segment is the
// prefix if the rest is a route; otherwise the whole is a route on the
// default virtual proxy ("/qps/session").
func splitQPSPath(segs []string) (string, []string, bool) {
	if len(segs) >= 2 && isQPSRoute(segs[1:]) {
		return segs[0], segs[1:], true
	}
	if isQPSRoute(segs) {
		return "", segs, true
	}
	return "", nil, false
}

func isQPSRoute(r []string) bool {
	switch len(r) {
	case 1:
		return strings.EqualFold(r[0], "session")
	case 2:
		return strings.EqualFold(r[0], "session") && r[1] != ""
	case 3:
		return strings.EqualFold(r[0], "user") && r[1] != "" && r[2] != ""
	}
	return false
}

func (s *Server) addSession(n *node, vp VirtualProxy, w http.ResponseWriter, r *http.Request) {
	var body wireAddSession
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&body); err != nil {
		http.Error(w, "Invalid session body: "+err.Error(), http.StatusBadRequest)
		return
	}
	sess, err := s.state.add(n.idx, vp.ID, Session{
		ID: body.SessionID, UserDirectory: body.UserDirectory, UserID: body.UserID,
		UserName: body.UserName, Attributes: body.Attributes,
	}, true)
	switch {
	case errors.Is(err, ErrSessionLimit):
		http.Error(w, err.Error(), http.StatusForbidden)
	case errors.Is(err, ErrDuplicateSession):
		http.Error(w, err.Error(), http.StatusConflict)
	case errors.Is(err, ErrInvalidSession):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case err != nil:
		http.Error(w, "Add session failed", http.StatusInternalServerError)
	default:
		writeJSON(w, http.StatusCreated, toWire(sess))
	}
}

func methodNotAllowed(w http.ResponseWriter, allow ...string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
}
