package qlik

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// qpsBase is the QPS path of a virtual proxy. The default virtual proxy
// (prefix "") gets Ctrl-Q's "/qps//session" form rather than
// "/qps/session": it cannot be mistaken for a virtual proxy whose prefix is
// "session" or "user".
func qpsBase(prefix string) string { return "/qps/" + url.PathEscape(prefix) }

// sessionPath is the QPS path of one session, and the same path with the
// id shortened (ShortID) for errors and logs. The id is checked and
// escaped like a segment; an invalid one is refused without being echoed.
func sessionPath(prefix, id string) (path, shown string, err error) {
	if !validSegment(id) { // not echoed: a session id is a credential
		return "", "", errors.New("invalid session id: empty, a dot segment, or with leading or trailing spaces")
	}
	base := qpsBase(prefix) + "/session/"
	return base + url.PathEscape(id), base + url.PathEscape(ShortID(id)), nil
}

// userTail is "/user/{dir}/{id}", both segments checked and escaped.
func userTail(u UserRef) (string, error) {
	dir, err := segment("user directory", u.Directory)
	if err != nil {
		return "", err
	}
	id, err := segment("user id", u.ID)
	if err != nil {
		return "", err
	}
	return "/user/" + dir + "/" + id, nil
}

// Sessions lists the sessions the selection asks for: every selected
// virtual proxy on every linked node among the selected hosts, all pairs
// at once within the client's limits. An unknown prefix is an
// *UnknownPrefixError, an unknown host an *UnknownHostError; both change
// nothing and send no QPS call. A pair that fails lands in Errors and the
// others are still returned. Order: topology order of the virtual proxies,
// then of the nodes, then sessions by user directory, user id and id.
func (c *Client) Sessions(ctx context.Context, sel Selection) (*SessionList, error) {
	cached, err := c.topology(ctx)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	topo := cached.clone()
	vps, err := selectVirtualProxies(topo, sel)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	hosts := map[string]bool{} // proxy service ids; empty = all
	for _, h := range sel.Hosts {
		ps, err := topo.proxyByHost(h)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		hosts[ps.ID] = true
	}
	var userSuffix string
	if sel.User != nil {
		if userSuffix, err = userTail(*sel.User); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
	}

	list := &SessionList{Topology: topo}
	for _, vp := range vps {
		linked := topo.LinkedProxies(vp.ID)
		if len(linked) == 0 {
			list.Unlinked = append(list.Unlinked, vp)
			continue
		}
		for _, ps := range linked {
			if len(hosts) == 0 || hosts[ps.ID] {
				list.Selected = append(list.Selected, Location{VirtualProxy: vp, Proxy: ps})
			}
		}
	}

	results := make([][]Session, len(list.Selected))
	errs := make([]error, len(list.Selected))
	var wg sync.WaitGroup
	for i, loc := range list.Selected {
		r := request{service: "qps", host: loc.Proxy.Node.HostName, endpoint: "qps.session.list", method: http.MethodGet,
			path: qpsBase(loc.VirtualProxy.Prefix) + "/session"}
		if sel.User != nil {
			r.endpoint = "qps.user.list"
			r.path = qpsBase(loc.VirtualProxy.Prefix) + userSuffix
		}
		wg.Go(func() {
			b, err := c.do(ctx, r)
			if err == nil {
				results[i], err = decodeSessions(b)
			}
			errs[i] = err
		})
	}
	wg.Wait()

	for i, loc := range list.Selected {
		if errs[i] != nil {
			list.Errors = append(list.Errors, &PairError{Location: loc, Err: errs[i]})
			continue
		}
		sortSessions(results[i])
		for _, s := range results[i] {
			list.Sessions = append(list.Sessions, LocatedSession{Session: s, Location: loc})
		}
	}
	if len(list.Errors) > 0 {
		c.log.WarnContext(ctx, "some Qlik proxies did not answer", "failed", len(list.Errors), "asked", len(list.Selected))
	}
	return list, nil
}

func selectVirtualProxies(topo *Topology, sel Selection) ([]VirtualProxy, error) {
	if len(sel.Prefixes) == 0 && len(sel.VirtualProxyIDs) == 0 {
		return topo.VirtualProxies, nil
	}
	picked := make([]bool, len(topo.VirtualProxies))
	for _, p := range sel.Prefixes {
		found := false
		for i, vp := range topo.VirtualProxies {
			if strings.EqualFold(vp.Prefix, p) {
				picked[i], found = true, true
			}
		}
		if !found {
			return nil, &UnknownPrefixError{Prefix: p, Valid: topo.prefixes()}
		}
	}
	for _, id := range sel.VirtualProxyIDs {
		found := false
		for i, vp := range topo.VirtualProxies {
			if vp.ID == id {
				picked[i], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("no virtual proxy with id %q: %w", id, ErrNotFound)
		}
	}
	var out []VirtualProxy
	for i, vp := range topo.VirtualProxies {
		if picked[i] {
			out = append(out, vp)
		}
	}
	return out, nil
}

func sortSessions(ss []Session) {
	slices.SortStableFunc(ss, func(a, b Session) int {
		return cmp.Or(
			compareFold(a.UserDirectory, b.UserDirectory),
			compareFold(a.UserID, b.UserID),
			cmp.Compare(a.ID, b.ID),
		)
	})
}

// compareFold compares like cmp.Compare(strings.ToLower(a),
// strings.ToLower(b)) without allocating for ASCII strings.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x >= 0x80 || y >= 0x80 {
			return cmp.Compare(strings.ToLower(a[i:]), strings.ToLower(b[i:]))
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(len(a), len(b))
}

// place reads the (cached) topology and locates prefix on host in it.
func (c *Client) place(ctx context.Context, prefix, host string) (ProxyService, error) {
	topo, err := c.topology(ctx)
	if err != nil {
		return ProxyService{}, err
	}
	return topo.locate(prefix, host)
}

// Session reads one session. An unknown id is an error that
// errors.Is(err, ErrNotFound).
func (c *Client) Session(ctx context.Context, prefix, host, id string) (Session, error) {
	wrap := func(err error) error {
		return fmt.Errorf("get session %s of virtual proxy %s on %s: %w", ShortID(id), quotePrefix(prefix), host, err)
	}
	ps, err := c.place(ctx, prefix, host)
	if err != nil {
		return Session{}, wrap(err)
	}
	path, shown, err := sessionPath(prefix, id)
	if err != nil {
		return Session{}, wrap(err)
	}
	b, err := c.do(ctx, request{service: "qps", host: ps.Node.HostName, endpoint: "qps.session.get", method: http.MethodGet,
		path: path, shown: shown, secret: id})
	if err != nil {
		return Session{}, wrap(err)
	}
	s, err := decodeSession(b)
	if err != nil {
		return Session{}, wrap(err)
	}
	return s, nil
}

// UserSessions lists one user's sessions on one virtual proxy and node.
func (c *Client) UserSessions(ctx context.Context, prefix, host string, u UserRef) ([]Session, error) {
	return c.userCall(ctx, http.MethodGet, "qps.user.list", "list sessions of", prefix, host, u)
}

// Logout ends every session of the user on one virtual proxy and node
// (DELETE /qps/{prefix}/user/{dir}/{id}) and returns the sessions ended.
// It is never retried.
func (c *Client) Logout(ctx context.Context, prefix, host string, u UserRef) ([]Session, error) {
	return c.userCall(ctx, http.MethodDelete, "qps.user.logout", "log out", prefix, host, u)
}

func (c *Client) userCall(ctx context.Context, method, endpoint, verb, prefix, host string, u UserRef) ([]Session, error) {
	wrap := func(err error) error {
		return fmt.Errorf("%s user %s on virtual proxy %s on %s: %w", verb, u, quotePrefix(prefix), host, err)
	}
	ps, err := c.place(ctx, prefix, host)
	if err != nil {
		return nil, wrap(err)
	}
	tail, err := userTail(u)
	if err != nil {
		return nil, wrap(err)
	}
	b, err := c.do(ctx, request{service: "qps", host: ps.Node.HostName, endpoint: endpoint, method: method, path: qpsBase(prefix) + tail})
	if err != nil {
		return nil, wrap(err)
	}
	ss, err := decodeSessions(b)
	if err != nil {
		return nil, wrap(err)
	}
	sortSessions(ss)
	return ss, nil
}
