package loggregator

import (
	"bytes"
	"errors"
	"io"
	"math"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/ingress"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

var statsNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// envelopesWithLags returns envelopes stamped lags before statsNow; a lag
// of -1 means no timestamp.
func envelopesWithLags(lags ...time.Duration) []*loggregator_v2.Envelope {
	envs := make([]*loggregator_v2.Envelope, len(lags))
	for i, l := range lags {
		ts := statsNow.Add(-l).UnixNano()
		if l == -1 {
			ts = 0
		}
		envs[i] = &loggregator_v2.Envelope{Timestamp: ts}
	}
	return envs
}

func TestLagBucketBoundsAsDocumented(t *testing.T) {
	want := [NumLagBuckets]time.Duration{
		time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 500 * time.Millisecond, time.Second, 5 * time.Second,
		10 * time.Second, 30 * time.Second, time.Minute, math.MaxInt64,
	}
	if got := LagBucketBounds(); got != want {
		t.Fatalf("LagBucketBounds() = %v, want %v", got, want)
	}
}

func TestLagHistogramCumulative(t *testing.T) {
	h := LagHistogram{Counts: [NumLagBuckets]uint64{0: 2, 3: 1, 11: 4}, Count: 7}
	want := [NumLagBuckets]uint64{2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 7}
	if got := h.Cumulative(); got != want {
		t.Fatalf("Cumulative() = %v, want %v", got, want)
	}
}

func TestIngressDropsTotal(t *testing.T) {
	if got := (IngressDrops{1, 2, 3, 4, 5}).Total(); got != 15 {
		t.Fatalf("Total() = %d, want 15", got)
	}
}

func TestIngressEmitWaitSaturates(t *testing.T) {
	tests := []struct {
		ns   int64
		want time.Duration
	}{
		{0, 0},
		{1500, 1500},
		{math.MaxInt64, math.MaxInt64},
		{math.MinInt64, math.MaxInt64}, // the sum wrapped
		{-1, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := saturatingNanos(tt.ns); got != tt.want {
			t.Errorf("saturatingNanos(%d) = %v, want %v", tt.ns, got, tt.want)
		}
	}
}

func TestStreamCountersExact(t *testing.T) {
	var c streamCounters
	// Timestamps set in the past: 0.5 ms, 3 ms, 2 s, 90 s; one in the
	// future; one without a timestamp.
	c.received(statsNow, envelopesWithLags(500*time.Microsecond, 3*time.Millisecond, 2*time.Second))
	c.received(statsNow, envelopesWithLags(90*time.Second, -time.Second, -1))
	c.received(statsNow, nil)
	c.addDropped(4)
	c.addDropped(-1) // ignored
	c.addReconnect()
	errStream := errors.New("stream broke")
	c.setError(errStream, statsNow)

	got := c.snapshot()
	want := EnvelopeStreamStats{
		Envelopes: 6, Batches: 3, Dropped: 4, Reconnects: 1,
		LastError: errStream, LastErrorTime: statsNow,
		Lag: LagHistogram{
			// 0.5 ms and the future one (as 0) in le=1ms, 3 ms in le=5ms,
			// 2 s in le=5s, 90 s in +Inf.
			Counts:            [NumLagBuckets]uint64{0: 2, 1: 1, 7: 1, 11: 1},
			Count:             5,
			FutureTimestamps:  1,
			MissingTimestamps: 1,
		},
	}
	wantSum := 0.0005 + 0.003 + 2 + 90
	if math.Abs(got.Lag.SumSeconds-wantSum) > 1e-9 {
		t.Fatalf("lag sum %v s, want %v s", got.Lag.SumSeconds, wantSum)
	}
	got.Lag.SumSeconds = 0
	if got != want {
		t.Fatalf("snapshot:\n got %+v\nwant %+v", got, want)
	}
}

func TestStreamCountersConcurrentSafe(t *testing.T) {
	const streams, batches = 6, 500
	var c streamCounters
	batch := envelopesWithLags(time.Millisecond, 20*time.Millisecond, 7*time.Second)
	var wg sync.WaitGroup
	for w := 0; w < streams; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				c.received(statsNow, batch)
				c.addDropped(1)
				c.addReconnect()
			}
		}()
		go func() {
			defer wg.Done()
			// Fields are not one instant, but each only grows.
			var last EnvelopeStreamStats
			for i := 0; i < batches; i++ {
				s := c.snapshot()
				if s.Envelopes < last.Envelopes || s.Lag.Count < last.Lag.Count || s.Dropped < last.Dropped {
					t.Errorf("counts went backwards: %+v then %+v", last, s)
					return
				}
				last = s
			}
		}()
	}
	wg.Wait()
	s := c.snapshot()
	const n = streams * batches
	if s.Envelopes != 3*n || s.Batches != n || s.Dropped != n || s.Reconnects != n {
		t.Fatalf("got %+v", s)
	}
	if want := [NumLagBuckets]uint64{0: n, 3: n, 8: n}; s.Lag.Counts != want || s.Lag.Count != 3*n {
		t.Fatalf("lag %+v, want counts %v", s.Lag, want)
	}
}

func TestGatewayCountersExact(t *testing.T) {
	var c gatewayCounters
	c.addRequest()
	for i := 0; i < 5; i++ {
		c.addEvent()
	}
	c.addHeartbeat()
	c.addSkipped(skipMalformed)
	c.addSkipped(skipMalformed)
	c.addSkipped(skipOversized)
	c.addSkipped(numGatewaySkipReasons) // unknown: ignored
	c.received(statsNow, envelopesWithLags(40*time.Millisecond, 40*time.Millisecond))
	c.addReconnect(reconnectStatusCode)
	c.addReconnect(reconnectNetwork)
	c.addReconnect(reconnectNetwork)
	c.addReconnect(reconnectClosing)
	c.addReconnect(gatewayReconnectCause(-1)) // unknown: ignored
	c.addRequest()
	body := c.countReads(bytes.NewReader(make([]byte, 1234)))
	if n, err := io.Copy(io.Discard, body); n != 1234 || err != nil {
		t.Fatalf("copy through countReads: %d, %v", n, err)
	}
	c.addBytes(-5) // ignored
	errGateway := errors.New("status 404")
	c.setError(errGateway, statsNow)

	got := c.snapshot()
	want := RLPGatewayStats{
		Envelopes: 2, Events: 5, Heartbeats: 1,
		Skipped:    RLPGatewaySkips{Malformed: 2, Oversized: 1},
		Requests:   2,
		Reconnects: RLPGatewayReconnects{StatusCode: 1, Network: 2, Closing: 1},
		BytesRead:  1234,
		LastError:  errGateway, LastErrorTime: statsNow,
		Lag: LagHistogram{Counts: [NumLagBuckets]uint64{3: 2}, Count: 2},
	}
	if math.Abs(got.Lag.SumSeconds-0.08) > 1e-9 {
		t.Fatalf("lag sum %v s, want 0.08 s", got.Lag.SumSeconds)
	}
	got.Lag.SumSeconds = 0
	if got != want {
		t.Fatalf("snapshot:\n got %+v\nwant %+v", got, want)
	}
	if got.Skipped.Total() != 3 || got.Reconnects.Total() != 4 {
		t.Fatalf("totals: skipped %d reconnects %d, want 3 4", got.Skipped.Total(), got.Reconnects.Total())
	}
}

func TestGatewayCountersConcurrentSafe(t *testing.T) {
	const workers, per = 6, 1000
	var c gatewayCounters
	batch := envelopesWithLags(2 * time.Millisecond)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				c.addEvent()
				c.addHeartbeat()
				c.addSkipped(gatewaySkipReason(i % 2))
				c.addRequest()
				c.addReconnect(gatewayReconnectCause(i % 3))
				c.addBytes(10)
				c.received(statsNow, batch)
				_ = c.snapshot()
			}
		}()
	}
	wg.Wait()
	s := c.snapshot()
	const n = workers * per
	if s.Events != n || s.Heartbeats != n || s.Skipped.Total() != n || s.Requests != n ||
		s.Reconnects.Total() != n || s.BytesRead != 10*n || s.Envelopes != n || s.Lag.Counts[1] != n {
		t.Fatalf("got %+v", s)
	}
}

// TestHotPathsDoNotAllocate guards the 0-allocation promise that lets
// EmitLog stay at 0 allocs/op once the counters are wired in.
func TestHotPathsDoNotAllocate(t *testing.T) {
	var ic ingress.Stats
	var sc streamCounters
	var gc gatewayCounters
	batch := envelopesWithLags(time.Millisecond, time.Second, 2*time.Minute)
	tests := []struct {
		name string
		f    func()
	}{
		{"ingress drop", func() { ic.DroppedFull.Add(1) }},
		{"ingress AddEmitWait", func() { ic.AddEmitWait(time.Millisecond) }},
		{"ingress Drops", func() { _ = ic.Drops() }},
		{"stream received", func() { sc.received(statsNow, batch) }},
		{"stream snapshot", func() { _ = sc.snapshot() }},
		{"gateway received", func() { gc.received(statsNow, batch) }},
		{"gateway addEvent", gc.addEvent},
		{"gateway addSkipped", func() { gc.addSkipped(skipOversized) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Fatalf("%v allocs per call, want 0", n)
			}
		})
	}
}

// BenchmarkStreamCountersReceived100 measures counting a batch of 100
// envelopes with their lag; divide by 100 for the per-envelope cost.
func BenchmarkStreamCountersReceived100(b *testing.B) {
	var c streamCounters
	lags := make([]time.Duration, 100)
	for i := range lags {
		lags[i] = time.Duration(i) * 7 * time.Millisecond
	}
	batch := envelopesWithLags(lags...)
	b.ReportAllocs()
	for b.Loop() {
		c.received(statsNow, batch)
	}
}

func BenchmarkGatewayCountersAddEvent(b *testing.B) {
	var c gatewayCounters
	b.ReportAllocs()
	for b.Loop() {
		c.addEvent()
	}
}
