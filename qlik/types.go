package qlik

import (
	"strings"
	"time"
)

// Node is a Qlik Sense server node as QRS describes it. HostName is the
// name QRS advertises; QPS calls for this node go to HostName on the QPS port.
type Node struct {
	ID       string
	Name     string
	HostName string
}

// VirtualProxy is one virtual proxy configuration from
// /qrs/virtualproxyconfig/full. Prefix "" is the default virtual proxy.
// Prefixes are not unique site-wide: tell duplicates apart by ID,
// Description or SessionCookieHeader.
type VirtualProxy struct {
	ID                       string
	Prefix                   string
	Description              string
	SessionCookieHeader      string
	Default                  bool
	SessionInactivityTimeout int // minutes
	LoadBalancingNodes       []Node
}

// ProxyService is one proxy service from /qrs/proxyservice/full: a node
// running QPS and the virtual proxies linked to it.
type ProxyService struct {
	ID                    string
	Node                  Node
	RESTPort              int      // settings.restListenPort (QPS)
	ListenPort            int      // settings.listenPort
	LinkedVirtualProxyIDs []string // settings.virtualProxies[].id
}

// Topology is the site as QRS reports it at one moment.
type Topology struct {
	VirtualProxies []VirtualProxy
	ProxyServices  []ProxyService
	FetchedAt      time.Time
}

// LinkedProxies returns the proxy services the virtual proxy with the given
// id is linked to, in ProxyServices order.
func (t *Topology) LinkedProxies(vpID string) []ProxyService {
	var out []ProxyService
	for _, ps := range t.ProxyServices {
		for _, id := range ps.LinkedVirtualProxyIDs {
			if id == vpID {
				out = append(out, ps)
				break
			}
		}
	}
	return out
}

// Unlinked returns the virtual proxies linked to no proxy service: they can
// hold no sessions (Ctrl-Q warns "Virtual proxy is not linked to any proxy").
func (t *Topology) Unlinked() []VirtualProxy {
	var out []VirtualProxy
	for _, vp := range t.VirtualProxies {
		if len(t.LinkedProxies(vp.ID)) == 0 {
			out = append(out, vp)
		}
	}
	return out
}

// Hosts returns the host names of every proxy service, in order.
func (t *Topology) Hosts() []string {
	out := make([]string, 0, len(t.ProxyServices))
	for _, ps := range t.ProxyServices {
		out = append(out, ps.Node.HostName)
	}
	return out
}

// ByPrefix returns every virtual proxy with the given prefix, compared
// case-insensitively (QRS compares prefixes that way). More than one result
// means a duplicate prefix.
func (t *Topology) ByPrefix(prefix string) []VirtualProxy {
	var out []VirtualProxy
	for _, vp := range t.VirtualProxies {
		if strings.EqualFold(vp.Prefix, prefix) {
			out = append(out, vp)
		}
	}
	return out
}

// Attribute is one entry of a session's Attributes: QPS sends an array of
// one-key objects, e.g. [{"group":"Sales"},{"email":"ann@example.com"}].
type Attribute struct {
	Key   string
	Value string
}

// UserRef names a Qlik user: directory and id, written DIR\ID.
type UserRef struct {
	Directory string
	ID        string
}

// String returns DIR\ID.
func (u UserRef) String() string { return u.Directory + `\` + u.ID }

// Session is one proxy session as QPS reports it.
type Session struct {
	ID            string // SessionId
	UserDirectory string
	UserID        string
	UserName      string // may be empty: QPS sends null or omits it
	Attributes    []Attribute
}

// User returns the session's owner.
func (s Session) User() UserRef { return UserRef{Directory: s.UserDirectory, ID: s.UserID} }

// Location says where a session lives: sessions live per (proxy node,
// virtual proxy), and the same prefix on two nodes holds different sessions.
type Location struct {
	VirtualProxy VirtualProxy
	Proxy        ProxyService
}

// LocatedSession is a session with the place it was found.
type LocatedSession struct {
	Session
	Location
}

// Selection picks what to list. Empty fields mean "all".
type Selection struct {
	// Prefixes selects virtual proxies by prefix ("" is the default virtual
	// proxy). A prefix shared by several virtual proxies selects all of them.
	Prefixes []string
	// VirtualProxyIDs selects virtual proxies by id (to pick one of two
	// proxies that share a prefix). Combined with Prefixes by union.
	VirtualProxyIDs []string
	// Hosts selects proxy nodes by host name, exactly as QRS reports them.
	// An unknown host is an *UnknownHostError listing the valid ones.
	Hosts []string
	// User, when set, lists only that user's sessions
	// (GET /qps/{prefix}/user/{dir}/{id}).
	User *UserRef
}

// PairError is the failure of one (virtual proxy, node) call during a
// list: the other pairs' sessions are still returned.
type PairError struct {
	Location
	Err error
}

func (e *PairError) Error() string {
	return "list sessions of virtual proxy " + quotePrefix(e.VirtualProxy.Prefix) + " on " + e.Proxy.Node.HostName + ": " + e.Err.Error()
}

func (e *PairError) Unwrap() error { return e.Err }

// SessionList is the result of a list: every session found, the topology
// it was read against, and the pairs that failed. A non-empty Errors with
// sessions is a partial result, not a failure.
type SessionList struct {
	Topology *Topology
	// Selected is every (virtual proxy, node) pair that was asked.
	Selected []Location
	// Unlinked are selected virtual proxies linked to no proxy service.
	Unlinked []VirtualProxy
	Sessions []LocatedSession
	Errors   []*PairError
}

// DeleteTarget is one session to end.
type DeleteTarget struct {
	Prefix    string // virtual proxy prefix
	Host      string // proxy node host name
	SessionID string
	User      UserRef // for reporting only; may be empty
}

// Status is the outcome of deleting one session.
type Status int

// Delete outcomes.
const (
	Deleted     Status = iota + 1 // QPS answered 200
	AlreadyGone                   // QPS answered 404: nothing to do
	Failed                        // anything else; see Outcome.Err
)

// String returns "deleted", "already gone" or "failed".
func (s Status) String() string {
	switch s {
	case Deleted:
		return "deleted"
	case AlreadyGone:
		return "already gone"
	case Failed:
		return "failed"
	default:
		return "unknown"
	}
}

// Outcome is what happened to one DeleteTarget.
type Outcome struct {
	Target DeleteTarget
	Status Status
	Err    error // set when Status == Failed
}

func quotePrefix(p string) string {
	if p == "" {
		return `"" (default)`
	}
	return `"` + p + `"`
}

// ShortID is how a session id appears in errors and log lines: its first
// 8 characters (fewer for a short one, never all) and "...". A session id
// is the value of the user's session cookie, a credential: it is never
// shown whole.
func ShortID(id string) string {
	r := []rune(id)
	return string(r[:min(8, len(r)/2)]) + "..."
}
