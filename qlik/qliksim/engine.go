package qliksim

import (
	"net/http"
	"slices"
	"strings"
)

// EngineVersion is what every simulated engine reports as its version.
const EngineVersion = "12.1477.3"

// engineStartedLayout is how the engine writes "started":
// 20160314T103522.000+0100.
const engineStartedLayout = "20060102T150405.000-0700"

// EngineHealth is one engine health check answer, as Qlik documents it
// ("Get Qlik associative engine health information"): memory in MB, CPU in
// percent over 30 s. The JSON names are the engine's own.
type EngineHealth struct {
	Version   string      `json:"version"`
	Started   string      `json:"started"`
	Mem       EngineMem   `json:"mem"`
	CPU       EngineCPU   `json:"cpu"`
	Session   EngineCount `json:"session"`
	Apps      EngineApps  `json:"apps"`
	Users     EngineCount `json:"users"`
	Cache     EngineCache `json:"cache"`
	Saturated bool        `json:"saturated"`
}

// EngineMem is the engine's memory, in MB.
type EngineMem struct {
	Committed     float64 `json:"committed"`
	Allocated     float64 `json:"allocated"`
	Free          float64 `json:"free"`
	TotalPhysical float64 `json:"totalPhysical"`
}

// EngineCPU is the engine's CPU use in percent over the last 30 s.
type EngineCPU struct {
	Total float64 `json:"total"`
}

// EngineCount is an active / total pair (sessions, users).
type EngineCount struct {
	Active int `json:"active"`
	Total  int `json:"total"`
}

// EngineApps lists app ids by state, and counts calls and selections.
type EngineApps struct {
	ActiveDocs   []string `json:"active_docs"`
	InMemoryDocs []string `json:"in_memory_docs"`
	LoadedDocs   []string `json:"loaded_docs"`
	Calls        int      `json:"calls"`
	Selections   int      `json:"selections"`
}

// EngineCache holds the engine's cache counters.
type EngineCache struct {
	Hits       int `json:"hits"`
	Lookups    int `json:"lookups"`
	Added      int `json:"added"`
	Replaced   int `json:"replaced"`
	BytesAdded int `json:"bytes_added"`
}

// engineTotalMB is every simulated node's physical memory.
const engineTotalMB = 32768

// EngineHealth returns what the engine on host reports now; false for an
// unknown host. The figures follow the sessions the node holds (N
// sessions of U distinct users, on V virtual proxies):
//
//   - session.total N, session.active N - N/4; users.total U, users.active U - U/4
//   - one app per virtual proxy holding sessions on the node: in_memory_docs
//     and loaded_docs list all V, active_docs the first V - V/4
//   - mem: totalPhysical 32768, committed 1024 + 48.5*N, allocated committed
//   - 256, free the rest; cpu.total 2 + 1.5*N, at most 85
//   - apps.calls 25*N, apps.selections 10*N; cache lookups 100*N, hits 80*N,
//     added 20*N, replaced 2*N, bytes_added 4096 per entry added
//
// The node's Fault changes them: Saturated sets saturated, HighCPU reports
// cpu.total 97, LowMemory leaves 3% of the memory free.
func (s *Server) EngineHealth(host string) (EngineHealth, bool) {
	n := s.nodeByHost(host)
	if n == nil {
		return EngineHealth{}, false
	}
	return s.engineHealth(n), true
}

func (s *Server) engineHealth(n *node) EngineHealth {
	st := s.state.nodeStats(n.idx)
	ft := s.faults.get(n.idx)
	sessions := st.sessions
	h := EngineHealth{
		Version:   EngineVersion,
		Started:   s.started.Format(engineStartedLayout),
		Session:   EngineCount{Active: sessions - sessions/4, Total: sessions},
		Users:     EngineCount{Active: st.users - st.users/4, Total: st.users},
		Saturated: ft.Saturated,
	}
	apps := make([]string, len(st.vps))
	for i, vp := range st.vps {
		apps[i] = stableID("app:" + vp)
	}
	h.Apps = EngineApps{
		ActiveDocs: apps[:len(apps)-len(apps)/4], InMemoryDocs: apps, LoadedDocs: slices.Clone(apps),
		Calls: 25 * sessions, Selections: 10 * sessions,
	}
	h.Cache = EngineCache{Hits: 80 * sessions, Lookups: 100 * sessions, Added: 20 * sessions, Replaced: 2 * sessions, BytesAdded: 4096 * 20 * sessions}

	committed := 1024 + 48.5*float64(sessions)
	h.Mem = EngineMem{Committed: committed, Allocated: committed + 256, TotalPhysical: engineTotalMB}
	if ft.LowMemory {
		h.Mem.Allocated = engineTotalMB * 0.97
		h.Mem.Committed = h.Mem.Allocated - 256
	}
	h.Mem.Free = h.Mem.TotalPhysical - h.Mem.Allocated
	h.CPU.Total = min(85, 2+1.5*float64(sessions))
	if ft.HighCPU {
		h.CPU.Total = 97
	}
	return h
}

func (s *Server) engineHandler(n *node) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.ToLower(strings.TrimSuffix(r.URL.Path, "/")) {
		case "/healthcheck", "/engine/healthcheck":
		default:
			http.Error(w, "Not found", http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		writeJSON(w, http.StatusOK, s.engineHealth(n))
	})
}
