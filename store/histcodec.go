package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// The history's stored forms. A site's samples do not repeat their series
// names: each record names a series dictionary (the sorted SeriesKeys of
// the sample) by its content hash and then holds one value per entry, in
// dictionary order. A site keeps the same series from one sample to the
// next, so its dictionaries are few and each is stored once.
//
//	dictionary   1 (format), uvarint count, per key 3 x (uvarint length, bytes)
//	raw sample   1 (format), 8-byte dictionary id, uvarint count, values
//	aggregate    1 (format), 8-byte dictionary id, uvarint count, per series
//	             uvarint(n<<1 | constant), then, when n > 0, the value if
//	             constant (min = max = last = avg) else min, max, sum, last
//
// A value is uvarint(zigzag(x)<<2 | tag): tag 0, the whole number x; tag 1,
// x thousandths; tag 2 (x = 0), not measured (NaN); tag 3 (x = 0), the 8
// bytes of a float64 follow. Whole numbers below 16 take one byte, so a
// sample of mostly idle virtual proxies is about one byte per series.
const histFormat = 1

// dictID names a series dictionary: the first 8 bytes of the SHA-256 of
// its encoding. Dictionaries never change, so an id means the same keys
// for as long as it is stored, on every replica.
type dictID [8]byte

const (
	valInt     = 0
	valMilli   = 1
	valMissing = 2
	valFloat   = 3
	maxExact   = 1 << 53 // whole numbers up to this are exact in a float64
)

var errShortRecord = errors.New("short history record")

func encodeDict(keys []SeriesKey) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(keys)*24)
	b = append(b, histFormat)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		for _, s := range [3]string{k.Metric, k.Proxy, k.Node} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

func decodeDict(b []byte) ([]SeriesKey, error) {
	if len(b) == 0 || b[0] != histFormat {
		return nil, errors.New("series dictionary: unknown format")
	}
	b = b[1:]
	n, b, err := readUvarint(b)
	if err != nil || n > MaxSeries {
		return nil, fmt.Errorf("series dictionary: bad count")
	}
	keys := make([]SeriesKey, n)
	for i := range keys {
		var f [3]string
		for j := range f {
			l, rest, err := readUvarint(b)
			if err != nil || l > maxLabelLen || l > uint64(len(rest)) {
				return nil, fmt.Errorf("series dictionary: bad entry %d", i)
			}
			f[j], b = string(rest[:l]), rest[l:]
		}
		keys[i] = SeriesKey{Metric: f[0], Proxy: f[1], Node: f[2]}
	}
	if len(b) != 0 {
		return nil, errors.New("series dictionary: trailing bytes")
	}
	return keys, nil
}

func dictIDOf(enc []byte) dictID {
	sum := sha256.Sum256(enc)
	return dictID(sum[:8])
}

func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, valMissing)
	case v == math.Trunc(v) && math.Abs(v) < maxExact:
		return binary.AppendUvarint(b, zigzag(int64(v))<<2|valInt)
	}
	if m := math.Round(v * 1000); math.Abs(m) < maxExact && m/1000 == v {
		return binary.AppendUvarint(b, zigzag(int64(m))<<2|valMilli)
	}
	b = append(b, valFloat)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

func readValue(b []byte) (float64, []byte, error) {
	x, b, err := readUvarint(b)
	if err != nil {
		return 0, nil, err
	}
	n := unzigzag(x >> 2)
	switch x & 3 {
	case valInt:
		return float64(n), b, nil
	case valMilli:
		return float64(n) / 1000, b, nil
	case valMissing:
		return math.NaN(), b, nil
	}
	if x != valFloat || len(b) < 8 {
		return 0, nil, errShortRecord
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
}

func zigzag(n int64) uint64   { return uint64(n<<1) ^ uint64(n>>63) }
func unzigzag(x uint64) int64 { return int64(x>>1) ^ -int64(x&1) }

func readUvarint(b []byte) (uint64, []byte, error) {
	x, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errShortRecord
	}
	return x, b[n:], nil
}

// recordHead reads the format byte and dictionary id that start a raw or
// aggregate record.
func recordHead(b []byte) (dictID, []byte, error) {
	if len(b) < 9 || b[0] != histFormat {
		return dictID{}, nil, errors.New("history record: unknown format")
	}
	return dictID(b[1:9]), b[9:], nil
}

// appendHead starts a raw or aggregate record of n series, with room for
// about per bytes each.
func appendHead(id dictID, n, per int) []byte {
	b := make([]byte, 0, 9+binary.MaxVarintLen64+n*per)
	b = append(b, histFormat)
	b = append(b, id[:]...)
	return binary.AppendUvarint(b, uint64(n))
}

// recordBody checks the head of a raw or aggregate record for n series and
// returns what follows it.
func recordBody(b []byte, n int, what string) ([]byte, error) {
	_, b, err := recordHead(b)
	if err != nil {
		return nil, err
	}
	count, b, err := readUvarint(b)
	if err != nil || count != uint64(n) {
		return nil, fmt.Errorf("%s: %d values for %d series", what, count, n)
	}
	return b, nil
}

func encodeRaw(id dictID, vals []float64) []byte {
	b := appendHead(id, len(vals), 2)
	for _, v := range vals {
		b = appendValue(b, v)
	}
	return b
}

// decodeRaw returns the values of a raw record whose dictionary has n keys.
func decodeRaw(b []byte, n int) ([]float64, error) {
	b, err := recordBody(b, n, "raw sample")
	if err != nil {
		return nil, err
	}
	vals := make([]float64, n)
	for i := range vals {
		if vals[i], b, err = readValue(b); err != nil {
			return nil, fmt.Errorf("raw sample value %d: %w", i, err)
		}
	}
	if len(b) != 0 {
		return nil, errors.New("raw sample: trailing bytes")
	}
	return vals, nil
}

// agg is one series' aggregate over a bucket; n = 0 means no value.
type agg struct {
	n                   int
	min, max, sum, last float64
}

func (a *agg) add(v float64) {
	if math.IsNaN(v) {
		return
	}
	if a.n == 0 || v < a.min {
		a.min = v
	}
	if a.n == 0 || v > a.max {
		a.max = v
	}
	a.n++
	a.sum += v
	a.last = v
}

func (a agg) point(t time.Time) Point {
	avg := a.sum / float64(a.n)
	if a.min == a.max {
		avg = a.min
	}
	return Point{Time: t, Min: a.min, Max: a.max, Avg: avg, Last: a.last, N: a.n}
}

func encodeAgg(id dictID, aggs []agg) []byte {
	b := appendHead(id, len(aggs), 3)
	for _, a := range aggs {
		if a.n == 0 {
			b = append(b, 0)
			continue
		}
		if a.min == a.max {
			b = binary.AppendUvarint(b, uint64(a.n)<<1|1)
			b = appendValue(b, a.min)
			continue
		}
		b = binary.AppendUvarint(b, uint64(a.n)<<1)
		for _, v := range [4]float64{a.min, a.max, a.sum, a.last} {
			b = appendValue(b, v)
		}
	}
	return b
}

// decodeAgg returns the aggregates of a record whose dictionary has n keys.
func decodeAgg(b []byte, n int) ([]agg, error) {
	out := make([]agg, n)
	err := eachAgg(b, n, func(i int, a agg) { out[i] = a })
	return out, err
}

// eachAgg calls fn with each aggregate of a record whose dictionary has n
// keys, in order; on an error fn may have seen part of the record.
func eachAgg(b []byte, n int, fn func(i int, a agg)) error {
	b, err := recordBody(b, n, "aggregate")
	if err != nil {
		return err
	}
	for i := range n {
		var head uint64
		if head, b, err = readUvarint(b); err != nil || head>>1 > math.MaxInt32 {
			return fmt.Errorf("aggregate %d: bad count", i)
		}
		a := agg{n: int(head >> 1)}
		switch {
		case a.n == 0:
		case head&1 == 1:
			if a.min, b, err = readValue(b); err != nil {
				return fmt.Errorf("aggregate %d: %w", i, err)
			}
			a.max, a.last, a.sum = a.min, a.min, a.min*float64(a.n)
		default:
			for _, p := range []*float64{&a.min, &a.max, &a.sum, &a.last} {
				if *p, b, err = readValue(b); err != nil {
					return fmt.Errorf("aggregate %d: %w", i, err)
				}
			}
		}
		fn(i, a)
	}
	if len(b) != 0 {
		return errors.New("aggregate: trailing bytes")
	}
	return nil
}

// decoded is a raw sample read back: its time, keys and values.
type decoded struct {
	t    time.Time
	keys []SeriesKey
	vals []float64
}

// rollUp aggregates samples (all in one bucket) over the union of their
// series; it returns the sorted keys and an aggregate per key.
func rollUp(samples []decoded) ([]SeriesKey, []agg) {
	index := map[SeriesKey]int{}
	var keys []SeriesKey
	for _, s := range samples {
		for _, k := range s.keys {
			if _, ok := index[k]; !ok {
				index[k] = 0
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, compareKeys)
	for i, k := range keys {
		index[k] = i
	}
	aggs := make([]agg, len(keys))
	for _, s := range samples {
		for i, k := range s.keys {
			aggs[index[k]].add(s.vals[i])
		}
	}
	return keys, aggs
}

// rolledBucket is one bucket's aggregate, encoded for storing.
type rolledBucket struct {
	start   time.Time
	keys    []SeriesKey
	aggs    []agg
	dict    []byte // the dictionary's encoding
	id      dictID
	rec     []byte // the aggregate record
	samples int
}

// rollBuckets groups decoded samples (in time order) by bucket and
// aggregates each.
func rollBuckets(samples []decoded) []rolledBucket {
	var out []rolledBucket
	for i := 0; i < len(samples); {
		start := bucketOf(samples[i].t)
		j := i
		for j < len(samples) && bucketOf(samples[j].t).Equal(start) {
			j++
		}
		keys, aggs := rollUp(samples[i:j])
		dict := encodeDict(keys)
		id := dictIDOf(dict)
		out = append(out, rolledBucket{start: start, keys: keys, aggs: aggs, dict: dict, id: id,
			rec: encodeAgg(id, aggs), samples: j - i})
		i = j
	}
	return out
}
