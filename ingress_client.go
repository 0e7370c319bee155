package loggregator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/batch"
	"code.cloudfoundry.org/go-loggregator/internal/ingress"
)

// closeDownGrace is how long CloseSend waits for an unreachable agent:
// longer than the longest reconnect delay (DefaultIngressReconnectDelay
// plus 20% jitter).
const closeDownGrace = 700 * time.Millisecond

// ErrIngressClientClosed is returned by a second CloseSend.
var ErrIngressClientClosed = errors.New("loggregator: IngressClient already closed")

// errCloseTimeout is the cause of the client context's cancellation when
// CloseSend runs out of time.
var errCloseTimeout = errors.New("loggregator: CloseSend timed out")

// IngressClient represents an emitter into loggregator. It should be
// created with the NewIngressClient constructor.
//
// The Emit methods are safe for concurrent use. They encode the envelope
// into a buffer bounded in envelopes (WithBufferSize) and bytes
// (WithBufferBytes) and return (EmitEvent, which is synchronous,
// excepted). When the buffer is full they wait for room while the agent is
// accepting data, at most WithMaxEmitWait, and drop the envelope at once
// (counted in Dropped and reported to WithDropHandler) while the agent is
// down, failing or stalled. One goroutine owns the BatchSender stream:
// it sends batches, confirms them by closing the stream now and then,
// sends again what a broken stream may have lost, and paces the replay
// after a reconnect; see the package documentation for the full rule.
// CloseSend may be called safely more than once and closes the gRPC
// connection. Dropped counts every drop, and Stats tells what became of
// every envelope (accepted, sent, dropped by cause, buffered) along with
// batches, reconnects, Emit waits and the last error.
type IngressClient struct {
	cfg    ingressConfig
	conn   *grpc.ClientConn
	target string
	dial   []grpc.DialOption
	tags   map[string]string
	log    Logger

	buf    *batch.Buffer
	sender *ingress.Sender
	stats  ingress.Stats
	pool   sync.Pool // *envSlot

	waiters atomic.Int32  // Emit calls waiting for room
	turn    chan struct{} // held by the waiter whose turn it is

	ctx    context.Context // ends sending; cancelled by CloseSend
	cancel context.CancelCauseFunc

	closed   atomic.Bool
	closing  chan struct{} // closed by CloseSend
	done     chan struct{} // closed when the sender goroutine returns
	closeErr error         // set by the sender goroutine before done

	dropSignal   chan struct{}
	reporterStop chan struct{}
	reporterDone chan struct{}
	dropReported uint64 // owned by the reporter goroutine
}

// NewIngressClient creates a v2 loggregator client. Its TLS configuration
// must share a CA with the loggregator server.
//
// A nil tlsConfig means an empty tls.Config. The connection is dialled
// with grpc.DialContext and starts at once in the background, so an
// unreachable server is not an error here, unless the WithDialOptions
// include grpc.WithBlock: then NewIngressClient waits for the connection
// (up to grpc.WithTimeout, if given) and returns its error. Other errors
// come from invalid configuration, such as a malformed address. The
// client starts three goroutines that CloseSend ends.
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
	// One reconnect mechanism: gRPC's, with attempts 400-600 ms apart, so
	// that a restarted agent is found within a second and an absent one
	// sees at most three attempts a second. User options may override it.
	c.dial = append([]grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: grpcbackoff.Config{
			BaseDelay:  DefaultIngressReconnectDelay,
			Multiplier: 1,
			Jitter:     0.2,
			MaxDelay:   DefaultIngressReconnectDelay,
		},
		MinConnectTimeout: 2 * time.Second,
	})}, c.cfg.dialOpts...)
	c.dial = append(c.dial, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))
	//lint:ignore SA1019 DialContext is the only way to honour grpc.WithBlock and grpc.WithTimeout, which callers pass (issue 9).
	conn, err := grpc.DialContext(c.cfg.ctx, c.target, c.dial...)
	if err != nil {
		return nil, fmt.Errorf("loggregator: connecting to %q: %w", c.target, err)
	}
	c.conn = conn
	c.buf = batch.New(batch.Config{
		Capacity:     c.cfg.bufferSize,
		MaxCount:     int(c.cfg.batchMaxSize),
		MaxBytes:     maxBatchBytes,
		MaxHeldBytes: c.cfg.bufferBytes,
	})
	c.pool.New = func() any { return newEnvSlot() }
	c.ctx, c.cancel = context.WithCancelCause(c.cfg.ctx)
	c.closing = make(chan struct{})
	c.done = make(chan struct{})
	c.dropSignal = make(chan struct{}, 1)
	c.turn = make(chan struct{}, 1)
	c.reporterStop = make(chan struct{})
	c.reporterDone = make(chan struct{})
	c.sender = ingress.New(c.ctx, ingress.GRPCConn{ClientConn: conn}, c.buf, &c.stats, ingress.Config{
		FlushInterval:       c.cfg.flushInterval,
		SendTimeout:         c.cfg.sendTimeout,
		MaxAttempts:         MaxBatchSendAttempts,
		MaxUnconfirmed:      max(c.cfg.bufferSize/8, int(c.cfg.batchMaxSize)),
		MaxUnconfirmedBytes: max(c.cfg.bufferBytes/8, maxBatchBytes),
		DownGrace:           closeDownGrace,
		Backoff: backoff.Config{
			BaseDelay: 20 * time.Millisecond,
			MaxDelay:  DefaultIngressReconnectDelay,
		},
		Logf:   c.log.Printf,
		OnDrop: c.signalDrop,
	})
	go func() {
		defer close(c.done)
		c.closeErr = c.sender.Run(c.closing)
	}()
	go c.reportDrops()
	return c, nil
}

// CloseSend will flush the envelope buffers and close the stream to the
// ingress server. This method will block until the buffers are flushed.
//
// It sends every buffered envelope, closes the stream, waits for the
// server to confirm it and closes the client's gRPC connection. It
// returns nil when every envelope accepted by an Emit call was confirmed
// by the server (its stream was answered cleanly after the server read
// it) or counted in Dropped; nil does not cover envelopes already counted
// as dropped. Otherwise it returns an error telling how many envelopes
// were not delivered, and why. It gives up, counting the rest as dropped,
// when the WithCloseTimeout duration (DefaultIngressCloseTimeout) passes
// or the WithContext context ends, or as soon as the agent has been
// unreachable for 700 ms, long enough for one more connection attempt
// (for example when its certificate is not trusted; the error then names
// that failure).
//
// The final report to the drop handler is waited for at most
// DropReportInterval, so a slow handler, or one that calls CloseSend
// itself, cannot hold CloseSend up. Emit calls made after CloseSend drop
// their envelope and count it. A second CloseSend returns
// ErrIngressClientClosed.
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
	rt := time.NewTimer(DropReportInterval)
	select {
	case <-c.reporterDone:
	case <-rt.C:
	}
	rt.Stop()
	cerr := c.conn.Close()
	if c.closeErr != nil {
		return fmt.Errorf("loggregator: CloseSend: %w", c.closeErr)
	}
	if cerr != nil {
		return fmt.Errorf("loggregator: closing gRPC connection: %w", cerr)
	}
	return nil
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
	d := c.stats.Drops()
	total := d.Total()
	n := total - c.dropReported
	if n == 0 {
		return
	}
	c.dropReported = total
	c.log.Printf("Dropped %d envelopes (total %d: %d buffer full, %d agent unavailable (%d of them evicted from the buffer), %d after close, %d invalid, %d given up, %d undelivered at close)",
		n, total, d.Full, d.Down+d.Evicted, d.Evicted, d.Closed, d.Invalid, d.GivenUp, d.Unsent)
	if h := c.cfg.dropHandler; h != nil {
		h(int(n))
	}
}
