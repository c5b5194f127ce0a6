package main

import "github.com/qlikbot/qlikbot/qlik/qliksim"

// The demo's prod site: the seed lab from Ctrl-Q's documentation, plus
// one virtual proxy of its own, kiosk, where one user holds the five
// sessions of the access-pass limit, so that the watcher has something to
// tell on-call (QLIKBOT_WATCH_INTERVAL=1s shows it within seconds). The
// seed lab's own virtual proxies and five sessions stay as Ctrl-Q shows
// them.
const (
	demoKioskPrefix = "kiosk"
	demoKioskUser   = "kiosk_display"
)

// demoKioskSessions are the kiosk user's session ids: fixed, like the
// seed lab's, so every run of the demo shows the same handles.
var demoKioskSessions = []string{
	"0f4e8a21-5b7c-4d19-8e2a-6c3b9d7f1a01",
	"3a9d2c47-81e6-4f0b-9c5d-2e7a4b6f8c02",
	"6c1b5e93-2d48-4a7f-b3e1-9f0c7d2a5e03",
	"9e7f3a15-c6b2-48d0-a4f9-1b8e5c3d7f04",
	"c2d8b6f9-7a31-4e5c-8f26-4d9a1e0b3c05",
}

func demoProdLab() qliksim.Lab {
	lab := qliksim.SeedLab()
	central := lab.Nodes[0]
	lab.VirtualProxies = append(lab.VirtualProxies, qliksim.VirtualProxy{
		ID:                       "5d6a9c0e-7b21-4f83-9a4e-0c2b8d1f6e77",
		Prefix:                   demoKioskPrefix,
		Description:              "Kiosk displays (demo: a user at the session limit)",
		SessionCookieHeader:      "X-Qlik-Session-kiosk",
		SessionInactivityTimeout: 30,
		LoadBalancingNodes:       []string{central.ID},
		LinkedTo:                 []string{central.ID},
	})
	for _, id := range demoKioskSessions {
		lab.Sessions = append(lab.Sessions, qliksim.LabSession{NodeHost: central.HostName, Prefix: demoKioskPrefix,
			Session: qliksim.Session{ID: id, UserDirectory: "LAB", UserID: demoKioskUser}})
	}
	return lab
}
