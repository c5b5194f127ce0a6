package qlik

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ttlCache holds one value read from QRS for TopologyTTL. Concurrent
// callers that find it cold share one fetch.
type ttlCache[T any] struct {
	mu      sync.Mutex
	val     T
	ok      bool
	flight  *flight[T]
	gen     uint64 // bumped by invalidate; stale fetches are not stored
	expires int64  // unix nanos by cfg.Clock
}

type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// get returns the cached value or fetches it (once for every caller that
// comes while the fetch runs). With a negative TopologyTTL it always
// fetches.
func (tc *ttlCache[T]) get(ctx context.Context, c *Client, fetch func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil { // start no shared fetch for a caller that gave up
		return zero, err
	}
	if c.cfg.TopologyTTL < 0 {
		return fetch(ctx)
	}
	tc.mu.Lock()
	if tc.ok && c.cfg.Clock().UnixNano() < tc.expires {
		v := tc.val
		tc.mu.Unlock()
		return v, nil
	}
	f := tc.flight
	if f == nil {
		f = &flight[T]{done: make(chan struct{})}
		tc.flight = f
		gen := tc.gen
		// The fetch outlives any one caller's cancellation: others wait on
		// it too. Per-call timeouts bound it.
		fctx := context.WithoutCancel(ctx)
		go func() {
			f.val, f.err = fetch(fctx)
			tc.mu.Lock()
			if tc.flight == f {
				tc.flight = nil
			}
			if f.err == nil && tc.gen == gen {
				tc.val, tc.ok = f.val, true
				tc.expires = c.cfg.Clock().Add(c.cfg.TopologyTTL).UnixNano()
			}
			tc.mu.Unlock()
			close(f.done)
		}()
	}
	tc.mu.Unlock()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (tc *ttlCache[T]) invalidate() {
	var zero T
	tc.mu.Lock()
	tc.val, tc.ok = zero, false
	tc.flight = nil
	tc.gen++
	tc.mu.Unlock()
}

// Topology returns the site's virtual proxies and proxy services, read
// with both QRS calls at once and cached for TopologyTTL. The result is a
// deep copy: the caller may keep or change it.
func (c *Client) Topology(ctx context.Context) (*Topology, error) {
	t, err := c.topology(ctx)
	if err != nil {
		return nil, err
	}
	return t.clone(), nil
}

// topology is Topology without the copy, for read-only use inside the
// package.
func (c *Client) topology(ctx context.Context) (*Topology, error) {
	t, err := c.topo.get(ctx, c, func(ctx context.Context) (*Topology, error) { return c.fetchTopology(ctx, "") })
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, fmt.Errorf("read topology from QRS: %w", err)
	}
	return t, err
}

// InvalidateTopology drops the cached topology and engine list; the next
// call reads QRS.
func (c *Client) InvalidateTopology() {
	c.topo.invalidate()
	c.engines.invalidate()
}

// FilterTopology reads the topology with a server-side QRS filter on the
// virtual proxy prefixes (compared case-insensitively by QRS), bypassing
// the cache. No prefixes means no filter. Quotes in a prefix are doubled
// as the QRS filter language escapes them.
func (c *Client) FilterTopology(ctx context.Context, prefixes []string) (*Topology, error) {
	return c.fetchTopology(ctx, prefixFilter(prefixes))
}

func prefixFilter(prefixes []string) string {
	terms := make([]string, len(prefixes))
	for i, p := range prefixes {
		terms[i] = "prefix eq '" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	return strings.Join(terms, " or ")
}

// fetchTopology runs both QRS calls concurrently.
func (c *Client) fetchTopology(ctx context.Context, filter string) (*Topology, error) {
	var (
		wg       sync.WaitGroup
		vps      []VirtualProxy
		pss      []ProxyService
		vpErr    error
		psErr    error
		vpReq    = request{service: "qrs", endpoint: "qrs.virtualproxy.list", method: http.MethodGet, path: "/qrs/virtualproxyconfig/full"}
		psReq    = request{service: "qrs", endpoint: "qrs.proxyservice.list", method: http.MethodGet, path: "/qrs/proxyservice/full"}
		qrsLabel = c.cfg.QRSHost
	)
	if filter != "" {
		vpReq.query = url.Values{"filter": {filter}}
	}
	wg.Go(func() {
		var b []byte
		if b, vpErr = c.do(ctx, vpReq); vpErr == nil {
			vps, vpErr = decodeVirtualProxies(b)
		}
	})
	wg.Go(func() {
		var b []byte
		if b, psErr = c.do(ctx, psReq); psErr == nil {
			pss, psErr = decodeProxyServices(b)
		}
	})
	wg.Wait()
	if vpErr != nil {
		return nil, fmt.Errorf("read virtual proxies from QRS %s: %w", qrsLabel, vpErr)
	}
	if psErr != nil {
		return nil, fmt.Errorf("read proxy services from QRS %s: %w", qrsLabel, psErr)
	}
	return &Topology{VirtualProxies: vps, ProxyServices: pss, FetchedAt: c.cfg.Clock()}, nil
}

func (t *Topology) clone() *Topology {
	out := &Topology{FetchedAt: t.FetchedAt}
	out.VirtualProxies = make([]VirtualProxy, len(t.VirtualProxies))
	for i, vp := range t.VirtualProxies {
		vp.LoadBalancingNodes = append([]Node(nil), vp.LoadBalancingNodes...)
		out.VirtualProxies[i] = vp
	}
	out.ProxyServices = make([]ProxyService, len(t.ProxyServices))
	for i, ps := range t.ProxyServices {
		ps.LinkedVirtualProxyIDs = append([]string(nil), ps.LinkedVirtualProxyIDs...)
		out.ProxyServices[i] = ps
	}
	return out
}

// proxyByHost finds the proxy service on host (case-insensitive: host
// names are) or returns an *UnknownHostError.
func (t *Topology) proxyByHost(host string) (ProxyService, error) {
	for _, ps := range t.ProxyServices {
		if strings.EqualFold(ps.Node.HostName, host) {
			return ps, nil
		}
	}
	return ProxyService{}, &UnknownHostError{Host: host, Valid: t.Hosts()}
}

// prefixes returns the distinct prefixes, sorted.
func (t *Topology) prefixes() []string {
	seen := map[string]bool{}
	var out []string
	for _, vp := range t.VirtualProxies {
		if k := strings.ToLower(vp.Prefix); !seen[k] {
			seen[k] = true
			out = append(out, vp.Prefix)
		}
	}
	sort.Strings(out)
	return out
}

// locate checks host and prefix against the topology before any QPS call,
// so nothing is sent to a host the site does not have: it returns the
// proxy service on host, an *UnknownHostError, an *UnknownPrefixError, or
// an error when no virtual proxy with prefix is linked to that proxy.
func (t *Topology) locate(prefix, host string) (ProxyService, error) {
	ps, err := t.proxyByHost(host)
	if err != nil {
		return ProxyService{}, err
	}
	vps := t.ByPrefix(prefix)
	if len(vps) == 0 {
		return ProxyService{}, &UnknownPrefixError{Prefix: prefix, Valid: t.prefixes()}
	}
	for _, vp := range vps {
		if slices.Contains(ps.LinkedVirtualProxyIDs, vp.ID) {
			return ps, nil
		}
	}
	return ProxyService{}, fmt.Errorf("virtual proxy %s is not linked to the proxy on %s, so it holds no sessions there", quotePrefix(prefix), ps.Node.HostName)
}
