package qliksim

import (
	"fmt"
	"math/rand/v2"
)

// GenOptions sizes a generated lab. Nodes and VirtualProxies below 1 mean 1;
// Users below 1 mean 1 when there are sessions.
type GenOptions struct {
	Users          int
	Sessions       int
	VirtualProxies int
	Nodes          int
	Seed           int64
}

var genAttributes = []string{"Sales", "Finance", "Operations", "Marketing", "HR", "IT"}

// Generate builds a lab of the given size, deterministic for a Seed: nodes
// "node1.sim.qlik.test" ..., the first virtual proxy the default (prefix ""),
// then "vp2" ...; every virtual proxy linked to and load-balanced on every
// node. Sessions go round-robin over (virtual proxy, node) pairs and users
// (DIR "SIM", ids "user0001" ...), so no user exceeds SessionLimit when
// Users*SessionLimit >= Sessions.
func Generate(o GenOptions) Lab {
	o.Nodes = max(o.Nodes, 1)
	o.VirtualProxies = max(o.VirtualProxies, 1)
	o.Sessions = max(o.Sessions, 0)
	if o.Sessions > 0 {
		o.Users = max(o.Users, 1)
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x2545f4914f6cdd1d))
	id := func() string {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return formatUUID(b[:])
	}

	var lab Lab
	var nodeIDs []string
	for i := range o.Nodes {
		n := Node{ID: id(), Name: fmt.Sprintf("node%d", i+1), HostName: fmt.Sprintf("node%d.sim.qlik.test", i+1)}
		lab.Nodes = append(lab.Nodes, n)
		lab.ProxyServices = append(lab.ProxyServices, ProxyService{ID: id(), NodeID: n.ID, ListenPort: 443})
		nodeIDs = append(nodeIDs, n.ID)
	}
	for i := range o.VirtualProxies {
		vp := VirtualProxy{
			ID:                       id(),
			Prefix:                   fmt.Sprintf("vp%d", i+1),
			Description:              fmt.Sprintf("Generated virtual proxy %d", i+1),
			SessionCookieHeader:      fmt.Sprintf("X-Qlik-Session-vp%d", i+1),
			SessionInactivityTimeout: 30,
			LoadBalancingNodes:       append([]string(nil), nodeIDs...),
			LinkedTo:                 append([]string(nil), nodeIDs...),
		}
		if i == 0 {
			vp.Prefix, vp.Description, vp.SessionCookieHeader, vp.Default = "", "Central Proxy (Default)", "X-Qlik-Session", true
		}
		lab.VirtualProxies = append(lab.VirtualProxies, vp)
	}
	pairs := o.VirtualProxies * o.Nodes
	for i := range o.Sessions {
		pair := i % pairs
		vp, n := lab.VirtualProxies[pair/o.Nodes], lab.Nodes[pair%o.Nodes]
		user := fmt.Sprintf("user%04d", i%o.Users+1)
		lab.Sessions = append(lab.Sessions, LabSession{
			NodeHost: n.HostName,
			Prefix:   vp.Prefix,
			Session: Session{
				ID:            id(),
				UserDirectory: "SIM",
				UserID:        user,
				UserName:      "User " + user[4:],
				Attributes:    []map[string]string{{"group": genAttributes[rng.IntN(len(genAttributes))]}},
			},
		})
	}
	return lab
}
