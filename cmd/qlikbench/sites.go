package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/store"
)

// The two-site list: qlikbot serving two sites of the list scenario's
// size lists the sessions of both at once (/qlik sessions merges them)
// about as fast as one alone (/qlik sessions --site a), each site with
// its own client at the shipped limits.
func sitesMeasurement() qlikbench.Measurement {
	return qlikbench.Measurement{
		ID:   "sites",
		Name: "list two sites at once, each " + qlikbench.StandardList.String() + ": the engine's /qlik sessions, qlikbot's shipped limits",
		Keys: []string{"list_1site_ms", "list_2sites_ms", "list_2sites_vs_1site"}, Shipped: true, Run: measureSites,
	}
}

// sitesPolicy lets the bench's user list everything.
const sitesPolicy = "roles: {viewer: [list]}\ngrants:\n  - {subjects: [\"console:bench\"], roles: [viewer], virtualProxies: [\"*\"]}\n"

func measureSites(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
	size := qlikbench.StandardList
	if o.Short {
		size = qlikbench.ShortList
	}
	var sites []commands.Site
	for _, name := range []string{"a", "b"} {
		s, err := qlikbench.StartListSiteSized(size, o.Shipped)
		if err != nil {
			return nil, fmt.Errorf("site %s: %w", name, err)
		}
		defer s.Close()
		sites = append(sites, commands.Site{Name: name, Qlik: s.Client})
	}
	dir, err := os.MkdirTemp("", "qlikbench-sites-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := store.OpenBolt(filepath.Join(dir, "state.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	pol, err := authz.Parse([]byte(sitesPolicy))
	if err != nil {
		return nil, err
	}
	eng, err := commands.New(nil, st, authz.NewStatic(pol), commands.WithSites(sites...))
	if err != nil {
		return nil, err
	}
	list := func(text string, want int) (time.Duration, error) {
		start := time.Now()
		r := eng.Handle(ctx, bot.Request{Platform: bot.Console, User: bot.User{ID: "bench"}, Channel: "console", Text: text})
		d := time.Since(start)
		if r.Kind != bot.Info || r.Table == nil || r.Table.TotalRows != want {
			return 0, fmt.Errorf("%s: %v %q, %v rows; want every one of %d sessions", text, r.Kind, r.Title, tableRows(r), want)
		}
		return d, nil
	}
	forms := []struct {
		text string
		want int
	}{{"sessions --site a", size.Sessions}, {"sessions", 2 * size.Sessions}}
	medians := make([]time.Duration, len(forms))
	for i, f := range forms {
		if _, err := list(f.text, f.want); err != nil { // topology read, connections warm
			return nil, err
		}
		ds := make([]time.Duration, o.RunsOr(5))
		for j := range ds {
			if ds[j], err = list(f.text, f.want); err != nil {
				return nil, err
			}
		}
		medians[i] = qlikbench.Median(ds)
	}
	one, two := qlikbench.MS(medians[0]), qlikbench.MS(medians[1])
	return []qlikbench.Figure{
		{Key: "list_1site_ms", Label: "one site, --site a (median)", Value: one, Unit: "ms"},
		{Key: "list_2sites_ms", Label: "both sites at once, merged (median)", Value: two, Unit: "ms"},
		{Key: "list_2sites_vs_1site", Label: "two sites' time over one site's", Value: two / one, Unit: "x"},
	}, nil
}

func tableRows(r bot.Reply) any {
	if r.Table == nil {
		return "no table"
	}
	return r.Table.TotalRows
}
