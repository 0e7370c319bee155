package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/connectivity"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/batch"
	"code.cloudfoundry.org/go-loggregator/internal/protobin"
)

// Config configures a Sender. Zero durations and counts take the defaults
// named on each field.
type Config struct {
	// FlushInterval is how often a partial batch is sent (100 ms).
	FlushInterval time.Duration
	// SendTimeout bounds each blocking stream operation: opening a
	// stream, one SendMsg, and the server's answer when a stream is
	// closed (5 s). An overrun counts as a failed attempt.
	SendTimeout time.Duration
	// MaxAttempts is how many failed streams a batch survives (5).
	MaxAttempts int
	// ConfirmInterval is the longest time a batch stays unconfirmed on a
	// stream that is otherwise idle before the stream is closed to
	// confirm it (250 ms).
	ConfirmInterval time.Duration
	// MaxUnconfirmed and MaxUnconfirmedBytes close a stream to confirm
	// it once that many envelopes or bytes were sent on it (2500, 1 MiB).
	MaxUnconfirmed      int
	MaxUnconfirmedBytes int
	// DownGrace is how long a connection must have been in
	// TRANSIENT_FAILURE for a drain to give up (700 ms); a drain that
	// starts later gives up at once. It should be longer than the
	// connection's reconnect delay, so that at least one more connection
	// attempt is made.
	DownGrace time.Duration
	// Backoff paces stream retries on a connection that is ready.
	Backoff backoff.Config
	// Pace paces sending after a failure.
	Pace Pace
	// Logf logs background errors; nil discards.
	Logf func(format string, args ...any)
	// OnDrop is called (on the sender's goroutine) after the sender
	// counted dropped envelopes; it must not block.
	OnDrop func()
}

func (c *Config) resolve() {
	if c.FlushInterval <= 0 {
		c.FlushInterval = 100 * time.Millisecond
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 5 * time.Second
	}
	if c.MaxAttempts < 1 {
		c.MaxAttempts = 5
	}
	if c.ConfirmInterval <= 0 {
		c.ConfirmInterval = 250 * time.Millisecond
	}
	if c.MaxUnconfirmed < 1 {
		c.MaxUnconfirmed = 2500
	}
	if c.MaxUnconfirmedBytes < 1 {
		c.MaxUnconfirmedBytes = 1 << 20
	}
	if c.DownGrace <= 0 {
		c.DownGrace = 700 * time.Millisecond
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.OnDrop == nil {
		c.OnDrop = func() {}
	}
	c.Pace = c.Pace.resolved()
}

// maxWindow caps the number of batches per stream; the envelope and byte
// limits normally apply first. A window at maxWindow (ten clean streams
// after a failure) also lets confirmations run in the background.
const maxWindow = 1 << 10

// Sender sends the batches of a batch.Buffer on BatchSender streams. Run
// it on one goroutine; Accepting and MarkStalled are safe for concurrent
// use by emitters.
type Sender struct {
	cfg   Config
	conn  Conn
	buf   *batch.Buffer
	stats *Stats
	ctx   context.Context

	down     atomic.Bool  // the connection is in TRANSIENT_FAILURE
	connLost atomic.Bool  // the connection left READY since the last stream opened
	stalled  atomic.Bool  // nothing was confirmed for a bounded time
	progress atomic.Int64 // UnixNano of the latest batch written or confirmed
	stateCh  chan struct{}

	// Owned by Run.
	st          Stream
	stCancel    context.CancelFunc
	watchdog    *time.Timer
	timedOut    *atomic.Bool // set by the current stream's watchdog
	pending     *batch.Batch // taken, not yet sent
	unconf      []*batch.Batch
	unconfN     int
	unconfBytes int
	unconfSince time.Time
	window      int
	bo          *backoff.Backoff
	pace        pacer
	holdUntil   time.Time // no stream before this (backoff)
	paceNext    bool      // the connection was lost: pace the next stream
	waitConn    bool      // wait for a state change before opening a stream
	streamSeq   uint64    // number of the newest stream opened (1 for the first)
	failedSince bool      // the newest stream, or opening one, failed since streamSeq opened
	downSince   time.Time
	wake        *time.Timer
	wakeAt      time.Time
	raw         protobin.Raw

	confirming    bool // a closed stream's answer is awaited
	confirmCancel context.CancelFunc
	confirmed     chan confirmResult
	confirmWG     sync.WaitGroup
}

// New returns a Sender for buf on conn. ctx ends sending for good.
func New(ctx context.Context, conn Conn, buf *batch.Buffer, stats *Stats, cfg Config) *Sender {
	cfg.resolve()
	w := time.NewTimer(time.Hour)
	w.Stop()
	s := &Sender{
		cfg: cfg, conn: conn, buf: buf, stats: stats, ctx: ctx,
		stateCh:   make(chan struct{}, 1),
		confirmed: make(chan confirmResult, 1),
		window:    maxWindow,
		bo:        backoff.New(cfg.Backoff),
		pace:      pacer{cfg: cfg.Pace},
		wake:      w,
	}
	return s
}

// Accepting reports whether emitters should wait for room: the connection
// is not failing and the server has not been found stalled.
func (s *Sender) Accepting() bool { return !s.down.Load() && !s.stalled.Load() }

// MarkStalled records that an emitter waited since t0 for room in vain:
// unless the Sender made progress since t0 (a batch written or confirmed),
// emitters drop at once until the server confirms a stream again.
func (s *Sender) MarkStalled(t0 time.Time) {
	if s.progress.Load() < t0.UnixNano() {
		s.stalled.Store(true)
	}
}

// Run sends until closing is closed and everything held was confirmed or
// given up (then it returns nil or an error counting what was not
// delivered), or until the Sender's context ends (then it returns an
// error wrapping the context's cause). Either way it closes the buffer,
// releases every batch and counts what was not delivered.
func (s *Sender) Run(closing <-chan struct{}) error {
	wctx, wcancel := context.WithCancel(s.ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watch(wctx)
	}()
	defer wg.Wait()
	defer wcancel()
	defer s.wake.Stop()
	defer s.confirmWG.Wait()

	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	draining := false
	var drainStart time.Time
	for {
		now := time.Now()
		if draining {
			if s.buf.Held() == 0 {
				s.closeStream()
				return nil
			}
			if s.down.Load() {
				if s.downSince.IsZero() {
					s.downSince = now
				}
				if at := laterOf(s.downSince.Add(s.cfg.DownGrace), drainStart); !now.Before(at) {
					_, err := s.stats.LastError()
					if err == nil {
						err = errors.New("connection failing")
					}
					return s.stop(fmt.Errorf("agent unreachable: %w", err))
				} else {
					s.armWake(now, at)
				}
			}
		}
		partial := true
		select {
		case <-closing:
			closing = nil
			draining = true
			drainStart = time.Now()
			s.buf.Close()
		case <-s.ctx.Done():
			return s.stop(context.Cause(s.ctx))
		case <-tick.C:
		case <-s.buf.Ready():
			partial = draining
		case <-s.wake.C:
			s.wakeAt = time.Time{}
		case r := <-s.confirmed:
			s.finishConfirm(r)
		case <-s.stateCh:
			s.waitConn = false
			if s.down.Load() {
				if s.downSince.IsZero() {
					s.downSince = time.Now()
				}
			} else {
				s.downSince = time.Time{}
			}
		}
		s.pump(partial, draining)
	}
}

// watch follows the connection state: it keeps the connection out of
// IDLE, records TRANSIENT_FAILURE, wakes waiting emitters when the
// connection fails and tells Run about every change.
func (s *Sender) watch(ctx context.Context) {
	prev := connectivity.Idle
	for {
		st := s.conn.GetState()
		if prev == connectivity.Ready && st != connectivity.Ready {
			s.connLost.Store(true)
		}
		prev = st
		down := st == connectivity.TransientFailure
		if s.down.Swap(down) != down && down {
			s.buf.Wake()
		}
		if st == connectivity.Idle {
			s.conn.Connect()
		}
		select {
		case s.stateCh <- struct{}{}:
		default:
		}
		if st == connectivity.Shutdown || !s.conn.WaitForStateChange(ctx, st) {
			return
		}
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// armWake makes the wake timer fire at at, unless it fires earlier.
func (s *Sender) armWake(now, at time.Time) {
	if !s.wakeAt.IsZero() && !s.wakeAt.After(at) {
		return
	}
	s.wake.Stop()
	select {
	case <-s.wake.C:
	default:
	}
	s.wakeAt = at
	s.wake.Reset(max(at.Sub(now), 0))
}

// pump sends what it may: batches from the buffer (partial ones too when
// partial), closing the stream to confirm it when its window is full or,
// with nothing left to send, when the oldest unconfirmed batch is old
// enough or draining.
func (s *Sender) pump(partial, draining bool) {
	for {
		now := time.Now()
		if s.waitConn || s.ctx.Err() != nil {
			return
		}
		if now.Before(s.holdUntil) {
			s.armWake(now, s.holdUntil)
			return
		}
		if s.pending == nil {
			s.pending = s.buf.Take(partial)
		}
		if s.pending == nil {
			if len(s.unconf) == 0 {
				return
			}
			due := s.unconfSince.Add(s.cfg.ConfirmInterval)
			if !draining && now.Before(due) {
				s.armWake(now, due)
				return
			}
			if !s.confirm() {
				return
			}
			continue
		}
		if d := s.pace.delay(now, s.pending.N); d > 0 {
			s.armWake(now, now.Add(d))
			return
		}
		if s.st == nil && !s.open() {
			return
		}
		if !s.send() {
			return
		}
		if len(s.unconf) >= s.window || s.unconfN >= s.cfg.MaxUnconfirmed || s.unconfBytes >= s.cfg.MaxUnconfirmedBytes {
			if !s.confirm() {
				return
			}
		}
	}
}

// open opens a stream when the connection is ready or failing (a
// fail-fast NewStream then returns the connection's error at once).
func (s *Sender) open() bool {
	state := s.conn.GetState()
	if state != connectivity.Ready && s.stats.StreamsOpened.Load() > 0 {
		s.paceNext = true // a reconnect, not the first connection
	}
	switch state {
	case connectivity.Idle:
		s.conn.Connect()
		s.waitConn = true
		return false
	case connectivity.Connecting, connectivity.Shutdown:
		s.waitConn = true
		return false
	}
	ctx, cancel := context.WithCancel(s.ctx)
	timedOut := new(atomic.Bool)
	wd := time.AfterFunc(s.cfg.SendTimeout, func() {
		timedOut.Store(true)
		cancel()
	})
	st, err := s.conn.NewStream(ctx)
	wd.Stop()
	if err != nil {
		cancel()
		s.afterFailure(fmt.Errorf("opening stream: %w", err), false, true)
		return false
	}
	s.stats.StreamsOpened.Add(1)
	// A stream opened after a failure of the newest stream (or of an
	// attempt to open one), or after the connection was lost, is a
	// reconnect; the first stream ever is not.
	if lost := s.connLost.Swap(false); (lost || s.failedSince) && s.streamSeq > 0 {
		s.stats.Reconnects.Add(1)
	}
	s.failedSince = false
	s.streamSeq++
	if s.paceNext {
		s.paceNext = false
		s.pace.restart(time.Now())
	}
	s.st, s.stCancel, s.watchdog, s.timedOut = st, cancel, wd, timedOut
	return true
}

// send sends the pending batch on the stream.
func (s *Sender) send() bool {
	b := s.pending
	s.raw.Bytes = b.Data
	s.watchdog.Reset(s.cfg.SendTimeout)
	err := s.st.SendMsg(&s.raw)
	s.watchdog.Stop()
	s.raw.Bytes = nil
	if err != nil {
		if errors.Is(err, io.EOF) {
			// The server ended the stream; its status tells why.
			s.watchdog.Reset(s.cfg.SendTimeout)
			var resp response
			rerr := s.st.RecvMsg(&resp)
			s.watchdog.Stop()
			if rerr == nil || errors.Is(rerr, io.EOF) {
				s.fail(errors.New("server ended the stream"), true)
				return false
			}
			err = rerr
		}
		s.fail(err, false)
		return false
	}
	s.progress.Store(time.Now().UnixNano())
	if len(s.unconf) == 0 {
		s.unconfSince = time.Now()
	}
	s.unconf = append(s.unconf, b)
	s.unconfN += b.N
	s.unconfBytes += len(b.Data)
	s.pending = nil
	s.pace.add(b.N)
	return true
}

// fail handles a broken stream: the batches sent on it and the one being
// sent are queued again (or given up after MaxAttempts), and the next
// stream waits for the connection (and is paced) or a backoff delay.
// clean tells that the server ended the stream with an OK status.
func (s *Sender) fail(err error, clean bool) {
	if s.timedOut != nil && s.timedOut.Load() {
		err = fmt.Errorf("no progress within the send deadline of %v: %w", s.cfg.SendTimeout, err)
		s.stalled.Store(true)
		s.buf.Wake()
	}
	s.closeStream()
	bts := s.unconf
	if s.pending != nil {
		bts = append(bts, s.pending)
	}
	s.requeue(bts, err)
	clear(bts)
	s.unconf, s.unconfN, s.unconfBytes, s.pending = s.unconf[:0], 0, 0, nil
	s.afterFailure(err, clean, true)
}

// requeue puts batches that were on a failed stream back at the front of
// the queue, giving up (and counting) those that reached MaxAttempts, and
// restarts the window at one batch.
func (s *Sender) requeue(bts []*batch.Batch, err error) {
	keep := make([]*batch.Batch, 0, len(bts))
	given := 0
	for _, b := range bts {
		b.Attempts++
		if b.Attempts >= s.cfg.MaxAttempts {
			given += b.N
			s.buf.Release(b)
			continue
		}
		keep = append(keep, b)
	}
	s.stats.BatchesRetried.Add(uint64(len(keep)))
	s.buf.Requeue(keep)
	s.window = 1
	if given > 0 {
		s.stats.DroppedGivenUp.Add(uint64(given))
		s.cfg.Logf("Error while flushing: %v; dropping %d envelopes after %d attempts", err, given, s.cfg.MaxAttempts)
		s.cfg.OnDrop()
	}
}

// afterFailure logs err and decides when to try again: at once after a
// clean end, after a state change when the connection is not ready, and
// after a backoff delay otherwise. newest tells that the failure concerns
// the newest stream or an attempt to open one (not the late answer of a
// stream already replaced), so that the next stream opened counts as a
// reconnect.
func (s *Sender) afterFailure(err error, clean, newest bool) {
	s.stats.StreamFailures.Add(1)
	s.stats.SetLastError(err)
	if newest {
		s.failedSince = true
	}
	s.cfg.Logf("Error while flushing: %v", err)
	switch {
	case s.conn.GetState() != connectivity.Ready:
		s.waitConn = true
		s.paceNext = s.stats.StreamsOpened.Load() > 0
	case clean:
	default:
		s.holdUntil = time.Now().Add(s.bo.Next())
	}
}

func (s *Sender) closeStream() {
	if s.stCancel != nil {
		s.stCancel()
	}
	s.st, s.stCancel, s.watchdog, s.timedOut = nil, nil, nil, nil
}

// stop ends sending: it closes the buffer and the stream, releases every
// batch and counts the envelopes not delivered.
func (s *Sender) stop(cause error) error {
	s.buf.Close()
	s.closeStream()
	n := 0
	release := func(b *batch.Batch) {
		n += b.N
		s.buf.Release(b)
	}
	if s.confirming {
		s.confirmCancel()
		r := <-s.confirmed
		s.confirming = false
		if r.clean {
			s.deliver(r.batches)
		} else {
			for _, b := range r.batches {
				release(b)
			}
		}
	}
	for _, b := range s.unconf {
		release(b)
	}
	s.unconf, s.unconfN, s.unconfBytes = nil, 0, 0
	if s.pending != nil {
		release(s.pending)
		s.pending = nil
	}
	for b := s.buf.Take(true); b != nil; b = s.buf.Take(true) {
		release(b)
	}
	if n == 0 {
		return nil
	}
	s.stats.DroppedUnsent.Add(uint64(n))
	s.cfg.OnDrop()
	return &UndeliveredError{N: n, Cause: cause}
}

// UndeliveredError tells how many envelopes were not delivered when
// sending stopped, and why.
type UndeliveredError struct {
	N     int
	Cause error
}

func (e *UndeliveredError) Error() string {
	return fmt.Sprintf("%d envelopes not delivered: %v", e.N, e.Cause)
}

func (e *UndeliveredError) Unwrap() error { return e.Cause }
