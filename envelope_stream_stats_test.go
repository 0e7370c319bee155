package loggregator_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// Each test here drives a real EnvelopeStreamConnector against the
// in-process egress server into one counted situation and asserts the
// exact counts of Stats.

// stampedLog is a log envelope with source id id, sequence number seq in
// its "seq" tag and timestamp ts.
func stampedLog(id string, seq int, ts int64) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{
		SourceId:  id,
		Timestamp: ts,
		Tags:      map[string]string{"seq": fmt.Sprint(seq)},
		Message:   &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("line " + fmt.Sprint(seq))}},
	}
}

// readN reads s until n envelopes have arrived and returns how many calls
// of s that took.
func readN(t *testing.T, s loggregator.EnvelopeStream, n int) int {
	t.Helper()
	calls := 0
	for got := 0; got < n; calls++ {
		b := s()
		if b == nil {
			t.Fatalf("stream ended after %d of %d envelopes", got, n)
		}
		got += len(b)
		if got > n {
			t.Fatalf("read %d envelopes, want %d", got, n)
		}
	}
	return calls
}

// readOne reads the next envelope of s, which must come alone, and checks
// its source id.
func readOne(t *testing.T, s loggregator.EnvelopeStream, id string) {
	t.Helper()
	b := s()
	if len(b) != 1 || b[0].GetSourceId() != id {
		t.Fatalf("got %v, want one envelope from %q", b, id)
	}
}

// lineSignal is a Logger that signals on a channel each line containing
// a substring. The connector records an error in Stats before it logs it,
// so a line seen here proves the error is in Stats.
type lineSignal struct {
	t    *testing.T
	want string
	ch   chan string
}

func newLineSignal(t *testing.T, want string) *lineSignal {
	return &lineSignal{t: t, want: want, ch: make(chan string, 1000)}
}

func (l *lineSignal) Printf(format string, v ...any) {
	if line := fmt.Sprintf(format, v...); strings.Contains(line, l.want) {
		select {
		case l.ch <- line:
		default:
		}
	}
}

func (l *lineSignal) Panicf(format string, v ...any) {
	l.t.Errorf("library called Panicf: "+format, v...)
}

func (l *lineSignal) wait(ctx context.Context) string {
	l.t.Helper()
	select {
	case line := <-l.ch:
		return line
	case <-ctx.Done():
		l.t.Fatalf("no log line containing %q", l.want)
		return ""
	}
}

func TestEnvelopeStreamStatsCountsReceived(t *testing.T) {
	// A batch of 300 logs of 5 KiB is about 3.5 MiB of estimate: the
	// stream returns it in several parts, and it still counts as one
	// batch.
	big := strings.Repeat("x", 5<<10)
	tests := []struct {
		name        string
		sizes       []int // envelopes per batch, in order
		payload     string
		wantMoreOut bool // the stream returns more parts than batches
	}{
		{"one envelope", []int{1}, "", false},
		{"batches of known sizes", []int{1, 5, 100, 7, 42}, "", false},
		{"an empty batch counts", []int{3, 0, 2}, "", false},
		{"a split batch counts once", []int{300}, big, true},
	}
	for _, mode := range streamModes {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				srv, certs := startEgress(t)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				c := newConnector(srv, certs, mode.opts...)
				if got := c.Stats(); got.Envelopes != 0 || got.Batches != 0 || got.Lag.Count != 0 {
					t.Fatalf("fresh connector: %+v", got)
				}
				s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
				total, seq := 0, 0
				ts := time.Now().UnixNano()
				for _, n := range tt.sizes {
					envs := make([]*loggregator_v2.Envelope, n)
					for i := range envs {
						envs[i] = stampedLog("a", seq, ts)
						envs[i].GetLog().Payload = append(envs[i].GetLog().Payload, tt.payload...)
						seq++
					}
					srv.SendBatch(envs)
					total += n
				}
				calls := readN(t, s, total)
				if tt.wantMoreOut && calls <= len(tt.sizes) {
					t.Fatalf("%d calls for %d batches: the batch was not split, the test proves nothing", calls, len(tt.sizes))
				}
				got := c.Stats()
				if got.Envelopes != uint64(total) || got.Batches != uint64(len(tt.sizes)) {
					t.Fatalf("Envelopes %d Batches %d, want %d %d", got.Envelopes, got.Batches, total, len(tt.sizes))
				}
				if got.Dropped != 0 || got.Reconnects != 0 || got.LastError != nil || !got.LastErrorTime.IsZero() {
					t.Fatalf("Dropped %d Reconnects %d LastError %v at %v, want none", got.Dropped, got.Reconnects, got.LastError, got.LastErrorTime)
				}
				if got.Lag.Count != uint64(total) || got.Lag.MissingTimestamps != 0 || got.Lag.FutureTimestamps != 0 {
					t.Fatalf("Lag %+v, want %d observations", got.Lag, total)
				}
			})
		}
	}
}

// TestEnvelopeStreamStatsReconnects ends the stream three times in each
// of the ways a stream ends; each end adds exactly one reconnect, and the
// server saw exactly one stream more than that.
func TestEnvelopeStreamStatsReconnects(t *testing.T) {
	tests := []struct {
		name    string
		end     func(*testing.T, *testhelpers.EgressServer)
		wantErr string // in LastError; "" for none
	}{
		{"server restart", func(t *testing.T, srv *testhelpers.EgressServer) {
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
		}, "code = Unavailable"},
		{"stream dropped with an error", func(_ *testing.T, srv *testhelpers.EgressServer) { srv.DropStreams() }, "testhelpers: stream dropped"},
		{"stream ended cleanly", func(_ *testing.T, srv *testhelpers.EgressServer) { srv.EndStreams() }, ""},
	}
	const ends = 3
	for _, mode := range streamModes {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				srv, certs := startEgress(t)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				c := newConnector(srv, certs, mode.opts...)
				s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
				for i := 0; i < ends; i++ {
					id := fmt.Sprint("before-", i)
					srv.Send(stampedLog(id, i, time.Now().UnixNano()))
					readOne(t, s, id) // the stream is open
					if got := c.Stats().Reconnects; got != uint64(i) {
						t.Fatalf("after %d ends: Reconnects %d", i, got)
					}
					tt.end(t, srv)
				}
				srv.Send(stampedLog("after", ends, time.Now().UnixNano()))
				readOne(t, s, "after")
				got := c.Stats()
				if got.Reconnects != ends {
					t.Fatalf("Reconnects %d after %d ends, want %d", got.Reconnects, ends, ends)
				}
				if spans := srv.StreamSpans(); len(spans) != ends+1 {
					t.Fatalf("server saw %d streams, want %d", len(spans), ends+1)
				}
				if got.Envelopes != ends+1 || got.Batches != ends+1 {
					t.Fatalf("Envelopes %d Batches %d, want %d each", got.Envelopes, got.Batches, ends+1)
				}
				switch {
				case tt.wantErr == "" && got.LastError != nil:
					t.Fatalf("LastError %v after clean ends", got.LastError)
				case tt.wantErr != "" && (got.LastError == nil || !strings.Contains(got.LastError.Error(), tt.wantErr)):
					t.Fatalf("LastError %v, want one containing %q", got.LastError, tt.wantErr)
				case tt.wantErr != "" && got.LastErrorTime.IsZero():
					t.Fatal("LastError without a time")
				}
			})
		}
	}
}

// TestEnvelopeStreamStatsBufferDrops overruns a stalled consumer's buffer.
// The server ends the stream after the last batch, and the reading
// goroutine reopens only once it has queued every batch of the old
// stream, so the second stream attempt proves every batch reached the
// buffer before the consumer read anything: the drops are exact.
func TestEnvelopeStreamStatsBufferDrops(t *testing.T) {
	tests := []struct {
		name        string
		size        int   // WithEnvelopeStreamBuffer size
		bytes       int   // WithEnvelopeStreamBufferBytes, 0: not given
		sizes       []int // envelopes per batch, repeated
		batches     int
		wantRead    int // -1: not known in advance
		wantUniform int // uniform batch size, 0: not uniform
	}{
		// The buffer keeps the newest 2 batches of 3: 6 read, 894 dropped.
		{"uniform batches", 2, 0, []int{3}, 300, 6, 3},
		// The newest 4 batches, 296..299 of the cycle 1, 2, 3, hold 3, 1,
		// 2 and 3 envelopes: 9 read, 600-9 dropped.
		{"mixed batch sizes", 4, 0, []int{1, 2, 3}, 300, 9, 0},
		// About 3 KiB per batch of 3 logs, so 8 KiB holds 2 or 3 batches.
		{"byte bound", 1000, 8 << 10, []int{3}, 300, -1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, certs := startEgress(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var alerted atomic.Uint64
			opts := []loggregator.EnvelopeStreamOption{
				loggregator.WithEnvelopeStreamBuffer(tt.size, func(n int) { alerted.Add(uint64(n)) }),
			}
			if tt.bytes > 0 {
				opts = append(opts, loggregator.WithEnvelopeStreamBufferBytes(tt.bytes))
			}
			c := newConnector(srv, certs, opts...)
			s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			sent, seq := 0, 0
			ts := time.Now().UnixNano()
			for b := 0; b < tt.batches; b++ {
				envs := make([]*loggregator_v2.Envelope, tt.sizes[b%len(tt.sizes)])
				for i := range envs {
					envs[i] = stampedLog("a", seq, ts)
					seq++
				}
				srv.SendBatch(envs)
				sent += len(envs)
			}
			if err := srv.WaitForDrained(ctx); err != nil {
				t.Fatal(err)
			}
			srv.EndStreams()
			if err := srv.WaitForAttempts(ctx, 2); err != nil {
				t.Fatal(err)
			}
			// Read up to the last envelope sent, which is never dropped
			// (the buffer drops its oldest batches).
			read := 0
			for last := ""; last != fmt.Sprint(seq-1); {
				b := s()
				if b == nil {
					t.Fatalf("stream ended after %d envelopes", read)
				}
				read += len(b)
				last = b[len(b)-1].GetTags()["seq"]
			}
			got := c.Stats()
			t.Logf("sent %d, read %d, Dropped %d, alerter %d batches", sent, read, got.Dropped, alerted.Load())
			if tt.wantRead >= 0 && read != tt.wantRead {
				t.Fatalf("read %d envelopes, want %d", read, tt.wantRead)
			}
			if got.Dropped == 0 || got.Dropped != uint64(sent-read) {
				t.Fatalf("Dropped %d, want sent - read = %d - %d = %d", got.Dropped, sent, read, sent-read)
			}
			if tt.wantUniform > 0 && got.Dropped != alerted.Load()*uint64(tt.wantUniform) {
				t.Fatalf("Dropped %d envelopes != alerter's %d batches x %d", got.Dropped, alerted.Load(), tt.wantUniform)
			}
			if got.Envelopes != uint64(sent) || got.Batches != uint64(tt.batches) {
				t.Fatalf("Envelopes %d Batches %d, want %d %d (received counts include dropped)", got.Envelopes, got.Batches, sent, tt.batches)
			}
			if got.Reconnects != 1 || got.LastError != nil {
				t.Fatalf("Reconnects %d LastError %v, want 1 (after the clean end) and none", got.Reconnects, got.LastError)
			}
		})
	}
}

// TestEnvelopeStreamStatsUnbufferedNeverDrops: without a buffer, a
// stalled consumer slows the server down; nothing is counted as dropped.
func TestEnvelopeStreamStatsUnbufferedNeverDrops(t *testing.T) {
	srv, certs := startEgress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := newConnector(srv, certs)
	s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
	const batches, perBatch = 300, 3
	sendBatches(srv, batches, perBatch)
	if err := srv.WaitForDrained(ctx); err != nil {
		t.Fatal(err)
	}
	readN(t, s, batches*perBatch)
	if got := c.Stats(); got.Dropped != 0 || got.Envelopes != batches*perBatch || got.Batches != batches {
		t.Fatalf("Dropped %d Envelopes %d Batches %d, want 0 %d %d", got.Dropped, got.Envelopes, got.Batches, batches*perBatch, batches)
	}
}

// TestEnvelopeStreamStatsLagBuckets sends envelopes stamped in the past
// (and one in the future, one without a timestamp) and checks the bucket
// each lands in. The delivery time, well under a second, cannot move any
// of them across a bucket bound.
func TestEnvelopeStreamStatsLagBuckets(t *testing.T) {
	bounds := loggregator.LagBucketBounds()
	bucket := func(le time.Duration) int {
		for i, b := range bounds {
			if b == le {
				return i
			}
		}
		t.Fatalf("no bucket bound %v", le)
		return -1
	}
	inf := loggregator.NumLagBuckets - 1
	tests := []struct {
		name       string
		lags       []time.Duration // how long before sending each is stamped
		future     int             // envelopes stamped an hour ahead
		missing    int             // envelopes without a timestamp
		wantCounts map[int]uint64
	}{
		{"2s ago", []time.Duration{2 * time.Second}, 0, 0, map[int]uint64{bucket(5 * time.Second): 1}},
		{"20s ago", []time.Duration{20 * time.Second}, 0, 0, map[int]uint64{bucket(30 * time.Second): 1}},
		{"2min ago", []time.Duration{2 * time.Minute}, 0, 0, map[int]uint64{inf: 1}},
		{"mixed", []time.Duration{2 * time.Second, 2 * time.Second, 20 * time.Second, 45 * time.Second, 2 * time.Minute, time.Hour}, 0, 0,
			map[int]uint64{bucket(5 * time.Second): 2, bucket(30 * time.Second): 1, bucket(time.Minute): 1, inf: 2}},
		{"future and missing", []time.Duration{2 * time.Second}, 2, 3, map[int]uint64{0: 2, bucket(5 * time.Second): 1}},
	}
	for _, mode := range streamModes {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				srv, certs := startEgress(t)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				c := newConnector(srv, certs, mode.opts...)
				s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
				start := time.Now()
				var envs []*loggregator_v2.Envelope
				var wantSum time.Duration
				for i, l := range tt.lags {
					envs = append(envs, stampedLog("a", i, start.Add(-l).UnixNano()))
					wantSum += l
				}
				for i := 0; i < tt.future; i++ {
					envs = append(envs, stampedLog("a", len(envs), start.Add(time.Hour).UnixNano()))
				}
				for i := 0; i < tt.missing; i++ {
					envs = append(envs, stampedLog("a", len(envs), 0))
				}
				srv.SendBatch(envs)
				readN(t, s, len(envs))
				transit := time.Since(start)
				lag := c.Stats().Lag
				var want [loggregator.NumLagBuckets]uint64
				var wantCount uint64
				for i, n := range tt.wantCounts {
					want[i] = n
					wantCount += n
				}
				if lag.Counts != want {
					t.Fatalf("Counts %v, want %v (bounds %v)", lag.Counts, want, bounds)
				}
				if lag.Count != wantCount || lag.FutureTimestamps != uint64(tt.future) || lag.MissingTimestamps != uint64(tt.missing) {
					t.Fatalf("Count %d Future %d Missing %d, want %d %d %d",
						lag.Count, lag.FutureTimestamps, lag.MissingTimestamps, wantCount, tt.future, tt.missing)
				}
				// Each stamped lag adds at most the transit time; future
				// timestamps add nothing.
				lo, hi := wantSum.Seconds(), (wantSum + time.Duration(len(tt.lags))*transit).Seconds()
				if lag.SumSeconds < lo-1e-6 || lag.SumSeconds > hi+1e-6 {
					t.Fatalf("SumSeconds %v, want within [%v, %v]", lag.SumSeconds, lo, hi)
				}
			})
		}
	}
}

// TestEnvelopeStreamStatsLastError makes the server refuse streams, and
// then makes it unreachable before a stream starts: LastError holds the
// error of the latest failed attempt, with its time. A logger tells the
// test when an attempt has failed (the error is recorded before it is
// logged).
func TestEnvelopeStreamStatsLastError(t *testing.T) {
	t.Run("server refuses", func(t *testing.T) {
		srv, certs := startEgress(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		logs := newLineSignal(t, "testhelpers: stream refused")
		c := newConnector(srv, certs, loggregator.WithEnvelopeStreamLogger(logs))
		s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
		srv.Send(stampedLog("first", 0, time.Now().UnixNano()))
		readOne(t, s, "first")
		if got := c.Stats(); got.LastError != nil {
			t.Fatalf("LastError %v before any failure", got.LastError)
		}

		before := time.Now()
		srv.RefuseStreams(true)
		srv.DropStreams()
		logs.wait(ctx)
		logs.wait(ctx) // two refused attempts
		got := c.Stats()
		if status.Code(got.LastError) != codes.Unavailable || !strings.Contains(got.LastError.Error(), "testhelpers: stream refused") {
			t.Fatalf("LastError %v, want the server's refusal (Unavailable)", got.LastError)
		}
		if got.LastErrorTime.Before(before) || got.LastErrorTime.After(time.Now()) {
			t.Fatalf("LastErrorTime %v not between %v and now", got.LastErrorTime, before)
		}

		// Back to serving: the refusal stays the last error, and every
		// stream the client opened after the first (the refused ones,
		// opened before the server answered, and the working one) is
		// one reconnect.
		srv.RefuseStreams(false)
		srv.Send(stampedLog("second", 1, time.Now().UnixNano()))
		readOne(t, s, "second")
		after := c.Stats()
		if !errors.Is(after.LastError, got.LastError) || !after.LastErrorTime.Equal(got.LastErrorTime) {
			t.Fatalf("LastError changed to %v at %v without a new failure", after.LastError, after.LastErrorTime)
		}
		attempts := srv.StreamAttempts()
		if attempts < 4 || after.Reconnects != uint64(attempts-1) {
			t.Fatalf("Reconnects %d, want the server's %d stream attempts - 1", after.Reconnects, attempts)
		}
	})

	t.Run("server unreachable from the start", func(t *testing.T) {
		srv, certs := startEgress(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Suspend(); err != nil {
			t.Fatal(err)
		}
		logs := newLineSignal(t, "Error connecting to Logs Provider")
		c := newConnector(srv, certs, loggregator.WithEnvelopeStreamLogger(logs))
		before := time.Now()
		s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
		logs.wait(ctx)
		got := c.Stats()
		if status.Code(got.LastError) != codes.Unavailable || got.LastErrorTime.Before(before) {
			t.Fatalf("LastError %v at %v, want Unavailable after %v", got.LastError, got.LastErrorTime, before)
		}
		if err := srv.Resume(); err != nil {
			t.Fatal(err)
		}
		srv.Send(stampedLog("late", 0, time.Now().UnixNano()))
		readOne(t, s, "late")
		// The first stream that opens is not a reconnect, however many
		// attempts failed before it.
		if got := c.Stats(); got.Reconnects != 0 || got.Envelopes != 1 || got.LastError == nil {
			t.Fatalf("Reconnects %d Envelopes %d LastError %v, want 0 1 and the connect error", got.Reconnects, got.Envelopes, got.LastError)
		}
	})
}

// TestEnvelopeStreamStatsBadDialConfiguration: dial options gRPC rejects
// leave the stream waiting for its context; the error is in Stats.
func TestEnvelopeStreamStatsBadDialConfiguration(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := loggregator.NewEnvelopeStreamConnector("127.0.0.1:1", nil,
		loggregator.WithEnvelopeStreamConnectorDialOptions(grpc.WithDefaultServiceConfig("{not json")))
	before := time.Now()
	s := c.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
	got := c.Stats()
	cancel()
	if s() != nil {
		t.Fatal("stream returned data")
	}
	if got.LastError == nil || !strings.Contains(got.LastError.Error(), "invalid gRPC dial configuration") || got.LastErrorTime.Before(before) {
		t.Fatalf("LastError %v at %v, want the dial configuration error after %v", got.LastError, got.LastErrorTime, before)
	}
	if got.Reconnects != 0 || got.Envelopes != 0 {
		t.Fatalf("Reconnects %d Envelopes %d, want 0 0", got.Reconnects, got.Envelopes)
	}
}

// TestEnvelopeStreamStatsConcurrentSafe runs two streams of one connector
// while other goroutines take snapshots; counts never go backwards and the
// final counts are the sums over both streams.
func TestEnvelopeStreamStatsConcurrentSafe(t *testing.T) {
	srv, certs := startEgress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := newConnector(srv, certs)
	const streams, batches, perBatch = 2, 200, 5
	var readers sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var last loggregator.EnvelopeStreamStats
			for {
				s := c.Stats()
				if s.Envelopes < last.Envelopes || s.Batches < last.Batches || s.Lag.Count < last.Lag.Count {
					errs <- fmt.Errorf("snapshot went backwards: %+v after %+v", s, last)
					return
				}
				last = s
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	// The server hands each batch to one of the streams, not evenly: the
	// readers stop the streams once they have everything between them.
	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var total atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < streams; i++ {
		s := c.Stream(sctx, &loggregator_v2.EgressBatchRequest{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := s(); b != nil; b = s() {
				if total.Add(int64(len(b))) == batches*perBatch {
					stopStreams()
				}
			}
		}()
	}
	if err := srv.WaitForStreams(ctx, streams); err != nil {
		t.Fatal(err)
	}
	sendBatches(srv, batches, perBatch)
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if total.Load() != batches*perBatch {
		t.Fatalf("read %d envelopes, want %d", total.Load(), batches*perBatch)
	}
	got := c.Stats()
	if got.Envelopes != batches*perBatch || got.Batches != batches || got.Lag.Count+got.Lag.MissingTimestamps != batches*perBatch {
		t.Fatalf("Envelopes %d Batches %d Lag.Count %d, want %d %d", got.Envelopes, got.Batches, got.Lag.Count, batches*perBatch, batches)
	}
}

var statsSink loggregator.EnvelopeStreamStats

// TestEnvelopeStreamStatsDoesNotAllocate: a snapshot is free to take.
func TestEnvelopeStreamStatsDoesNotAllocate(t *testing.T) {
	c := loggregator.NewEnvelopeStreamConnector("127.0.0.1:1", nil)
	if n := testing.AllocsPerRun(100, func() { statsSink = c.Stats() }); n != 0 {
		t.Fatalf("Stats allocates %v times", n)
	}
}
