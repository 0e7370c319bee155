package stats

import (
	"math"
	"sync/atomic"
	"time"
)

// NumBuckets is the number of lag histogram buckets, the last of which
// has no upper bound.
const NumBuckets = 12

// InfBound is the upper bound of the last bucket: it stands for +Inf.
const InfBound = time.Duration(math.MaxInt64)

// bounds are the inclusive upper bounds of the buckets, ascending. A lag
// d falls into the first bucket whose bound is >= d (the Prometheus "le"
// rule).
var bounds = [NumBuckets]time.Duration{
	time.Millisecond,
	5 * time.Millisecond,
	10 * time.Millisecond,
	50 * time.Millisecond,
	100 * time.Millisecond,
	500 * time.Millisecond,
	time.Second,
	5 * time.Second,
	10 * time.Second,
	30 * time.Second,
	time.Minute,
	InfBound,
}

// Bounds returns a copy of the buckets' inclusive upper bounds; the last
// is InfBound.
func Bounds() [NumBuckets]time.Duration { return bounds }

// bucketOf returns the index of the bucket that holds lag d (d >= 0).
func bucketOf(d time.Duration) int {
	// Lags are mostly small, so a linear scan from the low end beats a
	// binary search here.
	for i := 0; i < NumBuckets-1; i++ {
		if d <= bounds[i] {
			return i
		}
	}
	return NumBuckets - 1
}

// Snapshot is a point-in-time copy of a Histogram.
type Snapshot struct {
	// Counts holds the number of observations per bucket (not
	// cumulative).
	Counts [NumBuckets]uint64
	// SumSeconds is the sum of all observed lags in seconds.
	SumSeconds float64
	// Future counts observations whose timestamp was later than the
	// receive time; they were observed as a lag of zero.
	Future uint64
	// Unstamped counts envelopes without a timestamp (zero or negative);
	// they were not observed.
	Unstamped uint64
}

// Count returns the number of observations, the sum of Counts.
func (s Snapshot) Count() uint64 {
	var n uint64
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// Histogram records egress lags, the receive time of an envelope minus
// its timestamp, into the fixed buckets of Bounds. The zero value is
// ready to use.
type Histogram struct {
	counts    [NumBuckets]atomic.Uint64
	sumBits   atomic.Uint64 // float64 seconds
	future    atomic.Uint64
	unstamped atomic.Uint64
}

// Observe records one envelope received at now (Unix nanoseconds) with
// timestamp ts (Unix nanoseconds). A timestamp of zero or less is counted
// as unstamped and not observed; one later than now is observed as a lag
// of zero and counted as future.
func (h *Histogram) Observe(now, ts int64) {
	if ts <= 0 {
		h.unstamped.Add(1)
		return
	}
	d := time.Duration(now - ts)
	if d < 0 {
		h.future.Add(1)
		d = 0
	}
	h.counts[bucketOf(d)].Add(1)
	if d > 0 {
		h.addSum(d.Seconds())
	}
}

// Add merges b into h and resets b for reuse. It costs one atomic
// operation per non-empty bucket of b, whatever the number of
// observations.
func (h *Histogram) Add(b *Batch) {
	for i, c := range b.counts {
		if c != 0 {
			h.counts[i].Add(c)
		}
	}
	if b.sumNanos != 0 {
		h.addSum(b.sumNanos / 1e9)
	}
	if b.future != 0 {
		h.future.Add(b.future)
	}
	if b.unstamped != 0 {
		h.unstamped.Add(b.unstamped)
	}
	*b = Batch{}
}

// addSum adds s seconds to the sum. A float64 sum cannot overflow: an
// integer count of nanoseconds would, after a few weeks of a busy nozzle.
func (h *Histogram) addSum(s float64) {
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+s)) {
			return
		}
	}
}

// Snapshot returns the current values.
func (h *Histogram) Snapshot() Snapshot {
	var s Snapshot
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	s.SumSeconds = math.Float64frombits(h.sumBits.Load())
	s.Future = h.future.Load()
	s.Unstamped = h.unstamped.Load()
	return s
}

// Batch accumulates lag observations in one goroutine without atomic
// operations, to be merged into a Histogram with Histogram.Add once per
// received batch of envelopes. The zero value is ready to use; a Batch is
// not safe for concurrent use.
type Batch struct {
	counts    [NumBuckets]uint64
	sumNanos  float64
	future    uint64
	unstamped uint64
}

// Observe records one envelope as Histogram.Observe does.
func (b *Batch) Observe(now, ts int64) {
	if ts <= 0 {
		b.unstamped++
		return
	}
	d := time.Duration(now - ts)
	if d < 0 {
		b.future++
		d = 0
	}
	b.counts[bucketOf(d)]++
	b.sumNanos += float64(d)
}
