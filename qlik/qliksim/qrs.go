package qliksim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// QRS wire structs: camelCase, a realistic subset of what a real QRS sends
// (extra fields included so clients prove they tolerate them).
type qrsNode struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	HostName    string `json:"hostName"`
	IsCentral   bool   `json:"isCentral"`
	NodePurpose int    `json:"nodePurpose"`
	SchemaPath  string `json:"schemaPath"`
}

type qrsVirtualProxy struct {
	ID                              string    `json:"id"`
	Prefix                          string    `json:"prefix"`
	Description                     string    `json:"description"`
	SessionCookieHeaderName         string    `json:"sessionCookieHeaderName"`
	DefaultVirtualProxy             bool      `json:"defaultVirtualProxy"`
	SessionInactivityTimeout        int       `json:"sessionInactivityTimeout"`
	AuthenticationMethod            int       `json:"authenticationMethod"`
	AuthenticationModuleRedirectURI string    `json:"authenticationModuleRedirectUri"`
	WebsocketCrossOriginWhiteList   []string  `json:"websocketCrossOriginWhiteList"`
	LoadBalancingServerNodes        []qrsNode `json:"loadBalancingServerNodes"`
	Privileges                      []string  `json:"privileges"`
	SchemaPath                      string    `json:"schemaPath"`
}

type qrsProxySettings struct {
	ListenPort            int               `json:"listenPort"`
	AllowHTTP             bool              `json:"allowHttp"`
	UnencryptedListenPort int               `json:"unencryptedListenPort"`
	AuthListenPort        int               `json:"authenticationListenPort"`
	RestListenPort        int               `json:"restListenPort"`
	KeepAliveTimeout      int               `json:"keepAliveTimeoutSeconds"`
	VirtualProxies        []qrsVirtualProxy `json:"virtualProxies"`
	SchemaPath            string            `json:"schemaPath"`
}

type qrsProxyService struct {
	ID                      string           `json:"id"`
	ServerNodeConfiguration qrsNode          `json:"serverNodeConfiguration"`
	Settings                qrsProxySettings `json:"settings"`
	Privileges              []string         `json:"privileges"`
	SchemaPath              string           `json:"schemaPath"`
}

type qrsEngineSettings struct {
	ListenerPorts     []int  `json:"listenerPorts"`
	DocumentDirectory string `json:"documentDirectory"`
	MaxCoreMemory     int    `json:"maxCoreMemory"`
	MinMemUsage       int    `json:"minMemUsage"`
	MaxMemUsage       int    `json:"maxMemUsage"`
	SchemaPath        string `json:"schemaPath"`
}

type qrsEngineService struct {
	ID                      string            `json:"id"`
	ServerNodeConfiguration qrsNode           `json:"serverNodeConfiguration"`
	Settings                qrsEngineSettings `json:"settings"`
	Privileges              []string          `json:"privileges"`
	SchemaPath              string            `json:"schemaPath"`
}

var (
	vpFilterFields = []string{"id", "prefix", "description", "sessionCookieHeaderName"}
	psFilterFields = []string{"id", "serverNodeConfiguration.hostName", "serverNodeConfiguration.name"}
)

func (s *Server) serveQRS(w http.ResponseWriter, r *http.Request) {
	path := strings.ToLower(strings.TrimSuffix(r.URL.Path, "/"))
	var serve func(filter []clause) any
	fields := vpFilterFields
	switch path {
	case "/qrs/virtualproxyconfig/full":
		serve = s.qrsVirtualProxies
	case "/qrs/proxyservice/full":
		serve, fields = s.qrsProxyServices, psFilterFields
	case "/qrs/engineservice/full":
		serve, fields = s.qrsEngineServices, psFilterFields
	case "/qrs/about":
		serve, fields = s.qrsAbout, nil
	default:
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var filter []clause
	if expr := strings.TrimSpace(queryParam(r, "filter")); expr != "" {
		var err error
		if filter, err = parseFilter(expr, fields); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	writeJSON(w, http.StatusOK, serve(filter))
}

// queryParam reads a query parameter by name in any case.
func queryParam(r *http.Request, name string) string {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (s *Server) qrsNode(n *node) qrsNode {
	return qrsNode{ID: n.lab.ID, Name: n.lab.Name, HostName: n.advertised, IsCentral: n.idx == 0,
		NodePurpose: 0, SchemaPath: "ServerNodeConfiguration"}
}

func (s *Server) qrsVP(vp VirtualProxy) qrsVirtualProxy {
	out := qrsVirtualProxy{
		ID: vp.ID, Prefix: vp.Prefix, Description: vp.Description,
		SessionCookieHeaderName: vp.SessionCookieHeader, DefaultVirtualProxy: vp.Default,
		SessionInactivityTimeout:      vp.SessionInactivityTimeout,
		WebsocketCrossOriginWhiteList: []string{}, LoadBalancingServerNodes: []qrsNode{},
		SchemaPath: "VirtualProxyConfig",
	}
	for _, id := range vp.LoadBalancingNodes {
		for _, n := range s.nodes {
			if n.lab.ID == id {
				out.LoadBalancingServerNodes = append(out.LoadBalancingServerNodes, s.qrsNode(n))
			}
		}
	}
	return out
}

func (s *Server) qrsVirtualProxies(filter []clause) any {
	out := []qrsVirtualProxy{}
	for _, vp := range s.vps {
		get := func(f string) string {
			switch f {
			case "id":
				return vp.ID
			case "prefix":
				return vp.Prefix
			case "description":
				return vp.Description
			default:
				return vp.SessionCookieHeader
			}
		}
		if filter == nil || matches(filter, get) {
			out = append(out, s.qrsVP(vp))
		}
	}
	return out
}

func (s *Server) qrsProxyServices(filter []clause) any {
	out := []qrsProxyService{}
	for _, n := range s.nodes {
		if !serviceMatches(filter, n, n.proxy.ID) {
			continue
		}
		ps := qrsProxyService{
			ID:                      n.proxy.ID,
			ServerNodeConfiguration: s.qrsNode(n),
			Settings: qrsProxySettings{
				ListenPort: n.proxy.ListenPort, UnencryptedListenPort: 80, AuthListenPort: 4244,
				RestListenPort: s.qpsPort, KeepAliveTimeout: 10,
				VirtualProxies: []qrsVirtualProxy{}, SchemaPath: "ProxyServiceSettings",
			},
			SchemaPath: "ProxyService",
		}
		for _, vp := range s.vps {
			if containsID(vp.LinkedTo, n.lab.ID) {
				ps.Settings.VirtualProxies = append(ps.Settings.VirtualProxies, s.qrsVP(vp))
			}
		}
		out = append(out, ps)
	}
	return out
}

// serviceMatches applies a filter on psFilterFields to the service with
// this id running on node n (proxy and engine services alike).
func serviceMatches(filter []clause, n *node, id string) bool {
	return filter == nil || matches(filter, func(f string) string {
		switch f {
		case "id":
			return id
		case "serverNodeConfiguration.hostName":
			return n.advertised
		default:
			return n.lab.Name
		}
	})
}

// qrsEngineServices lists one engine service per node; listenerPorts
// holds the port its health check actually listens on.
func (s *Server) qrsEngineServices(filter []clause) any {
	out := []qrsEngineService{}
	for _, n := range s.nodes {
		id := stableID("engine:" + n.lab.ID)
		if !serviceMatches(filter, n, id) {
			continue
		}
		out = append(out, qrsEngineService{
			ID:                      id,
			ServerNodeConfiguration: s.qrsNode(n),
			Settings: qrsEngineSettings{
				ListenerPorts: []int{s.enginePort}, DocumentDirectory: `C:\ProgramData\Qlik\Sense\Apps`,
				MaxCoreMemory: 90, MinMemUsage: 70, MaxMemUsage: 90, SchemaPath: "EngineServiceSettings",
			},
			Privileges: nil, SchemaPath: "EngineService",
		})
	}
	return out
}

func (s *Server) qrsAbout([]clause) any {
	return map[string]any{
		"buildVersion": "34.1.3.0", "buildDate": "9/20/2013 10:09:00 AM",
		"databaseProvider": "Devart.Data.PostgreSql", "nodeType": 1, "sharedPersistence": true,
		"requiresBootstrap": false, "singleNodeOnly": len(s.nodes) == 1, "schemaPath": "About",
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only our own wire structs get here
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
