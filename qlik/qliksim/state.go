package qliksim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// SessionLimit is how many concurrent proxy sessions one user may hold
// across the site (user access pass licensing).
const SessionLimit = 5

// Errors from AddSession (and the matching QPS answers).
var (
	// ErrSessionLimit: the user already holds SessionLimit sessions (QPS 403).
	ErrSessionLimit = errors.New("No available access type: the user already holds 5 sessions")
	// ErrDuplicateSession: the session id exists on that node (QPS 409).
	ErrDuplicateSession = errors.New("session id already exists on this node")
	// ErrInvalidSession: UserDirectory or UserId missing (QPS 400).
	ErrInvalidSession = errors.New("UserDirectory and UserId are required")
)

type bucketKey struct {
	node int
	vp   string // virtual proxy id
}

// bucket holds the sessions of one (node, virtual proxy), in insertion order.
type bucket struct {
	order []string           // lower-case ids
	byID  map[string]Session // lower-case id -> session
}

// state is every session on the site, behind one lock: the licence limit is
// site-wide, so per-bucket locks would not help.
type state struct {
	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	ids     map[int]map[string]bool // node -> lower-case ids present
	perUser map[string]int          // lower DIR\ID -> sessions held
	total   int
}

func newState() *state {
	return &state{buckets: map[bucketKey]*bucket{}, ids: map[int]map[string]bool{}, perUser: map[string]int{}}
}

func userKey(dir, id string) string { return strings.ToLower(dir) + `\` + strings.ToLower(id) }

// add stores a copy of sess (generating an id if empty). enforce applies the
// licence limit; lab data is loaded without it.
func (st *state) add(node int, vp string, sess Session, enforce bool) (Session, error) {
	if sess.UserDirectory == "" || sess.UserID == "" {
		return Session{}, ErrInvalidSession
	}
	if sess.ID == "" {
		sess.ID = newSessionID()
	}
	sess = copySession(sess)
	id := strings.ToLower(sess.ID)
	uk := userKey(sess.UserDirectory, sess.UserID)

	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ids[node][id] {
		return Session{}, fmt.Errorf("session %s: %w", sess.ID, ErrDuplicateSession)
	}
	if enforce && st.perUser[uk] >= SessionLimit {
		return Session{}, fmt.Errorf("user %s\\%s: %w", sess.UserDirectory, sess.UserID, ErrSessionLimit)
	}
	k := bucketKey{node, vp}
	b := st.buckets[k]
	if b == nil {
		b = &bucket{byID: map[string]Session{}}
		st.buckets[k] = b
	}
	b.order = append(b.order, id)
	b.byID[id] = sess
	if st.ids[node] == nil {
		st.ids[node] = map[string]bool{}
	}
	st.ids[node][id] = true
	st.perUser[uk]++
	st.total++
	return copySession(sess), nil
}

func (st *state) list(node int, vp string) []Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	b := st.buckets[bucketKey{node, vp}]
	out := []Session{}
	if b == nil {
		return out
	}
	for _, id := range b.order {
		out = append(out, copySession(b.byID[id]))
	}
	return out
}

func (st *state) get(node int, vp, id string) (Session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	b := st.buckets[bucketKey{node, vp}]
	if b == nil {
		return Session{}, false
	}
	sess, ok := b.byID[strings.ToLower(id)]
	return copySession(sess), ok
}

func (st *state) remove(node int, vp, id string) (Session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.removeLocked(node, vp, strings.ToLower(id))
}

func (st *state) removeLocked(node int, vp, id string) (Session, bool) {
	b := st.buckets[bucketKey{node, vp}]
	if b == nil {
		return Session{}, false
	}
	sess, ok := b.byID[id]
	if !ok {
		return Session{}, false
	}
	delete(b.byID, id)
	for i, x := range b.order {
		if x == id {
			b.order = append(b.order[:i], b.order[i+1:]...)
			break
		}
	}
	delete(st.ids[node], id)
	uk := userKey(sess.UserDirectory, sess.UserID)
	if st.perUser[uk]--; st.perUser[uk] <= 0 {
		delete(st.perUser, uk)
	}
	st.total--
	return sess, true
}

// user returns the sessions of one user in a bucket; with remove it ends them.
func (st *state) user(node int, vp, dir, uid string, remove bool) []Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := []Session{}
	b := st.buckets[bucketKey{node, vp}]
	if b == nil {
		return out
	}
	uk := userKey(dir, uid)
	var ids []string
	for _, id := range b.order {
		if sess := b.byID[id]; userKey(sess.UserDirectory, sess.UserID) == uk {
			out = append(out, copySession(sess))
			ids = append(ids, id)
		}
	}
	if remove {
		for _, id := range ids {
			st.removeLocked(node, vp, id)
		}
	}
	return out
}

func (st *state) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.total
}

func copySession(s Session) Session {
	if s.Attributes != nil {
		attrs := make([]map[string]string, len(s.Attributes))
		for i, a := range s.Attributes {
			m := make(map[string]string, len(a))
			for k, v := range a {
				m[k] = v
			}
			attrs[i] = m
		}
		s.Attributes = attrs
	}
	return s
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes instead)
	return formatUUID(b[:])
}

// Sessions returns a copy of the sessions on (node, virtual proxy prefix);
// nil when the host is unknown or no virtual proxy with that prefix is
// linked to it.
func (s *Server) Sessions(host, prefix string) []Session {
	n := s.nodeByHost(host)
	if n == nil {
		return nil
	}
	vp, ok := s.linkedVP(n, prefix)
	if !ok {
		return nil
	}
	return s.state.list(n.idx, vp.ID)
}

// AllSessions counts the sessions on the whole site.
func (s *Server) AllSessions() int { return s.state.count() }

// AddSession adds a session on (node, virtual proxy prefix) as a POST would:
// the id is generated when empty and the 5-session licence limit applies
// (ErrSessionLimit).
func (s *Server) AddSession(host, prefix string, sess Session) (Session, error) {
	n := s.nodeByHost(host)
	if n == nil {
		return Session{}, fmt.Errorf("add session: unknown host %q (valid: %s)", host, strings.Join(s.Hosts(), ", "))
	}
	vp, ok := s.linkedVP(n, prefix)
	if !ok {
		return Session{}, fmt.Errorf("add session: no virtual proxy %q linked to %s", prefix, host)
	}
	out, err := s.state.add(n.idx, vp.ID, sess, true)
	if err != nil {
		return Session{}, fmt.Errorf("add session on %s/%q: %w", host, prefix, err)
	}
	return out, nil
}

// nodeStats is what the engine health check of one node derives its
// figures from.
type nodeStats struct {
	sessions int
	users    int      // distinct users
	vps      []string // ids of the virtual proxies holding sessions, sorted
}

func (st *state) nodeStats(node int) nodeStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	var ns nodeStats
	users := map[string]bool{}
	for k, b := range st.buckets {
		if k.node != node || len(b.order) == 0 {
			continue
		}
		ns.sessions += len(b.order)
		ns.vps = append(ns.vps, k.vp)
		for _, sess := range b.byID {
			users[userKey(sess.UserDirectory, sess.UserID)] = true
		}
	}
	ns.users = len(users)
	slices.Sort(ns.vps)
	return ns
}
