package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bktHist holds one bucket per site:
//
//	newest   binTime of the newest sample
//	wm       binTime up to which raw samples are rolled up (watermark)
//	rawcut   binTime before which raw samples were dropped
//	raw/     binTime(sample time) -> raw sample record
//	agg/     binTime(bucket start) -> aggregate record
//	dict/    dictionary id -> dictionary
//	dictuse/ dictionary id -> binTime of its latest use (by a raw sample
//	         or an aggregate's bucket start), for dropping unused ones
var bktHist = []byte("history")

var (
	histNewest  = []byte("newest")
	histWM      = []byte("wm")
	histRawCut  = []byte("rawcut")
	histRaw     = []byte("raw")
	histAgg     = []byte("agg")
	histDict    = []byte("dict")
	histDictUse = []byte("dictuse")
)

// errDictCollision: two dictionaries share an id (8 bytes of SHA-256).
var errDictCollision = errors.New("series dictionary id collision")

// binTime is an 8-byte key whose byte order is time order.
func binTime(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(t.UnixNano())^(1<<63))
}

func parseBinTime(b []byte) (time.Time, bool) {
	if len(b) != 8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)^(1<<63))).UTC(), true
}

// siteBuckets are the sub-buckets of one site.
type siteBuckets struct {
	site                    *bolt.Bucket
	raw, agg, dict, dictUse *bolt.Bucket
	newest, wm, rawCut      time.Time // zero when unset
	hasNewest, hasWM        bool
}

// openSite returns site's buckets, creating them when create is set;
// ok is false when the site has no history (and create is not set).
func openSite(tx *bolt.Tx, site string, create bool) (siteBuckets, bool, error) {
	root := tx.Bucket(bktHist)
	sb := root.Bucket([]byte(site))
	if sb == nil {
		if !create {
			return siteBuckets{}, false, nil
		}
		var err error
		if sb, err = root.CreateBucket([]byte(site)); err != nil {
			return siteBuckets{}, false, err
		}
		for _, name := range [][]byte{histRaw, histAgg, histDict, histDictUse} {
			if _, err := sb.CreateBucket(name); err != nil {
				return siteBuckets{}, false, err
			}
		}
	}
	s := siteBuckets{site: sb, raw: sb.Bucket(histRaw), agg: sb.Bucket(histAgg),
		dict: sb.Bucket(histDict), dictUse: sb.Bucket(histDictUse)}
	if s.raw == nil || s.agg == nil || s.dict == nil || s.dictUse == nil {
		return siteBuckets{}, false, fmt.Errorf("history of site %s: bucket missing", site)
	}
	// Keys only ever appended at the end: full pages waste no space.
	s.raw.FillPercent, s.agg.FillPercent = 1, 1
	s.newest, s.hasNewest = parseBinTime(sb.Get(histNewest))
	s.wm, s.hasWM = parseBinTime(sb.Get(histWM))
	s.rawCut, _ = parseBinTime(sb.Get(histRawCut))
	return s, true, nil
}

// keys resolves dictionary id from the cache or the site's dict bucket.
func (s siteBuckets) keys(c *dictCache, id dictID) ([]SeriesKey, error) {
	if keys, ok := c.get(id); ok {
		return keys, nil
	}
	enc := s.dict.Get(id[:])
	if enc == nil {
		return nil, errors.New("series dictionary missing")
	}
	return c.decode(id, enc)
}

// putDict stores a dictionary (if new) and moves its latest use to at.
func (s siteBuckets) putDict(id dictID, enc []byte, at time.Time) error {
	if cur := s.dict.Get(id[:]); cur == nil {
		if err := s.dict.Put(id[:], enc); err != nil {
			return err
		}
	} else if !bytes.Equal(cur, enc) {
		return errDictCollision
	}
	if used, ok := parseBinTime(s.dictUse.Get(id[:])); ok && !used.Before(at) {
		return nil
	}
	return s.dictUse.Put(id[:], binTime(at))
}

// AppendSample adds s to its site's raw history, fenced by l.
func (b *Bolt) AppendSample(ctx context.Context, l Lease, s Sample) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("append sample of %s: %w", s.Site, err)
	}
	id, dict, rec, err := prepareSample(l, s)
	if err != nil {
		return fmt.Errorf("append sample of %s: %w", s.Site, err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		now := b.o.clock()
		if err := checkCurrent(tx, l, now); err != nil {
			return err
		}
		if wall := b.o.wall(); s.Time.After(wall.Add(MaxSampleAhead)) {
			return fmt.Errorf("at %s, the store's clock reads %s: %w", s.Time.Format(time.RFC3339Nano),
				wall.Format(time.RFC3339Nano), ErrSampleAhead)
		}
		sb, _, err := openSite(tx, s.Site, true)
		if err != nil {
			return err
		}
		if (sb.hasNewest && !s.Time.After(sb.newest)) || (sb.hasWM && s.Time.Before(sb.wm)) {
			return fmt.Errorf("at %s, newest is %s: %w", s.Time.Format(time.RFC3339Nano),
				sb.newest.Format(time.RFC3339Nano), ErrSampleOrder)
		}
		if err := sb.putDict(id, dict, s.Time); err != nil {
			return err
		}
		key := binTime(s.Time)
		if err := sb.raw.Put(key, rec); err != nil {
			return err
		}
		return sb.site.Put(histNewest, key)
	})
	if err != nil {
		return fmt.Errorf("append sample of %s: %w", s.Site, err)
	}
	return nil
}

// QueryHistory reads the selected series of q.Site in one transaction.
func (b *Bolt) QueryHistory(ctx context.Context, q HistoryQuery) (History, error) {
	if err := ctx.Err(); err != nil {
		return History{}, fmt.Errorf("query history of %s: %w", q.Site, err)
	}
	if err := checkQuery(q); err != nil {
		return History{}, fmt.Errorf("query history: %w", err)
	}
	hb := newHistBuilder(q)
	step := time.Duration(0)
	err := b.db.View(func(tx *bolt.Tx) error {
		sb, ok, err := openSite(tx, q.Site, false)
		if err != nil || !ok {
			return err
		}
		if useRaw(q, sb.newest, sb.rawCut, b.o.history.raw) {
			b.eachRaw(sb, q.From, q.To, func(t time.Time, keys []SeriesKey, rec []byte) {
				hb.addRaw(t, keys, rec)
			}, &hb.skipped)
			return nil
		}
		step = AggregateStep
		hb.expect(int(min(q.To.Sub(bucketOf(q.From)), b.o.history.agg)/AggregateStep) + 2)
		c := sb.agg.Cursor()
		end := binTime(q.To)
		for k, v := c.Seek(binTime(bucketOf(q.From))); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			t, _ := parseBinTime(k)
			id, _, err := recordHead(v)
			var keys []SeriesKey
			if err == nil {
				keys, err = sb.keys(&b.dicts, id)
			}
			if err != nil {
				hb.skipped++
				continue
			}
			hb.addAggRecord(t, keys, v)
		}
		// Buckets not rolled up yet are rolled up here, from raw samples.
		from := bucketOf(q.From)
		if sb.hasWM && sb.wm.After(from) {
			from = sb.wm
		}
		for _, rb := range rollBuckets(b.decodeRaw(sb, from, q.To, &hb.skipped)) {
			hb.addAgg(rb.start, rb.keys, rb.id, rb.aggs)
		}
		return nil
	})
	if err != nil {
		return History{}, fmt.Errorf("query history of %s: %w", q.Site, err)
	}
	return hb.result(q.Site, step), nil
}

// eachRaw calls fn for each raw sample in [from, to) whose dictionary
// resolves, counting the others in skipped.
func (b *Bolt) eachRaw(sb siteBuckets, from, to time.Time, fn func(time.Time, []SeriesKey, []byte), skipped *int) {
	c := sb.raw.Cursor()
	end := binTime(to)
	for k, v := c.Seek(binTime(from)); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
		t, ok := parseBinTime(k)
		id, _, err := recordHead(v)
		var keys []SeriesKey
		if err == nil && ok {
			keys, err = sb.keys(&b.dicts, id)
		}
		if err != nil || !ok {
			*skipped++
			continue
		}
		fn(t, keys, v)
	}
}

// decodeRaw returns the raw samples in [from, to), decoded.
func (b *Bolt) decodeRaw(sb siteBuckets, from, to time.Time, skipped *int) []decoded {
	var out []decoded
	b.eachRaw(sb, from, to, func(t time.Time, keys []SeriesKey, rec []byte) {
		vals, err := decodeRaw(rec, len(keys))
		if err != nil {
			*skipped++
			return
		}
		out = append(out, decoded{t: t, keys: keys, vals: vals})
	}, skipped)
	return out
}

// Compact rolls up and drops history past retention for every site (one
// transaction per site), then resolved alerts and ended silences.
func (b *Bolt) Compact(ctx context.Context, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if err := checkTime("compaction time", now); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	now = compactNow(now, b.o.wall())
	var sites []string
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktHist).ForEachBucket(func(k []byte) error {
			sites = append(sites, string(k))
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	for _, site := range sites {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		if err := b.db.Update(func(tx *bolt.Tx) error { return b.compactSite(tx, site, now) }); err != nil {
			return fmt.Errorf("compact history of %s: %w", site, err)
		}
	}
	if err := b.pruneWatch(now); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

func (b *Bolt) compactSite(tx *bolt.Tx, site string, now time.Time) error {
	sb, ok, err := openSite(tx, site, false)
	if err != nil || !ok {
		return err
	}
	rawCut, aggCut := now.Add(-b.o.history.raw), now.Add(-b.o.history.agg)
	rolled, skipped := 0, 0
	if sb.hasNewest {
		until := compactBound(sb.newest, rawCut)
		if !sb.hasWM || sb.wm.Before(until) {
			from := minTime
			if sb.hasWM {
				from = sb.wm
			}
			for _, rb := range rollBuckets(b.decodeRaw(sb, from, until, &skipped)) {
				if err := sb.putDict(rb.id, rb.dict, rb.start); err != nil {
					return err
				}
				if err := sb.agg.Put(binTime(rb.start), rb.rec); err != nil {
					return err
				}
				rolled++
			}
			if err := sb.site.Put(histWM, binTime(until)); err != nil {
				return err
			}
		}
	}
	droppedRaw, err := deleteBefore(sb.raw, binTime(rawCut))
	if err != nil {
		return err
	}
	if rawCut.After(sb.rawCut) {
		if err := sb.site.Put(histRawCut, binTime(rawCut)); err != nil {
			return err
		}
	}
	droppedAgg, err := deleteBefore(sb.agg, binTime(aggCut))
	if err != nil {
		return err
	}
	var unused [][]byte
	_ = sb.dictUse.ForEach(func(k, v []byte) error {
		if used, ok := parseBinTime(v); !ok || used.Before(aggCut) {
			unused = append(unused, append([]byte(nil), k...))
		}
		return nil
	})
	for _, k := range unused {
		if err := sb.dictUse.Delete(k); err != nil {
			return err
		}
		if err := sb.dict.Delete(k); err != nil {
			return err
		}
	}
	if rolled > 0 || droppedRaw > 0 || droppedAgg > 0 || skipped > 0 {
		b.o.logger.Debug("history compacted", "backend", "bolt", "site", site, "buckets", rolled,
			"dropped_raw", droppedRaw, "dropped_agg", droppedAgg, "dicts_dropped", len(unused), "skipped", skipped)
	}
	if k, _ := sb.raw.Cursor().First(); k != nil {
		return nil
	}
	if k, _ := sb.agg.Cursor().First(); k != nil {
		return nil
	}
	// Nothing left: the site is gone from the history (a site removed
	// from the configuration leaves nothing behind).
	return tx.Bucket(bktHist).DeleteBucket([]byte(site))
}

// deleteBefore deletes the keys of bkt below bound.
func deleteBefore(bkt *bolt.Bucket, bound []byte) (int, error) {
	var keys [][]byte
	c := bkt.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, bound) < 0; k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	return deleteKeys(bkt, keys)
}
