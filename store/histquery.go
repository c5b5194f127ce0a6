package store

import (
	"errors"
	"math"
	"slices"
	"sync"
	"time"
)

// dictCache keeps decoded dictionaries, which never change for an id.
// Bounded: it starts over when full. Safe for concurrent use.
type dictCache struct {
	mu sync.Mutex
	m  map[dictID][]SeriesKey
}

const dictCacheSize = 256

func (c *dictCache) get(id dictID) ([]SeriesKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys, ok := c.m[id]
	return keys, ok
}

// decode decodes enc, checks it is the dictionary id names, and caches it.
func (c *dictCache) decode(id dictID, enc []byte) ([]SeriesKey, error) {
	if dictIDOf(enc) != id {
		return nil, errors.New("series dictionary does not match its id")
	}
	keys, err := decodeDict(enc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= dictCacheSize {
		c.m = map[dictID][]SeriesKey{}
	}
	c.m[id] = keys
	return keys, nil
}

// histBuilder collects the selected series of a query from records fed in
// time order.
type histBuilder struct {
	match  SeriesMatch
	from   time.Time
	to     time.Time
	series map[SeriesKey]*SeriesHistory
	// picks caches, per dictionary, the positions the match selects.
	picks   map[dictID][]pick
	skipped int
	hint    int   // expected points per series
	scratch []agg // the picked aggregates of the record being read
}

type pick struct {
	pos int
	sh  *SeriesHistory
}

func newHistBuilder(q HistoryQuery) *histBuilder {
	return &histBuilder{match: q.Series, from: q.From, to: q.To,
		series: map[SeriesKey]*SeriesHistory{}, picks: map[dictID][]pick{}}
}

// expect sizes the series not seen yet for about n points each, so a long
// answer is not copied as it grows.
func (hb *histBuilder) expect(n int) { hb.hint = min(n, 1<<16) }

func (hb *histBuilder) picksFor(id dictID, keys []SeriesKey) []pick {
	if p, ok := hb.picks[id]; ok {
		return p
	}
	var ps []pick
	for i, k := range keys {
		if !hb.match.Match(k) {
			continue
		}
		sh := hb.series[k]
		if sh == nil {
			sh = &SeriesHistory{Key: k, Points: make([]Point, 0, hb.hint)}
			hb.series[k] = sh
		}
		ps = append(ps, pick{i, sh})
	}
	hb.picks[id] = ps
	return ps
}

// recordPicks returns the positions the query selects in a raw or
// aggregate record whose dictionary holds keys (none when it has no head).
func (hb *histBuilder) recordPicks(keys []SeriesKey, rec []byte) []pick {
	id, _, err := recordHead(rec)
	if err != nil {
		hb.skipped++
		return nil
	}
	return hb.picksFor(id, keys)
}

// addRaw adds a raw sample's selected values as points.
func (hb *histBuilder) addRaw(t time.Time, keys []SeriesKey, rec []byte) {
	ps := hb.recordPicks(keys, rec)
	if len(ps) == 0 {
		return
	}
	vals, err := decodeRaw(rec, len(keys))
	if err != nil {
		hb.skipped++
		return
	}
	for _, p := range ps {
		if v := vals[p.pos]; !math.IsNaN(v) {
			p.sh.Points = append(p.sh.Points, Point{Time: t, Min: v, Max: v, Avg: v, Last: v, N: 1})
		}
	}
}

// addAgg adds a bucket's selected aggregates as points.
func (hb *histBuilder) addAgg(start time.Time, keys []SeriesKey, id dictID, aggs []agg) {
	for _, p := range hb.picksFor(id, keys) {
		if a := aggs[p.pos]; a.n > 0 {
			p.sh.Points = append(p.sh.Points, a.point(start))
		}
	}
}

// addAggRecord decodes a stored aggregate and adds its selected series,
// or none of them when the record does not decode.
func (hb *histBuilder) addAggRecord(start time.Time, keys []SeriesKey, rec []byte) {
	ps := hb.recordPicks(keys, rec)
	if len(ps) == 0 {
		return
	}
	hb.scratch = hb.scratch[:0]
	next := 0
	err := eachAgg(rec, len(keys), func(i int, a agg) {
		if next < len(ps) && ps[next].pos == i {
			hb.scratch = append(hb.scratch, a)
			next++
		}
	})
	if err != nil {
		hb.skipped++
		return
	}
	for j, p := range ps {
		if a := hb.scratch[j]; a.n > 0 {
			p.sh.Points = append(p.sh.Points, a.point(start))
		}
	}
}

func (hb *histBuilder) result(site string, step time.Duration) History {
	h := History{Site: site, Step: step, Series: []SeriesHistory{}, Skipped: hb.skipped}
	for _, sh := range hb.series {
		if len(sh.Points) > 0 {
			h.Series = append(h.Series, *sh)
		}
	}
	slices.SortFunc(h.Series, func(a, b SeriesHistory) int { return compareKeys(a.Key, b.Key) })
	return h
}
