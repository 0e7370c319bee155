package loggregator_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// sseServer is an in-process HTTP server on 127.0.0.1 whose handler writes
// what serve writes, recording the time of every request.
type sseServer struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
}

func newSSEServer(t testing.TB, serve func(w http.ResponseWriter, r *http.Request, n int)) *sseServer {
	t.Helper()
	s := &sseServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.times = append(s.times, time.Now())
		n := len(s.times)
		s.mu.Unlock()
		serve(w, r, n)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(s.Client().CloseIdleConnections)
	return s
}

func (s *sseServer) requests() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// writeSSE writes a 200 event-stream answer with the given frames.
func writeSSE(w http.ResponseWriter, frames ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, f := range frames {
		_, _ = w.Write([]byte(f))
	}
	w.(http.Flusher).Flush()
}

const closingFrame = "event: closing\ndata: closing due to stream timeout\n\n"

// TestRLPGatewayClientClosingLoopRate: a gateway (or proxy) that ends every
// stream with a closing event, at once or after a heartbeat, or that ends
// every stream after one event, gets at most one request per second, and such 200 answers never exhaust
// WithRLPGatewayMaxRetries (each resets the count of failures). Before the
// fix the heartbeat-then-closing loop got about 8,200 requests/s.
func TestRLPGatewayClientClosingLoopRate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 10 s")
	}
	const window = 10 * time.Second
	tests := []struct {
		name   string
		frames []string
	}{
		{"closing only", []string{closingFrame}},
		{"heartbeat then closing", []string{"event: heartbeat\ndata: 1700000000\n\n", closingFrame}},
		// Streams that end without a closing event after some event
		// count as ended cleanly, too.
		{"heartbeat then end", []string{"event: heartbeat\ndata: 1700000000\n\n"}},
		{"data then end", []string{`data: {"batch":[{"timestamp":"1"}]}` + "\n\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*window)
			defer cancel()
			srv := newSSEServer(t, func(w http.ResponseWriter, r *http.Request, n int) { writeSSE(w, tt.frames...) })
			errs := make(chan error, 10)
			// Request times as the client makes them (the server sees
			// the first one later, after the connection is set up).
			attempts := &attemptLog{next: srv.Client()}
			c := loggregator.NewRLPGatewayClient(srv.URL,
				loggregator.WithRLPGatewayHTTPClient(attempts),
				loggregator.WithRLPGatewayMaxRetries(1),
				loggregator.WithRLPGatewayErrChan(errs))
			sctx, scancel := context.WithCancel(ctx)
			start := time.Now()
			stream := c.Stream(sctx, logsRequest())
			done := make(chan int, 1)
			go func() {
				n := 0
				for got := stream(); got != nil; got = stream() {
					n += len(got)
				}
				done <- n
			}()
			waitWindow(ctx, window)
			reqs := attempts.between(start, start.Add(window))
			scancel()
			if got := <-done; got > len(srv.requests()) {
				t.Fatalf("got %d envelopes from %d requests", got, len(reqs))
			}
			n, tooSoon := 0, 0
			for i, r := range reqs {
				if r.Sub(start) < window {
					n++
				}
				// The client spaces request starts by 1 s on its own
				// clock; the Doer sees them a few ms later, by a delay
				// that varies with load, so allow 100 ms of it here (a
				// storm is thousands a second). The count below holds
				// the rate to one a second.
				if i > 0 && r.Sub(reqs[i-1]) < 900*time.Millisecond {
					if tooSoon == 0 {
						t.Errorf("request %d only %v after the previous one", i, r.Sub(reqs[i-1]))
					}
					tooSoon++
				}
			}
			if tooSoon > 1 {
				t.Errorf("%d requests less than 1 s after the previous one", tooSoon)
			}
			rate := float64(n) / window.Seconds()
			t.Logf("%s: %d requests in %v (%.2f/s)", tt.name, n, window, rate)
			if n > 11 {
				t.Fatalf("%d requests in %v, want at most one per second", n, window)
			}
			if n < 8 {
				t.Fatalf("%d requests in %v: the client does not reconnect promptly after closing", n, window)
			}
			if len(errs) != 0 {
				t.Fatalf("closing-only 200 answers exhausted the retries: %v", <-errs)
			}
		})
	}
}

// floodFrame is an SSE data frame of about size bytes holding a batch of
// empty envelopes: {"batch":[{},{},...]}.
func floodFrame(size int) ([]byte, int) {
	n := (size - len(`data: {"batch":[]}`+"\n\n")) / 3
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(`data: {"batch":[{}`)
	for i := 1; i < n; i++ {
		b.WriteString(`,{}`)
	}
	b.WriteString("]}\n\n")
	return b.Bytes(), n
}

// heapPeak samples runtime.MemStats.HeapAlloc until stop is closed and
// returns the largest value seen. When the heap passes abort it calls
// onAbort once (to end a run that would otherwise exhaust memory).
func heapPeak(stop <-chan struct{}, abort uint64, onAbort func()) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		aborted := false
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			if peak > abort && !aborted {
				aborted = true
				onAbort()
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// TestRLPGatewayClientFloodBoundedMemory: a gateway streaming 1 MiB events
// of empty envelopes (each decodes to about 40 MiB) as fast as the client
// reads. The heap must stay within the documented bound whether the caller
// never calls the stream function or calls it slowly. Before the fix the
// stalled consumer made the heap reach 2.6 GiB.
//
// The documented bound: DefaultRLPGatewayBufferEnvelopes (10,000) envelopes
// and DefaultRLPGatewayBufferBytes (16 MiB, estimated) decoded ahead of the
// caller, plus one part (1,000 envelopes), plus the event being read (at
// most twice its 1 MiB). The test allows the 16 MiB byte bound, twice the
// event, and 14 MiB for the HTTP machinery and garbage not yet collected:
// 32 MiB of heap growth.
func TestRLPGatewayClientFloodBoundedMemory(t *testing.T) {
	frame, perFrame := floodFrame(1 << 20)
	const limit = 32 << 20
	tests := []struct {
		name  string
		pause time.Duration // between calls of the stream function; 0: never called
	}{
		{"stalled consumer", 0},
		{"slow consumer", 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var sent atomic.Int64
			srv := newSSEServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				writeSSE(w)
				for r.Context().Err() == nil {
					if _, err := w.Write(frame); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					sent.Add(1)
				}
			})
			c := loggregator.NewRLPGatewayClient(srv.URL, loggregator.WithRLPGatewayHTTPClient(srv.Client()))
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)

			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			stop := make(chan struct{})
			peakC := heapPeak(stop, base.HeapAlloc+4*limit, scancel)
			stream := c.Stream(sctx, logsRequest())
			run, runCancel := context.WithTimeout(sctx, 3*time.Second)
			defer runCancel()
			received := 0
			if tt.pause == 0 {
				<-run.Done()
			} else {
				for run.Err() == nil {
					received += len(stream())
					waitWindow(run, tt.pause) // a slow consumer
				}
			}
			close(stop)
			peak := <-peakC
			scancel()
			for stream() != nil {
			}
			growth := int64(peak) - int64(base.HeapAlloc)
			t.Logf("%s: %d events of %d empty envelopes sent, %d envelopes received; heap %d MiB before, peak %d MiB (+%d MiB, limit +%d MiB)",
				tt.name, sent.Load(), perFrame, received, base.HeapAlloc>>20, peak>>20, growth>>20, limit>>20)
			if growth > limit {
				t.Fatalf("heap grew by %d MiB, more than the bound of %d MiB", growth>>20, limit>>20)
			}
			if tt.pause != 0 && received < perFrame {
				t.Fatalf("slow consumer received only %d envelopes", received)
			}
		})
	}
}

// TestRLPGatewayClientLargeEvents covers the event size limits over HTTP:
// an 8 MiB event (a batch of large logs) with default options, a 100 KiB
// event with a maximum of math.MaxInt (which used to panic), and an event
// over the maximum, which is skipped, counted and reported on the error
// channel with an error that is not the fatal give-up, while the stream
// goes on.
func TestRLPGatewayClientLargeEvents(t *testing.T) {
	bigLog := func(ts int64, payload int) *loggregator_v2.Envelope {
		return &loggregator_v2.Envelope{Timestamp: ts, SourceId: "app",
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: bytes.Repeat([]byte{'p'}, payload)}}}
	}
	tests := []struct {
		name     string
		opts     []loggregator.RLPGatewayClientOption
		batch    []*loggregator_v2.Envelope
		eventLen int // approximate size of the event's JSON
		skipped  bool
	}{
		// 4 logs of 1.5 MiB: 8 MiB of base64.
		{"8 MiB default options", nil, []*loggregator_v2.Envelope{bigLog(1, 3<<19), bigLog(2, 3<<19), bigLog(3, 3<<19), bigLog(4, 3<<19)}, 8 << 20, false},
		{"100 KiB max MaxInt", []loggregator.RLPGatewayClientOption{loggregator.WithRLPGatewayMaxEventSize(math.MaxInt)}, []*loggregator_v2.Envelope{bigLog(1, 75<<10)}, 100 << 10, false},
		{"2 MiB over a 1 MiB max", []loggregator.RLPGatewayClientOption{loggregator.WithRLPGatewayMaxEventSize(1 << 20)}, []*loggregator_v2.Envelope{bigLog(1, 3<<19)}, 2 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			srv := newGateway(t)
			errs := make(chan error, 10)
			c := loggregator.NewRLPGatewayClient(srv.URL(), append(tt.opts,
				loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)),
				loggregator.WithRLPGatewayErrChan(errs))...)
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			stream := c.Stream(sctx, logsRequest())
			if err := srv.Send(tt.batch...); err != nil {
				t.Fatal(err)
			}
			if err := srv.Send(seqEnvelope(100)); err != nil {
				t.Fatal(err)
			}
			want := len(tt.batch) + 1
			if tt.skipped {
				want = 1
			}
			got := collect(ctx, stream, want)
			if len(got) != want || got[len(got)-1].GetTimestamp() != 100 {
				t.Fatalf("got %d envelopes, want %d ending with the small one", len(got), want)
			}
			if !tt.skipped {
				for i, e := range tt.batch {
					if !bytes.Equal(got[i].GetLog().GetPayload(), e.GetLog().GetPayload()) {
						t.Fatalf("envelope %d: payload of %d bytes differs", i, len(got[i].GetLog().GetPayload()))
					}
				}
				if len(errs) != 0 || c.SkippedEvents() != 0 {
					t.Fatalf("unexpected skip: %d errors, SkippedEvents %d", len(errs), c.SkippedEvents())
				}
				return
			}
			if n := c.SkippedEvents(); n != 1 {
				t.Fatalf("SkippedEvents() = %d, want 1", n)
			}
			if len(errs) != 1 {
				t.Fatalf("%d errors on the channel, want 1", len(errs))
			}
			err := <-errs
			if !errors.Is(err, loggregator.ErrRLPGatewayEventSkipped) || errors.Is(err, loggregator.ErrRLPGatewayMaxRetries) ||
				!strings.Contains(err.Error(), "larger than the maximum event size of 1048576 bytes") {
				t.Fatalf("error %v", err)
			}
		})
	}
}

// TestRLPGatewayClientMalformedEventReported: a malformed event is skipped,
// counted and reported as ErrRLPGatewayEventSkipped, in the single-pass
// path and in the path that decodes a large event in parts (where the
// envelopes before the fault are delivered).
func TestRLPGatewayClientMalformedEventReported(t *testing.T) {
	good, perFrame := floodFrame(100 << 10) // decoded in parts
	broken := bytes.Replace(good, []byte(`{},{},{}]}`), []byte(`{},{},{"timestamp":"x"}]}`), 1)
	escaped := bytes.Replace(good, []byte(`{"batch"`), []byte(`{"b\u0061tch"`), 1)
	tests := []struct {
		name      string
		raw       []byte
		delivered int // envelopes of raw delivered
	}{
		{"small", []byte("data: {\"batch\":[{\"timestamp\":\"x\"}]}\n\n"), 0},
		{"large, bad envelope at the end", broken, perFrame - perFrame%1000},
		{"large, escaped key", escaped, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			srv := newGateway(t)
			errs := make(chan error, 10)
			logs := newLogLines()
			c := loggregator.NewRLPGatewayClient(srv.URL(),
				loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)),
				loggregator.WithRLPGatewayClientLogger(logs.logger()),
				loggregator.WithRLPGatewayErrChan(errs))
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			stream := c.Stream(sctx, logsRequest())
			if err := srv.SendRaw(tt.raw); err != nil {
				t.Fatal(err)
			}
			if err := srv.Send(seqEnvelope(100)); err != nil {
				t.Fatal(err)
			}
			got := collect(ctx, stream, tt.delivered+1)
			if len(got) != tt.delivered+1 || got[len(got)-1].GetTimestamp() != 100 {
				t.Fatalf("got %d envelopes, want %d then the good one", len(got), tt.delivered)
			}
			if c.SkippedEvents() != 1 || len(errs) != 1 {
				t.Fatalf("SkippedEvents %d, %d errors; want 1 and 1", c.SkippedEvents(), len(errs))
			}
			if err := <-errs; !errors.Is(err, loggregator.ErrRLPGatewayEventSkipped) {
				t.Fatalf("error %v", err)
			}
			logs.wait(ctx, t, "skipped event (1 skipped in total)")
		})
	}
}

// TestRLPGatewayClientLargeEventInParts: events of every size around the
// part limits decode to exactly what protojson-encoded input holds, in
// order.
func TestRLPGatewayClientLargeEventInParts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := newGateway(t)
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)))
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	stream := c.Stream(sctx, logsRequest())
	var ts int64
	for _, n := range []int{1, 999, 1000, 1001, 2500} {
		for _, payload := range []int{10, 300 << 10 / 1000, 2 << 10} {
			var envs []*loggregator_v2.Envelope
			for i := 0; i < n; i++ {
				ts++
				e := seqEnvelope(ts)
				e.GetLog().Payload = []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i)}, payload)))
				e.Tags["quote"] = `a "quoted" \ value ]},{`
				envs = append(envs, e)
			}
			if n == 1 {
				// One envelope over the part threshold on its own.
				envs[0].GetLog().Payload = bytes.Repeat([]byte{'z'}, 200<<10)
			}
			if err := srv.Send(envs...); err != nil {
				t.Fatal(err)
			}
			got := collect(ctx, stream, n)
			if len(got) != n {
				t.Fatalf("n=%d payload=%d: got %d envelopes", n, payload, len(got))
			}
			for i := range envs {
				if got[i].GetTimestamp() != envs[i].GetTimestamp() || !bytes.Equal(got[i].GetLog().GetPayload(), envs[i].GetLog().GetPayload()) || got[i].GetTags()["quote"] != envs[i].GetTags()["quote"] {
					t.Fatalf("n=%d payload=%d: envelope %d differs", n, payload, i)
				}
			}
		}
	}
	if c.SkippedEvents() != 0 {
		t.Fatalf("SkippedEvents() = %d", c.SkippedEvents())
	}
}
