package loggregator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/batch"
	"code.cloudfoundry.org/go-loggregator/internal/encode"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// ErrIngressClientClosed is returned by a second CloseSend.
var ErrIngressClientClosed = errors.New("loggregator: IngressClient already closed")

// errCloseTimeout is the cause of the client context's cancellation when
// CloseSend runs out of time.
var errCloseTimeout = errors.New("loggregator: CloseSend timed out")

const batchSenderMethod = "/loggregator.v2.Ingress/BatchSender"

var batchSenderDesc = grpc.StreamDesc{StreamName: "BatchSender", ClientStreams: true}

// IngressClient represents an emitter into loggregator. It should be
// created with the NewIngressClient constructor.
//
// The Emit methods are safe for concurrent use and never block: they
// encode the envelope into a bounded buffer and return (EmitEvent, which
// is synchronous, excepted). One goroutine sends the buffer in batches on
// a long-lived BatchSender stream, reopening it with exponential backoff
// when it breaks and retrying the batch that failed. Envelopes that find
// the buffer full, or arrive after CloseSend, are dropped and counted
// (Dropped, WithDropHandler). Unlike the original, Emit never blocks,
// failed batches are retried, and CloseSend may be called safely more than
// once and closes the gRPC connection.
type IngressClient struct {
	cfg    ingressConfig
	conn   *grpc.ClientConn
	target string
	dial   []grpc.DialOption
	tags   map[string]string
	log    Logger

	buf  *batch.Buffer
	pool sync.Pool // *envSlot

	ctx    context.Context // ends sending; cancelled by CloseSend
	cancel context.CancelCauseFunc

	closed   atomic.Bool
	closing  chan struct{} // closed by CloseSend
	done     chan struct{} // closed when the sender goroutine returns
	closeErr error         // set by the sender goroutine before done

	dropSignal   chan struct{}
	reporterStop chan struct{}
	reporterDone chan struct{}

	droppedFull    atomic.Uint64
	droppedClosed  atomic.Uint64
	droppedInvalid atomic.Uint64
	droppedFailed  atomic.Uint64
	dropReported   uint64 // owned by the reporter goroutine

	// Owned by the sender goroutine.
	stream       grpc.ClientStream
	streamCancel context.CancelFunc
	inflight     *batch.Batch
	raw          encode.Raw
	bo           *backoff.Backoff
}

// NewIngressClient creates a v2 loggregator client. Its TLS configuration
// must share a CA with the loggregator server.
//
// A nil tlsConfig means an empty tls.Config. The connection is made
// lazily (grpc.NewClient), so an unreachable server is not an error here;
// errors come only from invalid configuration, such as a malformed
// address. The client starts two goroutines that CloseSend ends.
func NewIngressClient(tlsConfig *tls.Config, opts ...IngressOption) (*IngressClient, error) {
	c := &IngressClient{cfg: defaultIngressConfig()}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.cfg.resolve()
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	}
	c.log = c.cfg.logger
	c.tags = c.cfg.tags
	c.target = c.cfg.addr
	// Reconnect faster than gRPC's default (1 s growing to 120 s) so that
	// an agent restart costs little; user options may override this.
	c.dial = append([]grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: grpcbackoff.Config{
			BaseDelay:  backoff.DefaultBaseDelay,
			Multiplier: 1.6,
			Jitter:     backoff.DefaultJitter,
			MaxDelay:   backoff.DefaultMaxDelay,
		},
		MinConnectTimeout: 5 * time.Second,
	})}, c.cfg.dialOpts...)
	c.dial = append(c.dial, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))
	conn, err := grpc.NewClient(c.target, c.dial...)
	if err != nil {
		return nil, fmt.Errorf("loggregator: creating gRPC client for %q: %w", c.target, err)
	}
	c.conn = conn
	c.buf = batch.New(batch.Config{
		Capacity: c.cfg.bufferSize,
		MaxCount: int(c.cfg.batchMaxSize),
		MaxBytes: maxBatchBytes,
	})
	c.pool.New = func() any { return newEnvSlot() }
	c.ctx, c.cancel = context.WithCancelCause(c.cfg.ctx)
	c.closing = make(chan struct{})
	c.done = make(chan struct{})
	c.dropSignal = make(chan struct{}, 1)
	c.reporterStop = make(chan struct{})
	c.reporterDone = make(chan struct{})
	c.bo = backoff.New(backoff.Config{})
	go c.run()
	go c.reportDrops()
	return c, nil
}

// envSlot is a reusable envelope with one payload of every kind, so that
// building an envelope allocates nothing.
type envSlot struct {
	env      loggregator_v2.Envelope
	tags     map[string]string
	log      loggregator_v2.Log
	logW     loggregator_v2.Envelope_Log
	counter  loggregator_v2.Counter
	counterW loggregator_v2.Envelope_Counter
	gauge    loggregator_v2.Gauge
	gaugeW   loggregator_v2.Envelope_Gauge
	metrics  map[string]*loggregator_v2.GaugeValue
	timer    loggregator_v2.Timer
	timerW   loggregator_v2.Envelope_Timer
	scratch  []byte
}

func newEnvSlot() *envSlot {
	s := &envSlot{
		tags:    make(map[string]string, 8),
		metrics: make(map[string]*loggregator_v2.GaugeValue, 4),
	}
	s.logW.Log = &s.log
	s.counterW.Counter = &s.counter
	s.gaugeW.Gauge = &s.gauge
	s.timerW.Timer = &s.timer
	return s
}

// maxPooledBytes limits what a pooled slot keeps after a large envelope.
const maxPooledBytes = 64 << 10

// start resets the slot's envelope and fills timestamp and client tags.
func (c *IngressClient) start() (*envSlot, *loggregator_v2.Envelope) {
	s := c.pool.Get().(*envSlot)
	e := &s.env
	e.Timestamp = time.Now().UnixNano()
	e.SourceId = ""
	e.InstanceId = ""
	e.DeprecatedTags = nil
	clear(s.tags)
	for k, v := range c.tags {
		s.tags[k] = v
	}
	e.Tags = s.tags
	return s, e
}

// finish encodes e into the buffer and returns the slot to the pool.
func (c *IngressClient) finish(s *envSlot, e *loggregator_v2.Envelope) {
	c.enqueue(s, e)
	e.Message = nil
	s.log.Payload = s.log.Payload[:0]
	if cap(s.log.Payload) > maxPooledBytes {
		s.log.Payload = nil
	}
	s.counter.Name, s.timer.Name = "", ""
	clear(s.metrics)
	s.gauge.Metrics = s.metrics
	if cap(s.scratch) > maxPooledBytes {
		s.scratch = nil
	}
	c.pool.Put(s)
}

func (c *IngressClient) enqueue(s *envSlot, e *loggregator_v2.Envelope) {
	if c.closed.Load() {
		c.drop(&c.droppedClosed, 1)
		return
	}
	var err error
	s.scratch, err = encode.AppendBatchEntry(s.scratch[:0], e)
	if err != nil {
		c.drop(&c.droppedInvalid, 1)
		return
	}
	switch c.buf.Add(s.scratch) {
	case nil:
	case batch.ErrClosed:
		c.drop(&c.droppedClosed, 1)
	default:
		c.drop(&c.droppedFull, 1)
	}
}

func (c *IngressClient) drop(counter *atomic.Uint64, n int) {
	counter.Add(uint64(n))
	select {
	case c.dropSignal <- struct{}{}:
	default:
	}
}

// Dropped returns the number of envelopes dropped so far: refused because
// the buffer was full or the client closed, not encodable, or given up
// after MaxBatchSendAttempts. It is an addition to the original API.
func (c *IngressClient) Dropped() uint64 {
	return c.droppedFull.Load() + c.droppedClosed.Load() + c.droppedInvalid.Load() + c.droppedFailed.Load()
}

// EmitLog sends a message to loggregator.
//
// The envelope carries the time, the client tags, the message as a log
// payload of type ERR (WithStdout selects OUT), then the options' edits in
// argument order.
func (c *IngressClient) EmitLog(message string, opts ...EmitLogOption) {
	s, e := c.start()
	s.log.Payload = append(s.log.Payload[:0], message...)
	s.log.Type = loggregator_v2.Log_ERR
	e.Message = &s.logW
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	c.finish(s, e)
}

// EmitGauge sends the configured gauge values to loggregator. If no
// EmitGaugeOption values are present, the client will emit an empty gauge.
func (c *IngressClient) EmitGauge(opts ...EmitGaugeOption) {
	s, e := c.start()
	clear(s.metrics)
	s.gauge.Metrics = s.metrics
	e.Message = &s.gaugeW
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	c.finish(s, e)
}

// EmitCounter sends a counter envelope with a delta of 1.
//
// WithDelta sets another delta; WithTotal sets the total and a delta of 0.
func (c *IngressClient) EmitCounter(name string, opts ...EmitCounterOption) {
	s, e := c.start()
	s.counter.Name, s.counter.Delta, s.counter.Total = name, 1, 0
	e.Message = &s.counterW
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	c.finish(s, e)
}

// EmitTimer sends a timer envelope with the given name, start time and
// stop time (as Unix nanoseconds).
func (c *IngressClient) EmitTimer(name string, start, stop time.Time, opts ...EmitTimerOption) {
	s, e := c.start()
	s.timer.Name, s.timer.Start, s.timer.Stop = name, start.UnixNano(), stop.UnixNano()
	e.Message = &s.timerW
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	c.finish(s, e)
}

// Emit sends an envelope. It will sent within a batch.
//
// The envelope is sent as it is: no timestamp and no client tags are
// added. It is encoded before Emit returns, so the caller may reuse it
// afterwards. A nil envelope, or one with strings that are not valid
// UTF-8, is dropped and counted.
func (c *IngressClient) Emit(env *loggregator_v2.Envelope) {
	if env == nil {
		c.drop(&c.droppedInvalid, 1)
		return
	}
	s := c.pool.Get().(*envSlot)
	c.enqueue(s, env)
	if cap(s.scratch) > maxPooledBytes {
		s.scratch = nil
	}
	c.pool.Put(s)
}

// EmitEvent sends an Event envelope.
//
// Unlike the other Emit methods it is synchronous: it sends a batch of
// one envelope with the unary /loggregator.v2.Ingress/Send RPC on ctx and
// returns the RPC's error. It bypasses the buffer and works after
// CloseSend too (it then opens a connection for the call). An EmitEvent
// running while CloseSend closes the connection may fail.
func (c *IngressClient) EmitEvent(ctx context.Context, title, body string, opts ...EmitEventOption) error {
	e := &loggregator_v2.Envelope{
		Timestamp: time.Now().UnixNano(),
		Tags:      make(map[string]string, len(c.tags)),
		Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{
			Title: title,
			Body:  body,
		}},
	}
	for k, v := range c.tags {
		e.Tags[k] = v
	}
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	conn := c.conn
	if c.closed.Load() {
		cc, err := grpc.NewClient(c.target, c.dial...)
		if err != nil {
			return fmt.Errorf("loggregator: EmitEvent: %w", err)
		}
		defer cc.Close()
		conn = cc
	}
	_, err := loggregator_v2.NewIngressClient(conn).Send(ctx, &loggregator_v2.EnvelopeBatch{
		Batch: []*loggregator_v2.Envelope{e},
	})
	return err
}

// CloseSend will flush the envelope buffers and close the stream to the
// ingress server. This method will block until the buffers are flushed.
//
// It sends every buffered envelope, closes the stream, waits for the
// server to acknowledge it and closes the client's gRPC connection. It
// waits at most the WithCloseTimeout duration (DefaultIngressCloseTimeout)
// or until the WithContext context ends, and then returns an error
// telling how many envelopes were not delivered. It returns nil when
// everything was delivered. The server's status on the closed stream is
// only logged (agents answer with an error status).
//
// Emit calls made after CloseSend drop their envelope and count it. A
// second CloseSend returns ErrIngressClientClosed.
func (c *IngressClient) CloseSend() error {
	if !c.closed.CompareAndSwap(false, true) {
		return ErrIngressClientClosed
	}
	t := time.AfterFunc(c.cfg.closeTimeout, func() { c.cancel(errCloseTimeout) })
	close(c.closing)
	<-c.done
	t.Stop()
	c.cancel(context.Canceled)
	close(c.reporterStop)
	<-c.reporterDone
	cerr := c.conn.Close()
	if c.closeErr != nil {
		return c.closeErr
	}
	if cerr != nil {
		return fmt.Errorf("loggregator: closing gRPC connection: %w", cerr)
	}
	return nil
}

// run is the sender goroutine: it owns the stream and the batch in flight.
func (c *IngressClient) run() {
	defer close(c.done)
	defer c.closeStream()
	tick := time.NewTicker(c.cfg.flushInterval)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	waiting := false // a backoff delay is running; sends wait for retry
	flush := func(partial bool) {
		if waiting {
			return
		}
		if err := c.flush(partial); err != nil {
			waiting = true
			retry.Reset(c.bo.Next())
		}
	}
	for {
		select {
		case <-c.closing:
			c.closeErr = c.drain()
			return
		case <-c.ctx.Done():
			c.buf.Close()
			c.closeErr = c.undelivered(context.Cause(c.ctx))
			return
		case <-tick.C:
			flush(true)
		case <-c.buf.Ready():
			flush(false)
		case <-retry.C:
			waiting = false
			flush(true)
		}
	}
}

// flush sends the batch in flight and then every batch the buffer hands
// out (only sealed ones unless partial). It returns the first error; the
// batch that failed stays in flight.
func (c *IngressClient) flush(partial bool) error {
	for {
		if c.inflight == nil {
			c.inflight = c.buf.Take(partial)
			if c.inflight == nil {
				return nil
			}
		}
		if err := c.sendInflight(); err != nil {
			return err
		}
	}
}

func (c *IngressClient) sendInflight() error {
	if c.stream == nil {
		ctx, cancel := context.WithCancel(c.ctx)
		st, err := c.conn.NewStream(ctx, &batchSenderDesc, batchSenderMethod, grpc.ForceCodecV2(encode.Codec{}))
		if err != nil {
			cancel()
			c.log.Printf("Error while flushing: opening stream: %v", err)
			return err
		}
		c.stream, c.streamCancel = st, cancel
	}
	c.raw.Bytes = c.inflight.Data
	err := c.stream.SendMsg(&c.raw)
	c.raw.Bytes = nil
	if err != nil {
		if errors.Is(err, io.EOF) {
			// The stream ended; its status tells why.
			var resp loggregator_v2.BatchSenderResponse
			if rerr := c.stream.RecvMsg(&resp); rerr != nil && !errors.Is(rerr, io.EOF) {
				err = rerr
			}
		}
		c.closeStream()
		c.inflight.Attempts++
		if c.inflight.Attempts >= MaxBatchSendAttempts {
			c.log.Printf("Error while flushing: %v; dropping a batch of %d envelopes after %d attempts", err, c.inflight.N, c.inflight.Attempts)
			c.drop(&c.droppedFailed, c.inflight.N)
			c.buf.Release(c.inflight)
			c.inflight = nil
		} else {
			c.log.Printf("Error while flushing: %v", err)
		}
		return err
	}
	c.buf.Release(c.inflight)
	c.inflight = nil
	c.bo.Reset()
	return nil
}

func (c *IngressClient) closeStream() {
	if c.streamCancel != nil {
		c.streamCancel()
	}
	c.stream, c.streamCancel = nil, nil
}

// drain runs on CloseSend: it sends everything left, retrying with
// backoff until the client context ends, then closes the stream.
func (c *IngressClient) drain() error {
	c.buf.Close()
	for c.flush(true) != nil {
		if !c.bo.Wait(c.ctx) {
			return c.undelivered(context.Cause(c.ctx))
		}
	}
	if c.stream == nil {
		return nil
	}
	if err := c.stream.CloseSend(); err != nil {
		c.log.Printf("Error closing stream: %v", err)
	}
	var resp loggregator_v2.BatchSenderResponse
	if err := c.stream.RecvMsg(&resp); err != nil && !errors.Is(err, io.EOF) {
		if c.ctx.Err() != nil {
			// The server did not confirm in time: what was sent may be
			// sitting in buffers.
			return fmt.Errorf("loggregator: CloseSend: server did not confirm the stream: %w", context.Cause(c.ctx))
		}
		c.log.Printf("Stream closed with: %v", err)
	}
	return nil
}

// undelivered reports the envelopes still held when sending stops.
func (c *IngressClient) undelivered(cause error) error {
	n := c.buf.Held()
	if n == 0 {
		return nil
	}
	return fmt.Errorf("loggregator: CloseSend: %d envelopes not delivered: %w", n, cause)
}

// reportDrops logs and hands dropped counts to the drop handler, at most
// once per DropReportInterval, off the callers' goroutines.
func (c *IngressClient) reportDrops() {
	defer close(c.reporterDone)
	for {
		select {
		case <-c.dropSignal:
			c.reportDropsNow()
			t := time.NewTimer(DropReportInterval)
			select {
			case <-t.C:
			case <-c.reporterStop:
				t.Stop()
				c.reportDropsNow()
				return
			}
		case <-c.reporterStop:
			c.reportDropsNow()
			return
		}
	}
}

func (c *IngressClient) reportDropsNow() {
	total := c.Dropped()
	n := total - c.dropReported
	if n == 0 {
		return
	}
	c.dropReported = total
	c.log.Printf("Dropped %d envelopes (total %d: %d buffer full, %d after close, %d invalid, %d failed to send)",
		n, total, c.droppedFull.Load(), c.droppedClosed.Load(), c.droppedInvalid.Load(), c.droppedFailed.Load())
	if h := c.cfg.dropHandler; h != nil {
		h(int(n))
	}
}
