package qlik

import (
	"reflect"
	"testing"
	"time"
)

func TestDecodeEngineHealth(t *testing.T) {
	t.Parallel()
	started := time.Date(2016, 3, 14, 10, 35, 22, 0, time.FixedZone("", 3600))
	full := EngineHealth{
		Version: "12.1477.3", Started: started, StartedText: "20160314T103522.000+0100",
		Mem: EngineMemory{Committed: 1210.96, Allocated: 1227.46, Free: 6291, TotalPhysical: 8191.5},
		CPU: 12.5, Sessions: ActiveTotal{Active: 3, Total: 4}, Users: ActiveTotal{Active: 1, Total: 2},
		Apps: EngineApps{ActiveDocs: Docs{IDs: []string{"a1"}, Count: 1}, InMemoryDocs: Docs{IDs: []string{"a1", "a2"}, Count: 2},
			LoadedDocs: Docs{IDs: []string{"a1", "a2"}, Count: 2}, Calls: 120, Selections: 7},
		Cache:     EngineCache{Hits: 9, Lookups: 10, Added: 3, Replaced: 1, BytesAdded: 4096},
		Saturated: true,
	}
	tests := []struct {
		name    string
		in      string
		want    EngineHealth
		wantErr bool
	}{
		{name: "as the engine documents it", want: full,
			in: `{"version":"12.1477.3","started":"20160314T103522.000+0100",
				"mem":{"committed":1210.96,"allocated":1227.46,"free":6291,"totalPhysical":8191.5},"cpu":{"total":12.5},
				"session":{"active":3,"total":4},
				"apps":{"active_docs":["a1"],"in_memory_docs":["a1","a2"],"loaded_docs":["a1","a2"],"calls":120,"selections":7},
				"users":{"active":1,"total":2},"cache":{"hits":9,"lookups":10,"added":3,"replaced":1,"bytes_added":4096},"saturated":true}`},
		{name: "camelCase throughout, numbers as strings, extra fields", want: full,
			in: `{"Version":"12.1477.3","Started":"20160314T103522.000+0100","extra":{"x":1},
				"Mem":{"Committed":"1210.96","Allocated":1227.46,"Free":6291,"TotalPhysical":8191.5},"CPU":{"Total":"12.5"},
				"Session":{"Active":3,"Total":4},
				"Apps":{"activeDocs":["a1"],"inMemoryDocs":["a1","a2"],"loadedDocs":["a1","a2"],"Calls":120,"Selections":7},
				"Users":{"Active":1,"Total":2},"Cache":{"Hits":9,"Lookups":10,"Added":3,"Replaced":1,"bytesAdded":4096},"Saturated":true}`},
		{name: "snake_case throughout (the QRS EngineHealth entity)", want: full,
			in: `{"version":"12.1477.3","started":"20160314T103522.000+0100",
				"mem":{"committed":1210.96,"allocated":1227.46,"free":6291,"total_physical":8191.5},"cpu":{"total":12.5},
				"session":{"active":3,"total":4},
				"apps":{"active_docs":["a1"],"in_memory_docs":["a1","a2"],"loaded_docs":["a1","a2"],"calls":120,"selections":7},
				"users":{"active":1,"total":2},"cache":{"hits":9,"lookups":10,"added":3,"replaced":1,"bytes_added":4096},"saturated":true}`},
		{name: "app counts instead of ids, nulls, RFC 3339 start",
			in: `{"version":"12.1","started":"2016-03-14T10:35:22+01:00","mem":null,"cpu":{"total":null},
				"apps":{"active_docs":1,"in_memory_docs":"2","loaded_docs":2}}`,
			want: EngineHealth{Version: "12.1", Started: started, StartedText: "2016-03-14T10:35:22+01:00",
				Apps: EngineApps{ActiveDocs: Docs{Count: 1}, InMemoryDocs: Docs{Count: 2}, LoadedDocs: Docs{Count: 2}}}},
		{name: "unreadable start kept as text", in: `{"started":"last tuesday"}`,
			want: EngineHealth{StartedText: "last tuesday"}},
		{name: "not JSON", in: `<html>`, wantErr: true},
		{name: "a number that is not", in: `{"cpu":{"total":"high"}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeEngineHealth([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if !got.Started.Equal(tt.want.Started) {
				t.Errorf("started %v, want %v", got.Started, tt.want.Started)
			}
			got.Started, tt.want.Started = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeEngineServices(t *testing.T) {
	t.Parallel()
	got, err := decodeEngineServices([]byte(`[{"id":"e1","serverNodeConfiguration":{"id":"n1","name":"Central","hostName":"c.example"},
		"settings":{"listenerPorts":[4747],"documentDirectory":"C:\\Apps"}},{"id":"e2","serverNodeConfiguration":{"name":"dev1","hostName":"d.example"}}]`))
	want := []EngineService{
		{ID: "e1", Node: Node{ID: "n1", Name: "Central", HostName: "c.example"}, ListenerPorts: []int{4747}},
		{ID: "e2", Node: Node{Name: "dev1", HostName: "d.example"}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("= %+v, %v; want %+v", got, err, want)
	}
	c := &Client{cfg: Config{}.withDefaults()}
	if p := c.enginePort(got[0]); p != 4747 {
		t.Errorf("port of e1: %d, want the reported 4747", p)
	}
	if p := c.enginePort(EngineService{ListenerPorts: []int{5757}}); p != 5757 {
		t.Errorf("port: %d, want the reported 5757", p)
	}
	if p := c.enginePort(got[1]); p != DefaultEnginePort {
		t.Errorf("port of e2 (none reported): %d, want %d", p, DefaultEnginePort)
	}
	c.cfg.EnginePort = 9999
	if p := c.enginePort(got[0]); p != 9999 {
		t.Errorf("port with EnginePort set: %d, want 9999", p)
	}
}
