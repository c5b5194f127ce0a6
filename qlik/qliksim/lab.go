package qliksim

import (
	"crypto/sha256"
	"fmt"
)

// Session is one proxy session held by the simulator.
type Session struct {
	ID            string
	UserDirectory string
	UserID        string
	UserName      string // empty is sent as null
	Attributes    []map[string]string
}

// Node is a Qlik Sense server node.
type Node struct {
	ID       string
	Name     string
	HostName string // the FQDN QRS reports (unless WithAdvertiseLoopback)
}

// VirtualProxy is one virtual proxy configuration.
type VirtualProxy struct {
	ID                       string
	Prefix                   string
	Description              string
	SessionCookieHeader      string
	Default                  bool
	SessionInactivityTimeout int      // minutes
	LoadBalancingNodes       []string // node ids
	LinkedTo                 []string // node ids whose proxy service links this virtual proxy
}

// ProxyService is the proxy service running on one node. QRS reports
// ListenPort as settings.listenPort and, as restListenPort, the QPS port
// the simulator actually listens on.
type ProxyService struct {
	ID         string
	NodeID     string
	ListenPort int
}

// LabSession places a session on a node (by lab host name) and virtual proxy
// (by prefix; the one linked to that node).
type LabSession struct {
	NodeHost string
	Prefix   string
	Session  Session
}

// Lab is the data a Server starts with.
type Lab struct {
	Nodes          []Node
	VirtualProxies []VirtualProxy
	ProxyServices  []ProxyService
	Sessions       []LabSession
}

// Ids of the seed lab, from the Ctrl-Q documentation.
const (
	seedCentralProxyID = "9d5d7900-3e52-4f22-b6b9-51f38a3afe86"
	seedDev1ProxyID    = "d0510bbe-c686-459b-b10e-713fcf3951e8"
	seedCentralHost    = "pro2-win1.lab.ptarmiganlabs.net"
	seedDev1Host       = "pro2-win2.lab.ptarmiganlabs.net"
)

// SeedLab returns the lab from the Ctrl-Q documentation: proxy services
// Central (24 linked virtual proxies) and dev1 (5: finance, butler,
// automation, dev, test), 29 virtual proxies in all (three linked to none,
// two with prefix "hdr"; finance linked to both nodes), and the five
// sessions of the documented examples, all on Central.
func SeedLab() Lab {
	central := Node{ID: stableID("node:Central"), Name: "Central", HostName: seedCentralHost}
	dev1 := Node{ID: stableID("node:dev1"), Name: "dev1", HostName: seedDev1Host}
	c, d := central.ID, dev1.ID

	vp := func(prefix, desc, cookie string, lb, linked []string) VirtualProxy {
		return VirtualProxy{
			ID:                       stableID("vp:" + prefix + ":" + cookie),
			Prefix:                   prefix,
			Description:              desc,
			SessionCookieHeader:      cookie,
			Default:                  prefix == "" && cookie == "X-Qlik-Session",
			SessionInactivityTimeout: 30,
			LoadBalancingNodes:       lb,
			LinkedTo:                 linked,
		}
	}
	onC, onD, onBoth, none := []string{c}, []string{d}, []string{c, d}, []string(nil)
	vps := []VirtualProxy{
		vp("", "Central Proxy (Default)", "X-Qlik-Session", onC, onC),
		// Linked to both, as the seed's session-get --session-virtual-proxy
		// finance run shows ("dev1: pro2-win2.lab.ptarmiganlabs.net: 0").
		vp("finance", "finance virtual proxy", "X-Qlik-Session-finance", onBoth, onBoth),
		vp("win", "Central Win auth", "X-Qlik-Session-win", onC, onC),
		vp("hdr", "Header auth", "X-Qlik-Session-hdr", onC, onC),
		vp("sales", "Sales department", "X-Qlik-Session-sales", onC, onC),
		vp("hr", "Human resources", "X-Qlik-Session-hr", onC, onC),
		vp("marketing", "Marketing analytics", "X-Qlik-Session-marketing", onC, onC),
		vp("operations", "Operations dashboards", "X-Qlik-Session-operations", onC, onC),
		vp("jwt", "JWT auth for mashups", "X-Qlik-Session-jwt", onC, onC),
		vp("saml", "SAML via Azure AD", "X-Qlik-Session-saml", onC, onC),
		vp("oidc", "OIDC via Keycloak", "X-Qlik-Session-oidc", onC, onC),
		vp("anon", "Anonymous public apps", "X-Qlik-Session-anon", onC, onC),
		vp("ticket", "Ticket auth for portal", "X-Qlik-Session-ticket", onC, onC),
		vp("header", "Header auth (legacy)", "X-Qlik-Session-header", onC, onC),
		vp("ext", "External partners", "X-Qlik-Session-ext", onC, onC),
		vp("monitor", "Monitoring apps", "X-Qlik-Session-monitor", onC, onC),
		vp("audit", "Audit and compliance", "X-Qlik-Session-audit", onC, onC),
		vp("api", "API integrations", "X-Qlik-Session-api", onC, onC),
		vp("mashup", "Mashup host", "X-Qlik-Session-mashup", onC, onC),
		vp("embed", "Embedded analytics", "X-Qlik-Session-embed", onC, onC),
		vp("partner", "Partner portal", "X-Qlik-Session-partner", onC, onC),
		vp("butler", "Butler tools", "X-Qlik-Session-butler", onBoth, onBoth),
		vp("automation", "Automation service accounts", "X-Qlik-Session-automation", onBoth, onBoth),
		// Central only, so that dev1 keeps the 5 linked virtual proxies of the
		// seed's proxy table (finance, butler, automation, dev, test).
		vp("reload", "Reload monitoring", "X-Qlik-Session-reload", onBoth, onC),
		vp("dev", "Development", "X-Qlik-Session-dev", onD, onD),
		vp("test", "Test environment", "X-Qlik-Session-test", onD, onD),
		vp("mobile", "Mobile app access", "X-Qlik-Session-mob", onC, none),
		vp("hdr", "Header auth (dev)", "X-Qlik-Session-hdr-dev", onD, none),
		vp("hdr-access1", "Header auth access 1", "X-Qlik-Session-hdr-access1", onC, none),
	}
	sess := func(prefix, user, id string) LabSession {
		return LabSession{NodeHost: seedCentralHost, Prefix: prefix,
			Session: Session{ID: id, UserDirectory: "LAB", UserID: user}}
	}
	return Lab{
		Nodes:          []Node{central, dev1},
		VirtualProxies: vps,
		ProxyServices: []ProxyService{
			{ID: seedCentralProxyID, NodeID: c, ListenPort: 443},
			{ID: seedDev1ProxyID, NodeID: d, ListenPort: 443},
		},
		Sessions: []LabSession{
			sess("", "goran", "a906ee6b-a8da-4c66-9700-48036c96de7b"),
			sess("finance", "testuser_1", "55142b14-8d2d-43b3-a522-4b2fb46b2798"),
			sess("finance", "testuser_2", "d1b5d953-4312-4cf2-a106-1992a84dd82b"),
			sess("win", "testuser_3", "e9a9c1d3-2d75-4559-9a68-48d1180b3859"),
			sess("win", "testuser_4", "6ac3b0ea-7d87-41d6-bede-89eb43c63e38"),
		},
	}
}

// stableID derives a UUID-shaped id from a name, so lab ids are the same in
// every run (tests and the demo can quote them).
func stableID(name string) string {
	h := sha256.Sum256([]byte(name))
	return formatUUID(h[:16])
}

// formatUUID formats 16 bytes as a version-4 UUID string.
func formatUUID(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
