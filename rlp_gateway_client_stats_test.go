package loggregator_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/internal/gateway"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// dataFrame returns the SSE data frame the gateway writes for envs, so
// that tests know the exact bytes on the wire.
func dataFrame(t *testing.T, envs ...*loggregator_v2.Envelope) []byte {
	t.Helper()
	js, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(&loggregator_v2.EnvelopeBatch{Batch: envs})
	if err != nil {
		t.Fatal(err)
	}
	return gateway.AppendData(nil, js)
}

// errorBodyLen is the length of the body of the gateway's answer with
// status.
func errorBodyLen(status int) int {
	rec := httptest.NewRecorder()
	gateway.WriteError(rec, gateway.ErrorForStatus(status))
	return rec.Body.Len()
}

// oldLag is the lag histogram of n envelopes made by seqEnvelope (stamped
// a few nanoseconds after 1970: all in the last bucket).
func oldLag(n uint64) loggregator.LagHistogram {
	var h loggregator.LagHistogram
	h.Counts[loggregator.NumLagBuckets-1] = n
	h.Count = n
	return h
}

// statsRun is what a scenario of TestRLPGatewayClientStats leaves to
// check.
type statsRun struct {
	got            loggregator.RLPGatewayStats
	skippedEvents  uint64 // SkippedEvents() when got was taken
	want           loggregator.RLPGatewayStats
	wantErr        func(error) bool // nil: LastError must be nil
	serverRequests int              // requests the server received
}

// refused marks a statsRun whose server could not count the requests it
// refused.
const refused = -1

// gatewayStatsClient starts a stream of a new client of srv and returns
// the client and the stream.
func gatewayStatsClient(ctx context.Context, t *testing.T, url string, hc *http.Client, opts ...loggregator.RLPGatewayClientOption) (*loggregator.RLPGatewayClient, loggregator.EnvelopeStream) {
	t.Helper()
	opts = append([]loggregator.RLPGatewayClientOption{loggregator.WithRLPGatewayHTTPClient(hc)}, opts...)
	c := loggregator.NewRLPGatewayClient(url, opts...)
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	return c, c.Stream(sctx, logsRequest())
}

// mustCollect waits for n envelopes.
func mustCollect(ctx context.Context, t *testing.T, stream loggregator.EnvelopeStream, n int) {
	t.Helper()
	if got := collect(ctx, stream, n); len(got) != n {
		t.Fatalf("got %d envelopes, want %d", len(got), n)
	}
}

// quietGateway is a gateway that writes only what a test queues: no
// heartbeats, no stream timeout.
// reconnectAfter streams one envelope from a quiet gateway, ends that
// stream with end, waits for the client's second request and streams a
// second envelope on it. It returns the server, the client and both frames.
func reconnectAfter(ctx context.Context, t *testing.T, end func(*testhelpers.GatewayServer)) (*testhelpers.GatewayServer, *loggregator.RLPGatewayClient, []byte, []byte) {
	t.Helper()
	srv := quietGateway(t)
	c, stream := gatewayStatsClient(ctx, t, srv.URL(), httpClient(t, srv))
	first, second := dataFrame(t, seqEnvelope(1)), dataFrame(t, seqEnvelope(2))
	if err := srv.SendRaw(first); err != nil {
		t.Fatal(err)
	}
	mustCollect(ctx, t, stream, 1)
	end(srv)
	// Queue the next frame only once the client has given up the ended
	// stream, so that it cannot go to that one.
	waitFor(ctx, t, func() bool { return c.Stats().Requests == 2 })
	if err := srv.SendRaw(second); err != nil {
		t.Fatal(err)
	}
	mustCollect(ctx, t, stream, 1)
	return srv, c, first, second
}

func quietGateway(t *testing.T) *testhelpers.GatewayServer {
	return newGateway(t, testhelpers.WithGatewayHeartbeat(-1), testhelpers.WithGatewayStreamTimeout(-1))
}

func isSkipped(err error) bool { return errors.Is(err, loggregator.ErrRLPGatewayEventSkipped) }

// TestRLPGatewayClientStats drives a client into each counted situation
// and checks every statistic exactly. Each scenario takes its snapshot
// once the last envelope has come out of the stream: by then every byte
// the server wrote has been read and nothing else is pending.
func TestRLPGatewayClientStats(t *testing.T) {
	tests := []struct {
		name string
		run  func(ctx context.Context, t *testing.T) statsRun
	}{
		{"envelopes heartbeats and lag", func(ctx context.Context, t *testing.T) statsRun {
			srv := quietGateway(t)
			c, stream := gatewayStatsClient(ctx, t, srv.URL(), httpClient(t, srv))
			now := time.Now()
			stamped := func(age time.Duration) *loggregator_v2.Envelope {
				return &loggregator_v2.Envelope{SourceId: "app", Timestamp: now.Add(-age).UnixNano()}
			}
			frames := [][]byte{
				gateway.AppendHeartbeat(nil, now),
				gateway.AppendHeartbeat(nil, now),
				dataFrame(t, stamped(2*time.Second), stamped(20*time.Second)),
				gateway.AppendHeartbeat(nil, now),
				dataFrame(t, stamped(2*time.Minute)),
			}
			bytes := 0
			for _, f := range frames {
				bytes += len(f)
				if err := srv.SendRaw(f); err != nil {
					t.Fatal(err)
				}
			}
			mustCollect(ctx, t, stream, 3)
			got := c.Stats()
			elapsed := time.Since(now)
			// Lags of 2 s + ε, 20 s + ε and 2 min + ε: the buckets
			// (1s, 5s], (10s, 30s] and (60s, +Inf].
			var lag loggregator.LagHistogram
			lag.Counts[7], lag.Counts[9], lag.Counts[11] = 1, 1, 1
			lag.Count = 3
			minSum := (2*time.Second + 20*time.Second + 2*time.Minute).Seconds()
			if s := got.Lag.SumSeconds; s < minSum || s > minSum+3*elapsed.Seconds() {
				t.Errorf("Lag.SumSeconds = %v, want in [%v, %v]", s, minSum, minSum+3*elapsed.Seconds())
			}
			return statsRun{
				got: got, skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 3, Events: 5, Heartbeats: 3, Requests: 1,
					BytesRead: uint64(bytes), Lag: lag,
				},
				serverRequests: len(srv.Requests()),
			}
		}},
		{"malformed event", func(ctx context.Context, t *testing.T) statsRun {
			srv := quietGateway(t)
			c, stream := gatewayStatsClient(ctx, t, srv.URL(), httpClient(t, srv))
			bad := []byte("data: {not json}\n\n")
			good := dataFrame(t, seqEnvelope(1))
			for _, f := range [][]byte{bad, good} {
				if err := srv.SendRaw(f); err != nil {
					t.Fatal(err)
				}
			}
			mustCollect(ctx, t, stream, 1)
			return statsRun{
				got: c.Stats(), skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 1, Events: 2, Requests: 1,
					Skipped:   loggregator.RLPGatewaySkips{Malformed: 1},
					BytesRead: uint64(len(bad) + len(good)), Lag: oldLag(1),
				},
				wantErr:        isSkipped,
				serverRequests: len(srv.Requests()),
			}
		}},
		{"malformed large event after a first part", func(ctx context.Context, t *testing.T) statsRun {
			srv := quietGateway(t)
			c, stream := gatewayStatsClient(ctx, t, srv.URL(), httpClient(t, srv))
			// 1500 envelopes of about 75 bytes (over the 64 KiB above
			// which events are decoded in parts of 1000 envelopes), then
			// a bad element: the first part is delivered, the second is
			// not.
			var b strings.Builder
			b.WriteString(`data: {"batch":[`)
			for i := 0; i < 1500; i++ {
				b.WriteString(`{"sourceId":"` + strings.Repeat("a", 60) + `"},`)
			}
			b.WriteString("x]}\n\n")
			bad := []byte(b.String())
			good := dataFrame(t, seqEnvelope(1))
			for _, f := range [][]byte{bad, good} {
				if err := srv.SendRaw(f); err != nil {
					t.Fatal(err)
				}
			}
			mustCollect(ctx, t, stream, 1001)
			lag := oldLag(1)
			lag.MissingTimestamps = 1000
			return statsRun{
				got: c.Stats(), skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 1001, Events: 2, Requests: 1,
					Skipped:   loggregator.RLPGatewaySkips{Malformed: 1},
					BytesRead: uint64(len(bad) + len(good)), Lag: lag,
				},
				wantErr:        isSkipped,
				serverRequests: len(srv.Requests()),
			}
		}},
		{"oversized event", func(ctx context.Context, t *testing.T) statsRun {
			srv := quietGateway(t)
			c, stream := gatewayStatsClient(ctx, t, srv.URL(), httpClient(t, srv), loggregator.WithRLPGatewayMaxEventSize(1024))
			big := seqEnvelope(1)
			big.GetLog().Payload = make([]byte, 2000)
			bigFrame := dataFrame(t, big)
			good := dataFrame(t, seqEnvelope(2))
			for _, f := range [][]byte{bigFrame, good} {
				if err := srv.SendRaw(f); err != nil {
					t.Fatal(err)
				}
			}
			mustCollect(ctx, t, stream, 1)
			return statsRun{
				got: c.Stats(), skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 1, Events: 2, Requests: 1,
					Skipped:   loggregator.RLPGatewaySkips{Oversized: 1},
					BytesRead: uint64(len(bigFrame) + len(good)), Lag: oldLag(1),
				},
				wantErr:        isSkipped,
				serverRequests: len(srv.Requests()),
			}
		}},
		{"503 answers", func(ctx context.Context, t *testing.T) statsRun {
			srv := quietGateway(t)
			srv.SetStatus(http.StatusServiceUnavailable)
			c, stream := gatewayStatsClient(ctx, t, srv.URL(), httpClient(t, srv))
			waitFor(ctx, t, func() bool { return c.Stats().Requests >= 3 })
			srv.SetStatus(0)
			good := dataFrame(t, seqEnvelope(1))
			if err := srv.SendRaw(good); err != nil {
				t.Fatal(err)
			}
			mustCollect(ctx, t, stream, 1)
			got := c.Stats()
			failed := got.Requests - 1 // every request before the one that streams
			return statsRun{
				got: got, skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 1, Events: 1, Requests: failed + 1,
					Reconnects: loggregator.RLPGatewayReconnects{StatusCode: failed},
					BytesRead:  failed*uint64(errorBodyLen(http.StatusServiceUnavailable)) + uint64(len(good)),
					Lag:        oldLag(1),
				},
				wantErr:        func(err error) bool { return err != nil && strings.Contains(err.Error(), "503") },
				serverRequests: len(srv.Requests()),
			}
		}},
		{"stopped server", func(ctx context.Context, t *testing.T) statsRun {
			srv := quietGateway(t)
			url := srv.URL()
			if err := srv.Stop(); err != nil {
				t.Fatal(err)
			}
			c, stream := gatewayStatsClient(ctx, t, url, httpClient(t, srv))
			waitFor(ctx, t, func() bool { return c.Stats().Requests >= 3 })
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			good := dataFrame(t, seqEnvelope(1))
			if err := srv.SendRaw(good); err != nil {
				t.Fatal(err)
			}
			mustCollect(ctx, t, stream, 1)
			got := c.Stats()
			failed := got.Requests - 1 // refused: the server saw none of them
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("server received %d requests, want 1 (the others were refused)", n)
			}
			return statsRun{
				got: got, skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 1, Events: 1, Requests: failed + 1,
					Reconnects: loggregator.RLPGatewayReconnects{Network: failed},
					BytesRead:  uint64(len(good)), Lag: oldLag(1),
				},
				wantErr:        func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) },
				serverRequests: refused,
			}
		}},
		{"dropped connection", func(ctx context.Context, t *testing.T) statsRun {
			srv, c, first, second := reconnectAfter(ctx, t, (*testhelpers.GatewayServer).DropConnections)
			return statsRun{
				got: c.Stats(), skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 2, Events: 2, Requests: 2,
					Reconnects: loggregator.RLPGatewayReconnects{Network: 1},
					BytesRead:  uint64(len(first) + len(second)), Lag: oldLag(2),
				},
				wantErr:        func(err error) bool { return err != nil && strings.Contains(err.Error(), "reading stream") },
				serverRequests: len(srv.Requests()),
			}
		}},
		{"closing event", func(ctx context.Context, t *testing.T) statsRun {
			srv, c, first, second := reconnectAfter(ctx, t, (*testhelpers.GatewayServer).SendClosing)
			return statsRun{
				got: c.Stats(), skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 2, Events: 3, Requests: 2,
					Reconnects: loggregator.RLPGatewayReconnects{Closing: 1},
					BytesRead:  uint64(len(first) + len(gateway.AppendClosing(nil)) + len(second)),
					Lag:        oldLag(2),
				},
				serverRequests: len(srv.Requests()),
			}
		}},
		{"clean end of body", func(ctx context.Context, t *testing.T) statsRun {
			srv, c, first, second := reconnectAfter(ctx, t, (*testhelpers.GatewayServer).EndStreams)
			return statsRun{
				got: c.Stats(), skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 2, Events: 2, Requests: 2,
					Reconnects: loggregator.RLPGatewayReconnects{Closing: 1},
					BytesRead:  uint64(len(first) + len(second)), Lag: oldLag(2),
				},
				serverRequests: len(srv.Requests()),
			}
		}},
		{"empty body", func(ctx context.Context, t *testing.T) statsRun {
			good := dataFrame(t, seqEnvelope(1))
			srv := newSSEServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					writeSSE(w) // a 200 answer that ends at once
					return
				}
				writeSSE(w, string(good))
				<-r.Context().Done()
			})
			c, stream := gatewayStatsClient(ctx, t, srv.URL, srv.Client())
			mustCollect(ctx, t, stream, 1)
			return statsRun{
				got: c.Stats(), skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 1, Events: 1, Requests: 2,
					Reconnects: loggregator.RLPGatewayReconnects{Closing: 1},
					BytesRead:  uint64(len(good)), Lag: oldLag(1),
				},
				serverRequests: len(srv.requests()),
			}
		}},
		{"body ends inside an event", func(ctx context.Context, t *testing.T) statsRun {
			partial := `data: {"batch":[]}` + "\n"
			good := dataFrame(t, seqEnvelope(1))
			srv := newSSEServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					writeSSE(w, partial) // no blank line: the event never ends
					return
				}
				writeSSE(w, string(good))
				<-r.Context().Done()
			})
			c, stream := gatewayStatsClient(ctx, t, srv.URL, srv.Client())
			mustCollect(ctx, t, stream, 1)
			return statsRun{
				got: c.Stats(), skippedEvents: c.SkippedEvents(),
				want: loggregator.RLPGatewayStats{
					Envelopes: 1, Events: 1, Requests: 2,
					Reconnects: loggregator.RLPGatewayReconnects{Network: 1},
					BytesRead:  uint64(len(partial) + len(good)), Lag: oldLag(1),
				},
				wantErr:        func(err error) bool { return err != nil && strings.Contains(err.Error(), "terminating blank line") },
				serverRequests: len(srv.requests()),
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r := tt.run(ctx, t)
			got := r.got

			if got.LastErrorTime.IsZero() != (got.LastError == nil) {
				t.Errorf("LastError %v with LastErrorTime %v", got.LastError, got.LastErrorTime)
			}
			if r.wantErr == nil && got.LastError != nil {
				t.Errorf("LastError = %v, want nil", got.LastError)
			}
			if r.wantErr != nil && !r.wantErr(got.LastError) {
				t.Errorf("LastError = %v, not the expected error", got.LastError)
			}
			if r.want.Lag.Count > 0 && got.Lag.SumSeconds <= 0 {
				t.Errorf("Lag.SumSeconds = %v for %d envelopes", got.Lag.SumSeconds, got.Lag.Count)
			}
			got.LastError, got.LastErrorTime, got.Lag.SumSeconds = nil, time.Time{}, 0
			if got != r.want {
				t.Errorf("Stats() =\n%+v\nwant\n%+v", got, r.want)
			}
			if r.skippedEvents != r.got.Skipped.Total() {
				t.Errorf("SkippedEvents() = %d, Stats().Skipped.Total() = %d", r.skippedEvents, r.got.Skipped.Total())
			}
			if r.serverRequests != refused && r.got.Requests != uint64(r.serverRequests) {
				t.Errorf("client made %d requests, server counted %d", r.got.Requests, r.serverRequests)
			}
			if r.got.Requests != 1+r.got.Reconnects.Total() {
				t.Errorf("Requests = %d, Reconnects.Total() = %d", r.got.Requests, r.got.Reconnects.Total())
			}
		})
	}
}

// TestRLPGatewayClientStatsConcurrentSafe reads Stats and SkippedEvents
// while two streams of one client receive envelopes and skip events, and
// checks that the snapshots only grow and that the totals are exact.
func TestRLPGatewayClientStatsConcurrentSafe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const streams, envelopes, malformed = 2, 400, 8
	srv := quietGateway(t)
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)))

	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		var last loggregator.RLPGatewayStats
		for {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			s := c.Stats()
			skipped := c.SkippedEvents()
			if s.Envelopes < last.Envelopes || s.Events < last.Events || s.BytesRead < last.BytesRead ||
				s.Requests < last.Requests || s.Skipped.Malformed < last.Skipped.Malformed || s.Lag.Count < last.Lag.Count {
				readerDone <- fmt.Errorf("statistics went down: %+v after %+v", s, last)
				return
			}
			if skipped < s.Skipped.Total() {
				readerDone <- fmt.Errorf("SkippedEvents() = %d read after Skipped.Total() = %d", skipped, s.Skipped.Total())
				return
			}
			last = s
		}
	}()

	// Each frame goes to one of the two streams; they share the count.
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	var received atomic.Int64
	all := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < streams; i++ {
		stream := c.Stream(sctx, logsRequest())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for envs := stream(); envs != nil; envs = stream() {
				if received.Add(int64(len(envs))) == envelopes {
					close(all)
				}
			}
		}()
	}
	waitFor(ctx, t, func() bool { return srv.OpenStreams() == streams })
	for i := 0; i < envelopes; i++ {
		if i%(envelopes/malformed) == 0 {
			if err := srv.SendRaw([]byte("data: {not json}\n\n")); err != nil {
				t.Fatal(err)
			}
		}
		if err := srv.Send(seqEnvelope(int64(i + 1))); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("received %d of %d envelopes", received.Load(), envelopes)
	}
	// A malformed frame read by one stream may still be in hand when the
	// other stream has delivered the last envelope.
	waitFor(ctx, t, func() bool {
		s := c.Stats()
		return s.Skipped.Malformed == malformed && s.Events == envelopes+malformed
	})
	s := c.Stats()
	scancel()
	wg.Wait()
	close(stop)
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	if s.Envelopes != envelopes || s.Skipped.Malformed != malformed || c.SkippedEvents() != malformed ||
		s.Events != envelopes+malformed || s.Requests != streams || s.Reconnects.Total() != 0 || s.Lag.Count != envelopes {
		t.Fatalf("Stats() = %+v after %d envelopes and %d malformed events over %d streams", s, envelopes, malformed, streams)
	}
}
