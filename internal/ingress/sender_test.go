package ingress

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/batch"
	"code.cloudfoundry.org/go-loggregator/internal/protobin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeConn is a connection that is always READY and hands out fakeStreams
// built by mk.
type fakeConn struct {
	mu      sync.Mutex
	state   connectivity.State
	opened  int
	mk      func(n int) *fakeStream
	streams []*fakeStream
	openErr error
}

func (c *fakeConn) NewStream(ctx context.Context) (Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.openErr != nil {
		return nil, c.openErr
	}
	c.opened++
	st := c.mk(c.opened)
	st.ctx = ctx
	c.streams = append(c.streams, st)
	return st, nil
}

func (c *fakeConn) GetState() connectivity.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *fakeConn) WaitForStateChange(ctx context.Context, s connectivity.State) bool {
	<-ctx.Done()
	return false
}

func (c *fakeConn) Connect() {}

// fakeStream records what was sent. sendErr fails SendMsg; closeErr is
// what RecvMsg returns after CloseSend; hang makes RecvMsg wait for the
// stream's context.
type fakeStream struct {
	ctx      context.Context
	sent     int // envelopes
	sendErr  error
	closeErr error
	hang     bool
}

func (s *fakeStream) SendMsg(m any) error {
	if s.sendErr != nil {
		return s.sendErr
	}
	n, err := protobin.CountBatchEntries(m.(*protobin.Raw).Bytes)
	if err != nil {
		return err
	}
	s.sent += n
	return nil
}

func (s *fakeStream) CloseSend() error { return nil }

func (s *fakeStream) RecvMsg(any) error {
	if s.hang {
		<-s.ctx.Done()
		return status.FromContextError(s.ctx.Err()).Err()
	}
	return s.closeErr
}

func newBuf() *batch.Buffer {
	return batch.New(batch.Config{Capacity: 1000, MaxCount: 10, MaxBytes: 1 << 20, MaxHeldBytes: 1 << 20})
}

func fill(t *testing.T, b *batch.Buffer, n int) {
	t.Helper()
	entry := []byte{0x0a, 0x02, 0x08, 0x01} // field 1: an envelope with timestamp 1
	for i := 0; i < n; i++ {
		if err := b.Add(entry); err != nil {
			t.Fatal(err)
		}
	}
}

func runSender(t *testing.T, conn Conn, buf *batch.Buffer, stats *Stats, cfg Config, closeAfter time.Duration, ctxTimeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeoutCause(context.Background(), ctxTimeout, errors.New("test close timeout"))
	defer cancel()
	s := New(ctx, conn, buf, stats, cfg)
	closing := make(chan struct{})
	time.AfterFunc(closeAfter, func() { close(closing) })
	return s.Run(closing)
}

func TestSenderDeliversAndConfirms(t *testing.T) {
	tests := []struct {
		name     string
		closeErr error
	}{
		{"status OK", nil},
		{"io.EOF", io.EOF},
		{"agent's Unknown EOF", status.Error(codes.Unknown, "EOF")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := &fakeConn{state: connectivity.Ready, mk: func(int) *fakeStream { return &fakeStream{closeErr: tc.closeErr} }}
			buf := newBuf()
			fill(t, buf, 95)
			var stats Stats
			err := runSender(t, conn, buf, &stats, Config{}, 10*time.Millisecond, 5*time.Second)
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
			if d := stats.Delivered.Load(); d != 95 {
				t.Errorf("Delivered = %d, want 95", d)
			}
			if buf.Held() != 0 {
				t.Errorf("Held = %d after Run", buf.Held())
			}
		})
	}
}

// TestSenderGivesUpAfterMaxAttempts: a stream that always breaks makes
// every batch fail MaxAttempts times; then it is given up and counted.
func TestSenderGivesUpAfterMaxAttempts(t *testing.T) {
	conn := &fakeConn{state: connectivity.Ready, mk: func(int) *fakeStream {
		return &fakeStream{sendErr: status.Error(codes.Internal, "broken")}
	}}
	buf := newBuf()
	fill(t, buf, 30)
	var stats Stats
	var logged []string
	var mu sync.Mutex
	cfg := Config{MaxAttempts: 3, Backoff: backoffFast(), Logf: func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, f)
	}}
	err := runSender(t, conn, buf, &stats, cfg, 10*time.Millisecond, 10*time.Second)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if g := stats.DroppedGivenUp.Load(); g != 30 {
		t.Errorf("DroppedGivenUp = %d, want 30", g)
	}
	if conn.opened != 9 {
		t.Errorf("%d streams opened, want 9 (3 batches x 3 attempts)", conn.opened)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(logged, "\n"), "dropping") {
		t.Errorf("give-up not logged: %q", logged)
	}
}

// TestSenderUnconfirmedDrain: the server never answers the closed stream.
// The drain resends what it cannot confirm until the close deadline and
// then counts it as not delivered.
func TestSenderUnconfirmedDrain(t *testing.T) {
	tests := []struct {
		name        string
		mk          func(int) *fakeStream
		sendTimeout time.Duration
		minStreams  int
	}{
		{"no answer within the send deadline", func(int) *fakeStream { return &fakeStream{hang: true} }, 50 * time.Millisecond, 2},
		{"error answer", func(int) *fakeStream { return &fakeStream{closeErr: status.Error(codes.Unavailable, "gone")} }, 50 * time.Millisecond, 2},
		{"sending ends while an answer is awaited", func(int) *fakeStream { return &fakeStream{hang: true} }, time.Minute, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := &fakeConn{state: connectivity.Ready, mk: tc.mk}
			buf := newBuf()
			fill(t, buf, 25)
			var stats Stats
			cfg := Config{SendTimeout: tc.sendTimeout, MaxAttempts: 1000, Backoff: backoffFast()}
			t0 := time.Now()
			err := runSender(t, conn, buf, &stats, cfg, 10*time.Millisecond, 400*time.Millisecond)
			var ue *UndeliveredError
			if !errors.As(err, &ue) || ue.N != 25 {
				t.Fatalf("Run = %v, want 25 undelivered", err)
			}
			if took := time.Since(t0); took > 2*time.Second {
				t.Errorf("Run took %v", took)
			}
			if stats.DroppedUnsent.Load() != 25 || stats.Delivered.Load() != 0 {
				t.Errorf("unsent %d, delivered %d", stats.DroppedUnsent.Load(), stats.Delivered.Load())
			}
			if conn.opened < tc.minStreams {
				t.Errorf("only %d streams, want at least %d", conn.opened, tc.minStreams)
			}
			if buf.Held() != 0 {
				t.Errorf("Held = %d", buf.Held())
			}
		})
	}
}

// TestSenderResendsAfterAbort: the first odd-numbered streams are not
// confirmed; every envelope still reaches a stream that is.
func TestSenderResendsAfterAbort(t *testing.T) {
	conn := &fakeConn{state: connectivity.Ready}
	conn.mk = func(n int) *fakeStream {
		if n%2 == 1 && n < 8 {
			return &fakeStream{closeErr: status.Error(codes.Unavailable, "aborted")}
		}
		return &fakeStream{}
	}
	buf := newBuf()
	fill(t, buf, 200)
	var stats Stats
	err := runSender(t, conn, buf, &stats, Config{Backoff: backoffFast()}, 10*time.Millisecond, 10*time.Second)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if stats.Delivered.Load() != 200 || stats.Dropped() != 0 {
		t.Errorf("delivered %d, dropped %d", stats.Delivered.Load(), stats.Dropped())
	}
	if stats.BatchesRetried.Load() == 0 {
		t.Error("nothing retried")
	}
}

// TestSenderDrainGivesUpWhenDown: with the connection failing, a drain
// returns within DownGrace with the connection's error.
func TestSenderDrainGivesUpWhenDown(t *testing.T) {
	conn := &fakeConn{state: connectivity.TransientFailure, openErr: errors.New("tls: bad certificate")}
	buf := newBuf()
	fill(t, buf, 5)
	var stats Stats
	t0 := time.Now()
	err := runSender(t, conn, buf, &stats, Config{DownGrace: 100 * time.Millisecond}, 10*time.Millisecond, 10*time.Second)
	took := time.Since(t0)
	if err == nil || !strings.Contains(err.Error(), "bad certificate") || !strings.Contains(err.Error(), "5 envelopes") {
		t.Errorf("Run = %v", err)
	}
	if took > time.Second {
		t.Errorf("took %v", took)
	}
}

func backoffFast() (c backoffConfig) {
	c.BaseDelay, c.MaxDelay = time.Millisecond, 5*time.Millisecond
	return c
}

func TestPacer(t *testing.T) {
	p := pacer{cfg: Pace{StartRate: 1000, DoublingTime: 500 * time.Millisecond, MaxRate: 64000, Burst: 100}.resolved()}
	now := time.Unix(1000, 0)
	if d := p.delay(now, 100); d != 0 {
		t.Fatalf("inactive pacer delays %v", d)
	}
	p.restart(now)
	if d := p.delay(now, 100); d != 0 {
		t.Fatalf("first batch delayed %v", d)
	}
	p.add(100)
	// budget(t) = 100 + 1000*0.5/ln2*(2^(t/0.5)-1); 200 envelopes need
	// 2^(2t) = 1 + 100*ln2/500.
	want := 0.5 * math.Log2(1+100*math.Ln2/500)
	if d := p.delay(now, 100).Seconds(); math.Abs(d-want) > 1e-3 {
		t.Errorf("delay %v s, want %v s", d, want)
	}
	// After log2(64) doublings the rate reaches MaxRate and pacing ends.
	if d := p.delay(now.Add(3100*time.Millisecond), 1_000_000); d != 0 || p.active {
		t.Errorf("pacing not ended: %v, active %v", d, p.active)
	}
}

func TestCleanEnd(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, true},
		{io.EOF, true},
		{status.Error(codes.Unknown, "EOF"), true},
		{status.Error(codes.Unknown, "something else"), false},
		{status.Error(codes.Unavailable, "EOF"), false},
		{errors.New("EOF"), false},
	}
	for _, tc := range tests {
		if got := cleanEnd(tc.err); got != tc.want {
			t.Errorf("cleanEnd(%v) = %v", tc.err, got)
		}
	}
}

type backoffConfig = backoff.Config

// TestSenderCountsReconnects: a stream opened after the newest stream
// failed is a reconnect; the first stream, streams replacing a confirmed
// one, and the stream already open when an older stream's answer turns
// out to be a failure are not.
func TestSenderCountsReconnects(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "gone")
	tests := []struct {
		name           string
		mk             func(n int) *fakeStream
		envelopes      int
		maxAttempts    int
		maxUnconfirmed int
		wantReconnects uint64
		wantDelivered  uint64
		wantBatches    uint64 // confirmed batches
	}{
		{"healthy", func(int) *fakeStream { return &fakeStream{} }, 95, 0, 0, 0, 95, 10},
		{"first stream breaks while sending", func(n int) *fakeStream {
			if n == 1 {
				return &fakeStream{sendErr: unavailable}
			}
			return &fakeStream{}
		}, 100, 0, 0, 1, 100, 10},
		// The first stream is confirmed in the background after 5
		// batches; its failed answer is handled when the second stream,
		// already open, is closed in turn.
		{"late answer of a replaced stream", func(n int) *fakeStream {
			if n == 1 {
				return &fakeStream{closeErr: unavailable}
			}
			return &fakeStream{}
		}, 100, 0, 50, 0, 100, 10},
		// Three batches, three attempts each, on nine streams that all
		// break: every stream after the first is a reconnect.
		{"every stream breaks", func(int) *fakeStream { return &fakeStream{sendErr: unavailable} }, 30, 3, 0, 8, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := &fakeConn{state: connectivity.Ready, mk: tc.mk}
			buf := newBuf()
			fill(t, buf, tc.envelopes)
			var stats Stats
			cfg := Config{MaxAttempts: tc.maxAttempts, MaxUnconfirmed: tc.maxUnconfirmed, Backoff: backoffFast()}
			if err := runSender(t, conn, buf, &stats, cfg, 10*time.Millisecond, 10*time.Second); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if failed := stats.StreamFailures.Load() > 0; failed != (tc.name != "healthy") {
				t.Errorf("%d stream failures", stats.StreamFailures.Load())
			}
			if got := stats.Reconnects.Load(); got != tc.wantReconnects {
				t.Errorf("Reconnects = %d, want %d (%d streams opened, %d failures)", got, tc.wantReconnects,
					stats.StreamsOpened.Load(), stats.StreamFailures.Load())
			}
			if got := stats.Delivered.Load(); got != tc.wantDelivered {
				t.Errorf("Delivered = %d, want %d", got, tc.wantDelivered)
			}
			if got := stats.BatchesDelivered.Load(); got != tc.wantBatches {
				t.Errorf("BatchesDelivered = %d, want %d", got, tc.wantBatches)
			}
			if got := stats.Delivered.Load() + stats.Dropped(); got != uint64(tc.envelopes) {
				t.Errorf("delivered + dropped = %d, want %d", got, tc.envelopes)
			}
		})
	}
}

func TestStatsDropsAndEmitWaits(t *testing.T) {
	var s Stats
	s.DroppedFull.Add(1)
	s.DroppedDown.Add(2)
	s.EvictedDown.Add(3)
	s.DroppedClosed.Add(4)
	s.DroppedInvalid.Add(5)
	s.DroppedGivenUp.Add(6)
	s.DroppedUnsent.Add(7)
	want := Drops{Full: 1, Down: 2, Evicted: 3, Closed: 4, Invalid: 5, GivenUp: 6, Unsent: 7}
	if got := s.Drops(); got != want || got.Total() != 28 || s.Dropped() != 28 {
		t.Errorf("Drops() = %+v (total %d), Dropped() = %d; want %+v, 28", got, got.Total(), s.Dropped(), want)
	}
	for _, d := range []time.Duration{3 * time.Millisecond, 10 * time.Millisecond, time.Millisecond, -time.Second} {
		s.AddEmitWait(d)
	}
	if n, total, m := s.EmitWaits.Load(), s.EmitWaitNanos.Load(), s.EmitWaitMax.Load(); n != 4 || total != int64(14*time.Millisecond) || m != int64(10*time.Millisecond) {
		t.Errorf("waits %d, total %v, max %v; want 4, 14ms, 10ms", n, time.Duration(total), time.Duration(m))
	}
	at0 := time.Now()
	s.SetLastError(errors.New("older"))
	s.SetLastError(errors.New("newest"))
	s.SetLastError(nil) // ignored
	at, err := s.LastError()
	if err == nil || err.Error() != "newest" || at.Before(at0) {
		t.Errorf("LastError = %v at %v", err, at)
	}
}
