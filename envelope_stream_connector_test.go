package loggregator_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// recordingLogger keeps what the library logs; Panicf fails the test.
type recordingLogger struct {
	t     testing.TB
	mu    sync.Mutex
	lines []string
}

func (l *recordingLogger) Printf(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *recordingLogger) Panicf(format string, args ...interface{}) {
	l.t.Errorf("library called Panicf: "+format, args...)
}

func (l *recordingLogger) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// startEgress starts a test egress server, stopped at the end of the test.
func startEgress(t testing.TB) (*testhelpers.EgressServer, *testhelpers.Certs) {
	t.Helper()
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, certs
}

func newConnector(srv *testhelpers.EgressServer, certs *testhelpers.Certs, opts ...loggregator.EnvelopeStreamOption) *loggregator.EnvelopeStreamConnector {
	return loggregator.NewEnvelopeStreamConnector(srv.Addr(), certs.ClientTLSConfig(loggregator.EgressServerName), opts...)
}

func logEnvelope(id string, i int) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{
		SourceId:  id,
		Timestamp: int64(i),
		Tags:      map[string]string{"seq": fmt.Sprint(i)},
		Message:   &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("line " + fmt.Sprint(i))}},
	}
}

var streamModes = []struct {
	name string
	opts []loggregator.EnvelopeStreamOption
}{
	{"unbuffered", nil},
	{"buffered", []loggregator.EnvelopeStreamOption{loggregator.WithEnvelopeStreamBuffer(1000, nil)}},
}

func TestEnvelopeStreamConnectorDeliversInOrderAndForwardsRequest(t *testing.T) {
	for _, mode := range streamModes {
		t.Run(mode.name, func(t *testing.T) {
			srv, certs := startEgress(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			req := &loggregator_v2.EgressBatchRequest{
				ShardId:           "shard",
				DeterministicName: "det",
				UsePreferredTags:  true,
				LegacySelector:    &loggregator_v2.Selector{SourceId: "legacy"},
				Selectors: []*loggregator_v2.Selector{
					{SourceId: "app", Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}},
					{Message: &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{Names: []string{"cpu", "mem"}}}},
				},
			}
			want := proto.Clone(req)
			logger := &recordingLogger{t: t}
			s := newConnector(srv, certs, append(mode.opts, loggregator.WithEnvelopeStreamLogger(logger))...).Stream(ctx, req)

			const batches, perBatch = 20, 5
			for b := 0; b < batches; b++ {
				envs := make([]*loggregator_v2.Envelope, perBatch)
				for i := range envs {
					envs[i] = logEnvelope("app", b*perBatch+i)
				}
				srv.SendBatch(envs)
			}
			srv.SendBatch(nil) // empty batches are skipped
			srv.Send(logEnvelope("app", batches*perBatch))

			next := int64(0)
			for next <= batches*perBatch {
				got := s()
				if got == nil {
					t.Fatalf("stream ended after %d envelopes", next)
				}
				for _, e := range got {
					if e.Timestamp != next {
						t.Fatalf("envelope %d arrived when %d was expected", e.Timestamp, next)
					}
					if !proto.Equal(e, logEnvelope("app", int(next))) {
						t.Fatalf("envelope %d changed on the way: %v", next, e)
					}
					next++
				}
			}
			reqs := srv.Requests()
			if len(reqs) != 1 || !proto.Equal(reqs[0], want) {
				t.Fatalf("server got requests %v, want exactly %v", reqs, want)
			}
			if !proto.Equal(req, want) {
				t.Fatalf("Stream modified the caller's request")
			}
			if lines := logger.Lines(); len(lines) != 0 {
				t.Fatalf("unexpected log lines: %q", lines)
			}
		})
	}
}

func TestEnvelopeStreamConnectorReturnsNilAfterCancel(t *testing.T) {
	for _, mode := range streamModes {
		t.Run(mode.name, func(t *testing.T) {
			srv, certs := startEgress(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			s := newConnector(srv, certs, mode.opts...).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			// The stream's goroutine connects without a call; once the
			// server has the stream open and nothing queued, a call can
			// only block.
			if err := srv.WaitForStreams(ctx, 1); err != nil {
				t.Fatalf("stream did not connect: %v", err)
			}
			if n := srv.Pending(); n != 0 {
				t.Fatalf("%d batches queued", n)
			}
			done := make(chan []*loggregator_v2.Envelope)
			go callStream(s, done)
			waitBlockedIn(t, ctx, "callStream")
			cancel()
			select {
			case got := <-done:
				if got != nil {
					t.Fatalf("blocked call returned %v after cancel, want nil", got)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("blocked call did not return after cancel")
			}
			srv.Send(logEnvelope("late", 1))
			for i := 0; i < 3; i++ {
				if got := s(); got != nil {
					t.Fatalf("call after cancel returned %v, want nil", got)
				}
			}
			waitNoStreams(t, srv)
		})
	}
}

// callStream calls s once and hands over the result; its name marks the
// goroutine for waitBlockedIn.
func callStream(s loggregator.EnvelopeStream, done chan<- []*loggregator_v2.Envelope) {
	done <- s()
}

// waitBlockedIn waits until a goroutine running fn (a function of this
// package) is blocked in a select or channel operation, as the goroutine
// dump shows it.
func waitBlockedIn(t *testing.T, ctx context.Context, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for ctx.Err() == nil {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if !strings.Contains(g, "loggregator_test."+fn+"(") {
				continue
			}
			header, _, _ := strings.Cut(g, "\n")
			if strings.Contains(header, "[select") || strings.Contains(header, "[chan receive") {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("no goroutine blocked in %s", fn)
}

func TestEnvelopeStreamConnectorNilRequest(t *testing.T) {
	srv, certs := startEgress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := newConnector(srv, certs).Stream(ctx, nil)
	srv.Send(logEnvelope("a", 1))
	if got := s(); len(got) != 1 {
		t.Fatalf("got %v, want one envelope", got)
	}
	if reqs := srv.Requests(); len(reqs) != 1 || !proto.Equal(reqs[0], &loggregator_v2.EgressBatchRequest{}) {
		t.Fatalf("server got %v, want one empty request", reqs)
	}
}

func TestEnvelopeStreamConnectorAlreadyCancelledContext(t *testing.T) {
	srv, certs := startEgress(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newConnector(srv, certs).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
	if got := s(); got != nil {
		t.Fatalf("got %v, want nil", got)
	}
}

func TestEnvelopeStreamConnectorBadDialConfiguration(t *testing.T) {
	tests := []struct {
		name string
		opts []grpc.DialOption
	}{
		{"invalid service config", []grpc.DialOption{grpc.WithDefaultServiceConfig("{not json")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger := &recordingLogger{t: t}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			c := loggregator.NewEnvelopeStreamConnector("127.0.0.1:1", nil,
				loggregator.WithEnvelopeStreamLogger(logger),
				loggregator.WithEnvelopeStreamConnectorDialOptions(tt.opts...))
			s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			start := time.Now()
			if got := s(); got != nil {
				t.Fatalf("got %v, want nil", got)
			}
			// The stream waits for its context instead of returning at
			// once, so a caller's loop cannot spin.
			if ctx.Err() == nil {
				t.Fatalf("stream returned after %v, before its context ended", time.Since(start))
			}
			lines := logger.Lines()
			if len(lines) != 1 || !strings.Contains(lines[0], "invalid gRPC dial configuration") {
				t.Fatalf("log lines %q, want one about the dial configuration", lines)
			}
		})
	}
}

// TestEnvelopeStreamConnectorDialOptions checks that the dial options are
// used (a counting dialer sees the connection), that a later call
// replaces an earlier one, and that nil options are ignored.
func TestEnvelopeStreamConnectorDialOptions(t *testing.T) {
	tests := []struct {
		name string
		opts func(dial grpc.DialOption) []loggregator.EnvelopeStreamOption
	}{
		{"dialer used", func(dial grpc.DialOption) []loggregator.EnvelopeStreamOption {
			return []loggregator.EnvelopeStreamOption{loggregator.WithEnvelopeStreamConnectorDialOptions(dial)}
		}},
		{"later call replaces broken options", func(dial grpc.DialOption) []loggregator.EnvelopeStreamOption {
			return []loggregator.EnvelopeStreamOption{
				loggregator.WithEnvelopeStreamConnectorDialOptions(grpc.WithDefaultServiceConfig("{not json")),
				loggregator.WithEnvelopeStreamConnectorDialOptions(grpc.WithUserAgent("test"), dial),
			}
		}},
		{"nil options ignored", func(dial grpc.DialOption) []loggregator.EnvelopeStreamOption {
			return []loggregator.EnvelopeStreamOption{loggregator.WithEnvelopeStreamConnectorDialOptions(nil, dial, nil)}
		}},
		{"only nil", func(dial grpc.DialOption) []loggregator.EnvelopeStreamOption {
			return []loggregator.EnvelopeStreamOption{loggregator.WithEnvelopeStreamConnectorDialOptions(nil)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, certs := startEgress(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			dials := &dialCounter{}
			logger := &recordingLogger{t: t}
			opts := append(tt.opts(grpc.WithContextDialer(dials.dial)), loggregator.WithEnvelopeStreamLogger(logger))
			s := newConnector(srv, certs, opts...).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			srv.Send(logEnvelope("a", 1))
			if got := s(); len(got) != 1 {
				t.Fatalf("got %v, want one envelope; log %q", got, logger.Lines())
			}
			n := len(dials.between(time.Time{}, time.Now()))
			if tt.name == "only nil" {
				if n != 0 {
					t.Fatalf("%d dials through a dialer that was not configured", n)
				}
				return
			}
			if n == 0 {
				t.Fatal("the configured dialer was not used")
			}
		})
	}
}

// TestEnvelopeStreamConnectorResumes breaks the stream in the middle of a
// flow of envelopes and checks that the stream resumes by itself; it
// reports how many envelopes the break lost.
func TestEnvelopeStreamConnectorResumes(t *testing.T) {
	breaks := []struct {
		name    string
		breakIt func(t *testing.T, srv *testhelpers.EgressServer)
	}{
		{"dropped streams", func(t *testing.T, srv *testhelpers.EgressServer) { srv.DropStreams() }},
		{"server restart", func(t *testing.T, srv *testhelpers.EgressServer) {
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, mode := range streamModes {
		for _, br := range breaks {
			t.Run(mode.name+"/"+br.name, func(t *testing.T) {
				srv, certs := startEgress(t)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				logger := &recordingLogger{t: t}
				s := newConnector(srv, certs, append(mode.opts, loggregator.WithEnvelopeStreamLogger(logger))...).
					Stream(ctx, &loggregator_v2.EgressBatchRequest{})

				const total = 400
				seen := make(map[int64]bool)
				readUntil := func(n int) {
					for len(seen) < n {
						got := s()
						if got == nil {
							t.Fatalf("stream ended with %d envelopes seen", len(seen))
						}
						for _, e := range got {
							seen[e.Timestamp] = true
						}
					}
				}
				for i := 0; i < total/2; i++ {
					srv.Send(logEnvelope("a", i))
				}
				readUntil(total / 4)
				br.breakIt(t, srv)
				for i := total / 2; i < total; i++ {
					srv.Send(logEnvelope("a", i))
				}
				// Read until the last envelope arrives; whatever is missing
				// then was lost in the break.
				for !seen[total-1] {
					got := s()
					if got == nil {
						t.Fatalf("stream did not resume: %d envelopes seen, log %q", len(seen), logger.Lines())
					}
					for _, e := range got {
						seen[e.Timestamp] = true
					}
				}
				lost := total - len(seen)
				t.Logf("%s: %d of %d envelopes lost, %d stream attempts, log %q", br.name, lost, total, srv.StreamAttempts(), logger.Lines())
				if srv.StreamAttempts() < 2 {
					t.Fatalf("no reconnect seen: %d attempts", srv.StreamAttempts())
				}
				if len(logger.Lines()) == 0 {
					t.Fatal("the failure was not logged")
				}
			})
		}
	}
}

// TestEnvelopeStreamConnectorBacksOffFromRefusingServer checks the
// reconnect rate against a server that refuses every stream: at most 3
// attempts a second over 12 s, and still trying in the last 6 s.
func TestEnvelopeStreamConnectorBacksOffFromRefusingServer(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 12 s")
	}
	srv, certs := startEgress(t)
	srv.RefuseStreams(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	logger := &recordingLogger{t: t}
	streamCtx, stop := context.WithTimeout(ctx, 12*time.Second)
	defer stop()
	s := newConnector(srv, certs, loggregator.WithEnvelopeStreamLogger(logger)).Stream(streamCtx, &loggregator_v2.EgressBatchRequest{})
	start := time.Now()
	half := make(chan int, 1)
	sampler := time.AfterFunc(6*time.Second, func() { half <- srv.StreamAttempts() })
	defer sampler.Stop()
	if got := s(); got != nil { // returns when streamCtx ends after 12 s
		t.Fatalf("got %v from a refusing server", got)
	}
	elapsed := time.Since(start)
	total := srv.StreamAttempts()
	atHalf := <-half
	rate := float64(total) / elapsed.Seconds()
	t.Logf("%d attempts in %v (%.2f/s), %d in the last 6 s, %d log lines", total, elapsed, rate, total-atHalf, len(logger.Lines()))
	if rate > 3 {
		t.Errorf("%.2f attempts per second, want at most 3", rate)
	}
	if total-atHalf < 1 {
		t.Errorf("no attempt in the last 6 s: the connector gave up")
	}
	if len(logger.Lines()) < total-1 {
		t.Errorf("%d failures logged for %d attempts", len(logger.Lines()), total)
	}
}

// TestEnvelopeStreamConnectorNoLeaks runs 100 Stream/cancel cycles in each
// mode, half of them never calling the stream after cancel.
func TestEnvelopeStreamConnectorNoLeaks(t *testing.T) {
	for _, mode := range streamModes {
		t.Run(mode.name, func(t *testing.T) {
			srv, certs := startEgress(t)
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			c := newConnector(srv, certs, mode.opts...)
			for i := 0; i < 100; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
				srv.Send(logEnvelope("a", i))
				if got := s(); len(got) != 1 {
					cancel()
					t.Fatalf("cycle %d: got %v", i, got)
				}
				if i%2 == 0 {
					srv.Send(logEnvelope("unread", i)) // left behind on purpose
				}
				cancel()
				if i%4 == 0 {
					if got := s(); got != nil {
						t.Fatalf("cycle %d: got %v after cancel", i, got)
					}
				}
				// The server hands queued envelopes to any open stream; wait
				// for this cycle's stream to be gone before the next one.
				waitNoStreams(t, srv)
				srv.ClearQueue()
			}
		})
	}
}

// TestEnvelopeStreamConnectorBufferDropsCallAlerter overruns the buffer
// and checks that the alerter hears of every dropped batch, in batches as
// the original reports them. The server ends the stream after the last
// batch: the reading goroutine reopens only after it has queued every
// batch of the old stream, which proves the overrun without waiting.
func TestEnvelopeStreamConnectorBufferDropsCallAlerter(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		bytes      int // WithEnvelopeStreamBufferBytes, 0: not given
		nilAlerter bool
	}{
		{"small buffer", 2, 0, false},
		{"size zero uses default", 0, 0, false},
		{"nil alerter", 2, 0, true},
		{"byte bound", 1000, 8 << 10, false}, // a batch of 3 logs is about 3 KiB
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, certs := startEgress(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var dropped atomic.Int64
			alerter := func(n int) { dropped.Add(int64(n)) }
			if tt.nilAlerter {
				alerter = nil
			}
			opts := []loggregator.EnvelopeStreamOption{loggregator.WithEnvelopeStreamBuffer(tt.size, alerter)}
			if tt.bytes > 0 {
				opts = append(opts, loggregator.WithEnvelopeStreamBufferBytes(tt.bytes))
			}
			s := newConnector(srv, certs, opts...).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			const batches, perBatch = 300, 3
			sendBatches(srv, batches, perBatch)
			if err := srv.WaitForDrained(ctx); err != nil {
				t.Fatal(err)
			}
			srv.EndStreams()
			if err := srv.WaitForAttempts(ctx, 2); err != nil {
				t.Fatal(err)
			}
			read, last := readUntil(t, s, batches*perBatch-1)
			t.Logf("read %d envelopes, alerter reported %d dropped batches", read, dropped.Load())
			if last != batches*perBatch-1 {
				t.Fatalf("last envelope %d", last)
			}
			if tt.nilAlerter {
				return
			}
			if dropped.Load() == 0 {
				t.Fatal("nothing dropped: alerter never called")
			}
			if int64(read)+dropped.Load()*perBatch != batches*perBatch {
				t.Fatalf("read %d envelopes + %d dropped batches of %d != sent %d", read, dropped.Load(), perBatch, batches*perBatch)
			}
			if tt.bytes > 0 && read > 10*perBatch {
				t.Fatalf("read %d envelopes: a buffer of %d bytes held more than about 3 batches", read, tt.bytes)
			}
		})
	}
}

// TestEnvelopeStreamConnectorBufferZeroNilIsUnbuffered: as in the
// original, WithEnvelopeStreamBuffer(0, nil) leaves the stream unbuffered,
// so nothing is dropped however far the caller falls behind. The same
// overrun as in TestEnvelopeStreamConnectorBufferDropsCallAlerter would
// drop batches from a buffer of the default size.
func TestEnvelopeStreamConnectorBufferZeroNilIsUnbuffered(t *testing.T) {
	srv, certs := startEgress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := newConnector(srv, certs, loggregator.WithEnvelopeStreamBuffer(0, nil)).
		Stream(ctx, &loggregator_v2.EgressBatchRequest{})
	const batches, perBatch = 300, 3
	sendBatches(srv, batches, perBatch)
	if err := srv.WaitForDrained(ctx); err != nil {
		t.Fatal(err)
	}
	srv.EndStreams()
	read, _ := readUntil(t, s, batches*perBatch-1)
	if read != batches*perBatch {
		t.Fatalf("read %d of %d envelopes: the stream dropped batches", read, batches*perBatch)
	}
}

// TestEnvelopeStreamConnectorHugeBuffer: a buffer of math.MaxInt batches
// neither panics nor reserves memory, and the stream's goroutines and
// connection are gone after cancel.
func TestEnvelopeStreamConnectorHugeBuffer(t *testing.T) {
	srv, certs := startEgress(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := newConnector(srv, certs, loggregator.WithEnvelopeStreamBuffer(math.MaxInt, func(int) {})).
		Stream(ctx, &loggregator_v2.EgressBatchRequest{})
	sendBatches(srv, 10, 3)
	if read, _ := readUntil(t, s, 29); read != 30 {
		t.Fatalf("read %d of 30 envelopes", read)
	}
	cancel()
	if got := s(); got != nil {
		t.Fatalf("got %v after cancel", got)
	}
	waitNoStreams(t, srv)
}

// sendBatches queues batches of perBatch log envelopes numbered from 0.
func sendBatches(srv *testhelpers.EgressServer, batches, perBatch int) {
	for b := 0; b < batches; b++ {
		envs := make([]*loggregator_v2.Envelope, perBatch)
		for i := range envs {
			envs[i] = logEnvelope("a", b*perBatch+i)
		}
		srv.SendBatch(envs)
	}
}

// readUntil reads s until the envelope numbered last arrives, checking
// that numbers only grow; it returns how many envelopes it read.
func readUntil(t *testing.T, s loggregator.EnvelopeStream, last int64) (int, int64) {
	t.Helper()
	read, prev := 0, int64(-1)
	for prev != last {
		got := s()
		if got == nil {
			t.Fatalf("stream ended after %d envelopes", read)
		}
		for _, e := range got {
			if e.Timestamp <= prev {
				t.Fatalf("envelope %d after %d", e.Timestamp, prev)
			}
			prev = e.Timestamp
		}
		read += len(got)
	}
	return read, prev
}

// TestEnvelopeStreamConnectorLatency measures single-envelope delivery
// latency; the bound only catches polling (the original's median was
// about 25 ms). BenchmarkEnvelopeStreamLatency gives the real numbers.
func TestEnvelopeStreamConnectorLatency(t *testing.T) {
	for _, mode := range streamModes {
		t.Run(mode.name, func(t *testing.T) {
			srv, certs := startEgress(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s := newConnector(srv, certs, mode.opts...).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			p50 := measureLatency(t, srv, s, 100)
			t.Logf("p50 %v", p50)
			if p50 > 10*time.Millisecond {
				t.Fatalf("p50 latency %v: is something polling?", p50)
			}
		})
	}
}

func measureLatency(t testing.TB, srv *testhelpers.EgressServer, s loggregator.EnvelopeStream, n int) time.Duration {
	srv.Send(logEnvelope("warm-up", 0))
	if s() == nil {
		t.Fatal("stream ended")
	}
	lat := make([]time.Duration, n)
	for i := range lat {
		start := time.Now()
		srv.Send(logEnvelope("a", i))
		if got := s(); len(got) != 1 {
			t.Fatalf("got %v", got)
		}
		lat[i] = time.Since(start)
	}
	slices.Sort(lat)
	return lat[n/2]
}

// waitNoStreams waits until the server has no open stream, which shows
// that the client closed its connection.
func waitNoStreams(t testing.TB, srv *testhelpers.EgressServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitForNoStreams(ctx); err != nil {
		t.Fatal("server still has an open stream after cancel: connection not closed")
	}
}
