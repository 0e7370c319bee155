package stats

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const now = int64(1_800_000_000_000_000_000) // a fixed receive time, Unix ns

func TestBoundsAscendingAndEndInInf(t *testing.T) {
	b := Bounds()
	for i := 1; i < NumBuckets; i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("bound %d (%v) not above bound %d (%v)", i, b[i], i-1, b[i-1])
		}
	}
	if b[NumBuckets-1] != InfBound {
		t.Fatalf("last bound %v, want InfBound", b[NumBuckets-1])
	}
	b[0] = time.Hour
	if Bounds()[0] != time.Millisecond {
		t.Fatal("Bounds returned the package's array, not a copy")
	}
}

func TestObserveBuckets(t *testing.T) {
	tests := []struct {
		name       string
		lag        time.Duration
		wantBucket int
	}{
		{"zero", 0, 0},
		{"just below 1ms", time.Millisecond - 1, 0},
		{"exactly 1ms is in le=1ms", time.Millisecond, 0},
		{"1ms plus 1ns", time.Millisecond + 1, 1},
		{"5ms", 5 * time.Millisecond, 1},
		{"7ms", 7 * time.Millisecond, 2},
		{"50ms", 50 * time.Millisecond, 3},
		{"99ms", 99 * time.Millisecond, 4},
		{"300ms", 300 * time.Millisecond, 5},
		{"1s", time.Second, 6},
		{"2s", 2 * time.Second, 7},
		{"10s", 10 * time.Second, 8},
		{"29s", 29 * time.Second, 9},
		{"60s", time.Minute, 10},
		{"61s", 61 * time.Second, 11},
		{"a year", 365 * 24 * time.Hour, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			var b Batch
			h.Observe(now, now-int64(tt.lag))
			b.Observe(now, now-int64(tt.lag))
			var hb Histogram
			hb.Add(&b)
			for name, s := range map[string]Snapshot{"Observe": h.Snapshot(), "Batch": hb.Snapshot()} {
				for i, c := range s.Counts {
					want := uint64(0)
					if i == tt.wantBucket {
						want = 1
					}
					if c != want {
						t.Errorf("%s: bucket %d (le %v) = %d, want %d", name, i, Bounds()[i], c, want)
					}
				}
				if got, want := s.SumSeconds, tt.lag.Seconds(); math.Abs(got-want) > 1e-9*math.Max(1, want) {
					t.Errorf("%s: sum %v s, want %v s", name, got, want)
				}
				if s.Count() != 1 || s.Future != 0 || s.Unstamped != 0 {
					t.Errorf("%s: count %d future %d unstamped %d, want 1 0 0", name, s.Count(), s.Future, s.Unstamped)
				}
			}
		})
	}
}

func TestObserveFutureAndUnstamped(t *testing.T) {
	tests := []struct {
		name          string
		ts            int64
		wantCount     uint64
		wantFuture    uint64
		wantUnstamped uint64
	}{
		{"timestamp ahead of receive time", now + int64(time.Second), 1, 1, 0},
		{"zero timestamp", 0, 0, 0, 1},
		{"negative timestamp", -5, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			var b Batch
			h.Observe(now, tt.ts)
			b.Observe(now, tt.ts)
			var hb Histogram
			hb.Add(&b)
			for name, s := range map[string]Snapshot{"Observe": h.Snapshot(), "Batch": hb.Snapshot()} {
				if s.Count() != tt.wantCount || s.Future != tt.wantFuture || s.Unstamped != tt.wantUnstamped {
					t.Errorf("%s: count %d future %d unstamped %d, want %d %d %d", name,
						s.Count(), s.Future, s.Unstamped, tt.wantCount, tt.wantFuture, tt.wantUnstamped)
				}
				if tt.wantCount == 1 && s.Counts[0] != 1 {
					t.Errorf("%s: future timestamp not observed as zero lag: %v", name, s.Counts)
				}
				if s.SumSeconds != 0 {
					t.Errorf("%s: sum %v, want 0", name, s.SumSeconds)
				}
			}
		})
	}
}

func TestBatchResetByAdd(t *testing.T) {
	var h Histogram
	var b Batch
	b.Observe(now, now-int64(time.Second))
	b.Observe(now, 0)
	b.Observe(now, now+1)
	h.Add(&b)
	if b != (Batch{}) {
		t.Fatalf("Batch not reset after Add: %+v", b)
	}
	h.Add(&b) // an empty batch adds nothing
	s := h.Snapshot()
	if s.Count() != 2 || s.Future != 1 || s.Unstamped != 1 || s.SumSeconds != 1 {
		t.Fatalf("got count %d future %d unstamped %d sum %v, want 2 1 1 1", s.Count(), s.Future, s.Unstamped, s.SumSeconds)
	}
}

// TestHistogramConcurrentSafe has writers observe singly and in batches
// while a reader takes snapshots; the final counts are exact and no
// snapshot ever goes backwards.
func TestHistogramConcurrentSafe(t *testing.T) {
	const writers, perWriter = 8, 5000
	var h Histogram
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		var last uint64
		for {
			select {
			case <-stop:
				readerErr <- nil
				return
			default:
			}
			n := h.Snapshot().Count()
			if n < last {
				readerErr <- fmt.Errorf("count went from %d to %d", last, n)
				return
			}
			last = n
		}
	}()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var b Batch
			for i := 0; i < perWriter; i++ {
				lag := int64(i%4) * int64(time.Second) // 0, 1, 2, 3 s
				if w%2 == 0 {
					h.Observe(now, now-lag)
					continue
				}
				b.Observe(now, now-lag)
				if i%100 == 99 {
					h.Add(&b)
				}
			}
			h.Add(&b)
		}(w)
	}
	wg.Wait()
	close(stop)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	s := h.Snapshot()
	const total = writers * perWriter
	if s.Count() != total {
		t.Fatalf("count %d, want %d", s.Count(), total)
	}
	// A quarter each of 0 s (bucket 0), 1 s (bucket 6), 2 s and 3 s (bucket 7).
	want := [NumBuckets]uint64{0: total / 4, 6: total / 4, 7: total / 2}
	if s.Counts != want {
		t.Fatalf("counts %v, want %v", s.Counts, want)
	}
	if wantSum := float64(total / 4 * (0 + 1 + 2 + 3)); s.SumSeconds != wantSum {
		t.Fatalf("sum %v, want %v", s.SumSeconds, wantSum)
	}
}

func TestMaxConcurrentSafe(t *testing.T) {
	var m Max
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				m.Observe(int64(w*1000 + i))
			}
		}(w)
	}
	wg.Wait()
	if got := m.Load(); got != 7999 {
		t.Fatalf("max %d, want 7999", got)
	}
	m.Observe(-1)
	if got := m.Load(); got != 7999 {
		t.Fatalf("a smaller value changed the max to %d", got)
	}
}

func TestLastError(t *testing.T) {
	var l LastError
	if at, err := l.Load(); err != nil || !at.IsZero() {
		t.Fatalf("zero LastError holds %v at %v", err, at)
	}
	e1 := errors.New("first")
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	l.Set(e1, t1)
	l.Set(nil, t1.Add(time.Hour))
	if at, err := l.Load(); err != e1 || !at.Equal(t1) {
		t.Fatalf("got %v at %v, want %v at %v (nil must not erase)", err, at, e1, t1)
	}
}

func TestLastErrorConcurrentSafe(t *testing.T) {
	var l LastError
	errs := make([]error, 8)
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var wg sync.WaitGroup
	for w := range errs {
		errs[w] = fmt.Errorf("writer %d", w)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				l.Set(errs[w], base.Add(time.Duration(w)*time.Second))
				// Every pair read must be one that was written together.
				at, err := l.Load()
				var idx int
				if _, scanErr := fmt.Sscanf(err.Error(), "writer %d", &idx); scanErr != nil || !at.Equal(base.Add(time.Duration(idx)*time.Second)) {
					t.Errorf("torn read: %v at %v", err, at)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

func FuzzBatchMatchesObserve(f *testing.F) {
	f.Add(now, now-1_000_000)
	f.Add(now, int64(0))
	f.Add(now, now+1)
	f.Add(int64(1), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, rt, ts int64) {
		if rt <= 0 {
			return // receive times are wall-clock times after 1970
		}
		var h, hb Histogram
		var b Batch
		h.Observe(rt, ts)
		b.Observe(rt, ts)
		hb.Add(&b)
		s, sb := h.Snapshot(), hb.Snapshot()
		if s.Counts != sb.Counts || s.Future != sb.Future || s.Unstamped != sb.Unstamped {
			t.Fatalf("Observe %+v and Batch %+v differ", s, sb)
		}
		if s.Count()+s.Unstamped != 1 {
			t.Fatalf("one envelope recorded as count %d unstamped %d", s.Count(), s.Unstamped)
		}
		if s.SumSeconds < 0 || math.IsNaN(s.SumSeconds) {
			t.Fatalf("bad sum %v", s.SumSeconds)
		}
	})
}

func BenchmarkHistogramObserve(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	ts := now - int64(3*time.Millisecond)
	for b.Loop() {
		h.Observe(now, ts)
	}
}

func BenchmarkHistogramObserveParallel(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	ts := now - int64(3*time.Millisecond)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe(now, ts)
		}
	})
}

// BenchmarkBatchObserve measures the per-envelope cost when a stream
// goroutine accumulates a batch of 100 and merges it once.
func BenchmarkBatchObserve(b *testing.B) {
	var h Histogram
	var bt Batch
	b.ReportAllocs()
	ts := now - int64(3*time.Millisecond)
	i := 0
	for b.Loop() {
		bt.Observe(now, ts)
		if i++; i == 100 {
			h.Add(&bt)
			i = 0
		}
	}
}

func BenchmarkMaxObserve(b *testing.B) {
	var m Max
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		i++
		m.Observe(i & 1023)
	}
}
