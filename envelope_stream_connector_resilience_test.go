package loggregator_test

import (
	"context"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// dialCounter is a grpc dialer that records when each connection attempt
// was made.
type dialCounter struct {
	mu    sync.Mutex
	times []time.Time
}

func (d *dialCounter) dial(ctx context.Context, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.times = append(d.times, time.Now())
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", addr)
}

// between returns the attempts made in [from, to).
func (d *dialCounter) between(from, to time.Time) []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []time.Time
	for _, t := range d.times {
		if !t.Before(from) && t.Before(to) {
			out = append(out, t)
		}
	}
	return out
}

// maxInWindow returns the most attempts within any window of length w.
func maxInWindow(times []time.Time, w time.Duration) int {
	best := 0
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < w; j++ {
			n++
		}
		best = max(best, n)
	}
	return best
}

// streamReader calls an EnvelopeStream in a loop and hands every envelope
// over with the time it arrived.
type arrival struct {
	env *loggregator_v2.Envelope
	at  time.Time
}

func readInBackground(s loggregator.EnvelopeStream) <-chan arrival {
	ch := make(chan arrival, 1000)
	go func() {
		defer close(ch)
		for {
			b := s()
			if b == nil {
				return
			}
			now := time.Now()
			for _, e := range b {
				ch <- arrival{e, now}
			}
		}
	}()
	return ch
}

// waitForArrival reads arrivals until one from source id arrives.
func waitForArrival(t *testing.T, ctx context.Context, ch <-chan arrival, id string) arrival {
	t.Helper()
	for {
		select {
		case a, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended while waiting for %q", id)
			}
			if a.env.GetSourceId() == id {
				return a
			}
		case <-ctx.Done():
			t.Fatalf("no envelope %q before the deadline", id)
		}
	}
}

// TestEnvelopeStreamConnectorRecoversFromOutage stops the server for 4 s
// and restarts it on the same address, 10 times: data must flow again
// within 1 s of each restart, with at most 3 connection attempts a second
// while the server is away.
func TestEnvelopeStreamConnectorRecoversFromOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 45 s")
	}
	const reps, outage = 10, 4 * time.Second
	srv, certs := startEgress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dials := &dialCounter{}
	logger := &recordingLogger{t: t}
	s := newConnector(srv, certs,
		loggregator.WithEnvelopeStreamLogger(logger),
		loggregator.WithEnvelopeStreamConnectorDialOptions(grpc.WithContextDialer(dials.dial)),
	).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
	arrivals := readInBackground(s)

	var recoveries []time.Duration
	for i := 0; i < reps; i++ {
		srv.Send(logEnvelope("before", i))
		waitForArrival(t, ctx, arrivals, "before")
		down := time.Now()
		if err := srv.Suspend(); err != nil {
			t.Fatal(err)
		}
		srv.Send(logEnvelope("after", i)) // queued until a stream opens
		select {                          // the outage itself, not a synchronisation
		case <-time.After(outage):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		up := time.Now()
		attempts := dials.between(down, up)
		if err := srv.Resume(); err != nil {
			t.Fatal(err)
		}
		a := waitForArrival(t, ctx, arrivals, "after")
		recoveries = append(recoveries, a.at.Sub(up))
		rate := float64(len(attempts)) / up.Sub(down).Seconds()
		t.Logf("repetition %d: data again %v after the restart; %d connection attempts in %v down (%.2f/s, at most %d in any 1 s)",
			i+1, a.at.Sub(up).Round(time.Millisecond), len(attempts), up.Sub(down).Round(time.Millisecond), rate, maxInWindow(attempts, time.Second))
		if rate > 3 {
			t.Errorf("repetition %d: %.2f connection attempts per second while down, want at most 3", i+1, rate)
		}
		if len(attempts) < 2 {
			t.Errorf("repetition %d: only %d connection attempts while down: not trying", i+1, len(attempts))
		}
	}
	slices.Sort(recoveries)
	t.Logf("data again after: min %v, median %v, max %v; %d log lines", recoveries[0], recoveries[len(recoveries)/2], recoveries[len(recoveries)-1], len(logger.Lines()))
	for _, r := range recoveries {
		if r > time.Second {
			t.Errorf("data flowed again %v after a restart, want within 1 s (all: %v)", r, recoveries)
			break
		}
	}
}

// TestEnvelopeStreamConnectorCleanEndReconnectsAtOnce ends the stream the
// way a healthy server does, and checks that the next stream is opened at
// once rather than after a backoff delay: the first time while the stream
// is young, then after it has been open for EnvelopeStreamHealthyAfter.
func TestEnvelopeStreamConnectorCleanEndReconnectsAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		opts    []testhelpers.EgressServerOption
		endIt   func(srv *testhelpers.EgressServer)
		maxWait time.Duration
	}{
		{"routine close", nil, (*testhelpers.EgressServer).EndStreams, 50 * time.Millisecond},
		{"GOAWAY after max connection age", []testhelpers.EgressServerOption{
			testhelpers.WithEgressServerOptions(grpc.KeepaliveParams(keepalive.ServerParameters{
				MaxConnectionAge:      1500 * time.Millisecond,
				MaxConnectionAgeGrace: 100 * time.Millisecond,
			})),
		}, nil, 75 * time.Millisecond}, // a new connection: TLS handshake included
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs := testhelpers.NewCerts(t)
			srv, err := testhelpers.NewEgressServer(certs, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			logger := &recordingLogger{t: t}
			s := newConnector(srv, certs, loggregator.WithEnvelopeStreamLogger(logger)).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			arrivals := readInBackground(s)
			const rounds = 3
			for i := 0; i < rounds; i++ {
				srv.Send(logEnvelope("data", i))
				waitForArrival(t, ctx, arrivals, "data")
				if i > 0 && tt.endIt != nil { // let the stream grow old: the scenario, not a synchronisation
					spans := srv.StreamSpans()
					select {
					case <-time.After(time.Until(spans[len(spans)-1].Opened.Add(loggregator.EnvelopeStreamHealthyAfter + 100*time.Millisecond))):
					case <-ctx.Done():
						t.Fatal(ctx.Err())
					}
				}
				if tt.endIt != nil {
					tt.endIt(srv)
				}
				if err := srv.WaitForAttempts(ctx, i+2); err != nil {
					t.Fatalf("no new stream after round %d: %v", i, err)
				}
			}
			srv.Send(logEnvelope("last", 0))
			waitForArrival(t, ctx, arrivals, "last")
			spans := srv.StreamSpans()
			var gaps []time.Duration
			for i := 1; i < len(spans) && i <= rounds; i++ {
				gaps = append(gaps, spans[i].Opened.Sub(spans[i-1].Closed))
			}
			t.Logf("gaps between a stream's end and the next stream: %v; log %q", gaps, logger.Lines())
			// The median, so that one scheduling hiccup on a busy machine
			// does not fail the test; any backoff delay (at least 80 ms
			// before this change) shows in every gap.
			slices.Sort(gaps)
			if med := gaps[len(gaps)/2]; med > tt.maxWait {
				t.Fatalf("median gap %v (all %v), want at most %v: a backoff delay was added", med, gaps, tt.maxWait)
			}
		})
	}
}

// TestEnvelopeStreamConnectorNoHotLoopOnImmediateEnds: a server that ends
// every stream cleanly as soon as it opens gets a few attempts a second,
// not a storm, and the connector keeps trying.
func TestEnvelopeStreamConnectorNoHotLoopOnImmediateEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 5 s")
	}
	srv, certs := startEgress(t)
	srv.EndStreamsAtOnce(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	streamCtx, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	s := newConnector(srv, certs).Stream(streamCtx, &loggregator_v2.EgressBatchRequest{})
	start := time.Now()
	if got := s(); got != nil {
		t.Fatalf("got %v from a server that sends nothing", got)
	}
	elapsed := time.Since(start)
	spans := srv.StreamSpans()
	opened := make([]time.Time, len(spans))
	for i, sp := range spans {
		opened[i] = sp.Opened
	}
	rate := float64(len(spans)) / elapsed.Seconds()
	t.Logf("%d streams in %v (%.2f/s, at most %d in any 1 s)", len(spans), elapsed, rate, maxInWindow(opened, time.Second))
	if rate > 3 {
		t.Errorf("%.2f streams per second, want at most 3", rate)
	}
	if last := spans[len(spans)-1].Opened; elapsed > 2*time.Second && last.Before(start.Add(elapsed/2)) {
		t.Errorf("no stream in the second half of the run: the connector gave up")
	}
}

// heapSampler records the live heap (after a forced GC) and the heap
// including garbage while a test runs.
type heapSampler struct {
	base      uint64
	peakLive  uint64
	peakAlloc uint64
}

func newHeapSampler() *heapSampler {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return &heapSampler{base: m.HeapAlloc}
}

func (h *heapSampler) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peakAlloc = max(h.peakAlloc, m.HeapAlloc)
	runtime.GC()
	runtime.ReadMemStats(&m)
	h.peakLive = max(h.peakLive, m.HeapAlloc)
}

const mib = 1 << 20

// TestEnvelopeStreamConnectorMemoryBound feeds 4 MiB messages of empty
// envelopes (about 240 MiB each once decoded) to a consumer that takes one
// batch and then stalls, and checks the live heap against the documented
// bound: per batch EnvelopeStreamMaxBatchBytes of estimate (plus one
// envelope), 6 batches unbuffered or the buffer's 100 plus 2, plus the
// 4 MiB message being handed out and gRPC's flow-control window (16 MiB
// at most).
func TestEnvelopeStreamConnectorMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes tens of millions of envelopes")
	}
	const messages = 8
	n := (4*mib - 16) / 2 // an empty envelope is 2 bytes on the wire
	one := &loggregator_v2.Envelope{}
	envs := make([]*loggregator_v2.Envelope, n)
	for i := range envs {
		envs[i] = one
	}
	batchBound := uint64(loggregator.EnvelopeStreamMaxBatchBytes + 512)
	tests := []struct {
		name    string
		opts    func(alert func(int)) []loggregator.EnvelopeStreamOption
		batches uint64
	}{
		{"unbuffered", func(func(int)) []loggregator.EnvelopeStreamOption { return nil }, 6},
		{"buffer of 100", func(alert func(int)) []loggregator.EnvelopeStreamOption {
			return []loggregator.EnvelopeStreamOption{loggregator.WithEnvelopeStreamBuffer(100, alert)}
		}, 102},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, certs := startEgress(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := srv.SendRepeated(envs, messages); err != nil {
				t.Fatal(err)
			}
			var dropped int
			var mu sync.Mutex
			alert := func(k int) { mu.Lock(); dropped += k; mu.Unlock() }
			heap := newHeapSampler()
			s := newConnector(srv, certs, tt.opts(alert)...).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			if got := s(); len(got) == 0 {
				t.Fatal("no first batch")
			}
			// Stalled: the batch is kept and the stream not called again
			// for 3 s, while the connector does whatever it does.
			stall := time.NewTimer(3 * time.Second)
			tick := time.NewTicker(50 * time.Millisecond)
			for waiting := true; waiting; {
				select {
				case <-stall.C:
					waiting = false
				case <-tick.C:
					heap.sample()
				}
			}
			tick.Stop()
			heap.sample()
			bound := tt.batches*batchBound + 4*mib + 16*mib
			live := heap.peakLive - min(heap.peakLive, heap.base)
			t.Logf("peak live heap %.1f MiB above the %.1f MiB baseline (peak with garbage %.1f MiB); documented bound %.1f MiB; server has %d of %d messages left",
				float64(live)/mib, float64(heap.base)/mib, float64(heap.peakAlloc-min(heap.peakAlloc, heap.base))/mib, float64(bound)/mib, srv.Pending(), messages)
			if live > bound {
				t.Errorf("live heap grew by %.1f MiB, bound %.1f MiB", float64(live)/mib, float64(bound)/mib)
			}
			// The consumer resumes: the next call reports the drops.
			if got := s(); len(got) == 0 {
				t.Fatal("no batch after the stall")
			}
			cancel()
			mu.Lock()
			t.Logf("alerter reported %d dropped batches", dropped)
			if tt.batches > 6 && dropped == 0 {
				t.Errorf("the buffer dropped nothing while stalled")
			}
			mu.Unlock()
		})
	}
}
