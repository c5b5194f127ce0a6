package qlik

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type wireEngineService struct {
	ID                      string   `json:"id"`
	ServerNodeConfiguration wireNode `json:"serverNodeConfiguration"`
	Settings                struct {
		ListenerPorts []int `json:"listenerPorts"`
	} `json:"settings"`
}

func decodeEngineServices(b []byte) ([]EngineService, error) {
	var ws []wireEngineService
	if err := json.Unmarshal(b, &ws); err != nil {
		return nil, fmt.Errorf("decode engine services: %w", err)
	}
	out := make([]EngineService, len(ws))
	for i, w := range ws {
		out[i] = EngineService{ID: w.ID, Node: w.ServerNodeConfiguration.node(), ListenerPorts: w.Settings.ListenerPorts}
	}
	return out, nil
}

// wireHealth is the engine health check with every key folded: lower case,
// no underscores (see foldKeys). encoding/json compares keys without case,
// so these tags match "totalPhysical", "total_physical", "active_docs"
// and "activeDocs" alike: the engine writes some names in snake_case, the
// QRS EngineHealth entity writes the same figures in its own way.
type wireHealth struct {
	Version   string `json:"version"`
	Started   string `json:"started"`
	Saturated bool   `json:"saturated"`
	Mem       struct {
		Committed     flexNum `json:"committed"`
		Allocated     flexNum `json:"allocated"`
		Free          flexNum `json:"free"`
		TotalPhysical flexNum `json:"totalphysical"`
	} `json:"mem"`
	CPU struct {
		Total flexNum `json:"total"`
	} `json:"cpu"`
	Session wireActiveTotal `json:"session"`
	Users   wireActiveTotal `json:"users"`
	Apps    struct {
		ActiveDocs   wireDocs `json:"activedocs"`
		InMemoryDocs wireDocs `json:"inmemorydocs"`
		LoadedDocs   wireDocs `json:"loadeddocs"`
		Calls        flexNum  `json:"calls"`
		Selections   flexNum  `json:"selections"`
	} `json:"apps"`
	Cache struct {
		Hits       flexNum `json:"hits"`
		Lookups    flexNum `json:"lookups"`
		Added      flexNum `json:"added"`
		Replaced   flexNum `json:"replaced"`
		BytesAdded flexNum `json:"bytesadded"`
	} `json:"cache"`
}

type wireActiveTotal struct {
	Active flexNum `json:"active"`
	Total  flexNum `json:"total"`
}

func (w wireActiveTotal) counts() ActiveTotal {
	return ActiveTotal{Active: int(w.Active), Total: int(w.Total)}
}

// flexNum is a number, or a number written as a string; null is 0.
type flexNum float64

func (n *flexNum) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("want a number, got %.20s", b)
	}
	*n = flexNum(f)
	return nil
}

// wireDocs is an array of app ids, or a count.
type wireDocs Docs

func (d *wireDocs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var ids []string
		if err := json.Unmarshal(b, &ids); err != nil {
			return fmt.Errorf("app ids: %w", err)
		}
		*d = wireDocs{IDs: ids, Count: len(ids)}
		return nil
	}
	var n flexNum
	if err := n.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	*d = wireDocs{Count: int(n)}
	return nil
}

// startedLayouts: the engine's own form first, then what other tools
// write.
var startedLayouts = []string{"20060102T150405.000-0700", "20060102T150405-0700", "20060102T150405.000Z0700", time.RFC3339Nano}

func decodeEngineHealth(b []byte) (EngineHealth, error) {
	folded, err := foldKeys(b)
	if err != nil {
		return EngineHealth{}, fmt.Errorf("decode engine health: %w", err)
	}
	var w wireHealth
	if err := json.Unmarshal(folded, &w); err != nil {
		return EngineHealth{}, fmt.Errorf("decode engine health: %w", err)
	}
	h := EngineHealth{
		Version:     w.Version,
		StartedText: w.Started,
		Mem: EngineMemory{Committed: float64(w.Mem.Committed), Allocated: float64(w.Mem.Allocated),
			Free: float64(w.Mem.Free), TotalPhysical: float64(w.Mem.TotalPhysical)},
		CPU:      float64(w.CPU.Total),
		Sessions: w.Session.counts(),
		Users:    w.Users.counts(),
		Apps: EngineApps{ActiveDocs: Docs(w.Apps.ActiveDocs), InMemoryDocs: Docs(w.Apps.InMemoryDocs), LoadedDocs: Docs(w.Apps.LoadedDocs),
			Calls: int64(w.Apps.Calls), Selections: int64(w.Apps.Selections)},
		Cache: EngineCache{Hits: int64(w.Cache.Hits), Lookups: int64(w.Cache.Lookups), Added: int64(w.Cache.Added),
			Replaced: int64(w.Cache.Replaced), BytesAdded: int64(w.Cache.BytesAdded)},
		Saturated: w.Saturated,
	}
	for _, layout := range startedLayouts {
		if t, err := time.Parse(layout, w.Started); err == nil {
			h.Started = t
			break
		}
	}
	return h, nil
}

// foldKeys rewrites every object key of a JSON document in lower case
// without underscores, so snake_case and camelCase spellings of a name
// meet.
func foldKeys(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep numbers as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(fold(v))
}

func fold(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[strings.ToLower(strings.ReplaceAll(k, "_", ""))] = fold(val)
		}
		return out
	case []any:
		for i := range x {
			x[i] = fold(x[i])
		}
		return x
	}
	return v
}
