package loggregator

import (
	"context"
	"crypto/tls"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Defaults of the EnvelopeStreamConnector.
const (
	// DefaultEnvelopeStreamBufferSize is the number of batches the buffer
	// of WithEnvelopeStreamBuffer holds when it is enabled with a size
	// below 1.
	DefaultEnvelopeStreamBufferSize = 100
	// EnvelopeStreamRetryDelay is about the delay before the first
	// reconnect attempt after a stream fails; each further consecutive
	// failure doubles it (±20% jitter).
	EnvelopeStreamRetryDelay = backoff.DefaultBaseDelay
	// EnvelopeStreamMaxRetryDelay caps the delay between two reconnect
	// attempts. A stream that delivered data, or stayed open at least this
	// long, resets the delay to EnvelopeStreamRetryDelay.
	EnvelopeStreamMaxRetryDelay = backoff.DefaultMaxDelay
)

// EnvelopeStreamConnector provides a way to connect to loggregator and
// consume a stream of envelopes. It handles reconnecting and provides a
// stream for the lifecycle of the given context. It should be created with
// the NewEnvelopeStreamConnector constructor.
//
// A connector is safe for concurrent use; each Stream call has its own
// connection.
type EnvelopeStreamConnector struct {
	addr string
	tls  *tls.Config
	cfg  envelopeStreamConfig
}

// envelopeStreamConfig is what the options record; NewEnvelopeStreamConnector
// resolves it once.
type envelopeStreamConfig struct {
	logger     Logger
	dialOpts   []grpc.DialOption
	buffered   bool
	bufferSize int
	alerter    func(missed int)
}

// EnvelopeStreamOption configures a EnvelopeStreamConnector.
type EnvelopeStreamOption func(*EnvelopeStreamConnector)

// WithEnvelopeStreamLogger allows for the configuration of a logger. By
// default, the logger is disabled.
//
// Every failed stream attempt is reported through l.Printf; Panicf is
// never called. A nil l keeps the silent default.
func WithEnvelopeStreamLogger(l Logger) EnvelopeStreamOption {
	return func(c *EnvelopeStreamConnector) { c.cfg.logger = l }
}

// WithEnvelopeStreamConnectorDialOptions allows for configuration of grpc
// dial options.
//
// The default is none. A later call replaces the options of an earlier
// one. Transport credentials built from the connector's *tls.Config are
// always appended last, so they win over any given here.
func WithEnvelopeStreamConnectorDialOptions(opts ...grpc.DialOption) EnvelopeStreamOption {
	return func(c *EnvelopeStreamConnector) {
		c.cfg.dialOpts = append([]grpc.DialOption(nil), opts...)
	}
}

// WithEnvelopeStreamBuffer enables the EnvelopeStream to read more quickly
// from the stream. It puts each envelope in a buffer that overwrites data
// if it is not being drained quick enough. If the buffer drops data, the
// 'alerter' function will be invoked with the number of envelopes dropped.
//
// Buffering is off by default. The buffer holds size batches (a size below
// 1 means DefaultEnvelopeStreamBufferSize); when it is full the oldest
// batch is dropped and alerter is called with the number of envelopes (not
// batches, as the original did) in it, on the goroutine that calls the
// EnvelopeStream, before the next batch is returned. A nil alerter ignores
// drops.
func WithEnvelopeStreamBuffer(size int, alerter func(missed int)) EnvelopeStreamOption {
	return func(c *EnvelopeStreamConnector) {
		c.cfg.buffered = true
		c.cfg.bufferSize = size
		c.cfg.alerter = alerter
	}
}

// NewEnvelopeStreamConnector creates a new EnvelopeStreamConnector. Its TLS
// configuration must share a CA with the loggregator server.
//
// It does no I/O. A nil t means an empty tls.Config; t is copied, so later
// changes to it have no effect.
func NewEnvelopeStreamConnector(
	addr string,
	t *tls.Config,
	opts ...EnvelopeStreamOption,
) *EnvelopeStreamConnector {
	c := &EnvelopeStreamConnector{addr: addr}
	if t != nil {
		c.tls = t.Clone()
	} else {
		c.tls = &tls.Config{}
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.cfg.logger = loggerOrDiscard(c.cfg.logger)
	if c.cfg.buffered && c.cfg.bufferSize < 1 {
		c.cfg.bufferSize = DefaultEnvelopeStreamBufferSize
	}
	if c.cfg.alerter == nil {
		c.cfg.alerter = func(int) {}
	}
	return c
}

// Stream returns a new EnvelopeStream for the given context and request.
// The lifecycle of the EnvelopeStream is managed by the given context. If
// the underlying gRPC stream dies, it attempts to reconnect until the
// context is done.
//
// Each call opens its own connection (grpc.NewClient, default "dns"
// resolver; the first attempt starts at once on the stream's own
// goroutine), which is closed as soon as ctx is
// done, whether or not the stream is called again. Reconnects back off
// exponentially with jitter (EnvelopeStreamRetryDelay up to
// EnvelopeStreamMaxRetryDelay) instead of retrying every 50 ms; each
// failure is logged. The request is sent unchanged. Envelopes come in the
// order the server sent them; empty batches are skipped; a nil req is sent
// as an empty request. The stream returns nil once ctx is done. Invalid
// dial options are logged and the stream then just waits for ctx to end
// and returns nil (the original panicked). Without a buffer, a goroutine
// decodes up to a few batches ahead of the caller and never drops any. The
// returned function may be called from several goroutines.
func (c *EnvelopeStreamConnector) Stream(ctx context.Context, req *loggregator_v2.EgressBatchRequest) EnvelopeStream {
	if ctx.Err() != nil {
		return func() []*loggregator_v2.Envelope { return nil }
	}
	dialOpts := append(append([]grpc.DialOption(nil), c.cfg.dialOpts...),
		grpc.WithTransportCredentials(credentials.NewTLS(c.tls)))
	conn, err := grpc.NewClient(c.addr, dialOpts...)
	if err != nil {
		c.cfg.logger.Printf("invalid gRPC dial configuration: %v", err)
		// Block like a healthy stream would, so that a caller looping on
		// the stream does not spin; nil once ctx is done.
		return func() []*loggregator_v2.Envelope {
			<-ctx.Done()
			return nil
		}
	}
	r := &envelopeReceiver{
		ctx:    ctx,
		client: loggregator_v2.NewEgressClient(conn),
		req:    req,
		logger: c.cfg.logger,
		bo:     backoff.New(backoff.Config{BaseDelay: EnvelopeStreamRetryDelay, MaxDelay: EnvelopeStreamMaxRetryDelay}),
	}
	// One goroutine owns the gRPC stream: it receives and decodes the next
	// batches while the caller handles the previous ones, and closes the
	// connection when ctx is done.
	if !c.cfg.buffered {
		ch := make(chan []*loggregator_v2.Envelope, readAhead)
		go func() {
			defer conn.Close()
			for {
				b := r.next()
				if b == nil {
					return // ctx is done
				}
				select {
				case ch <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
		return func() []*loggregator_v2.Envelope {
			if ctx.Err() != nil {
				return nil
			}
			select {
			case b := <-ch:
				if ctx.Err() != nil {
					return nil
				}
				return b
			case <-ctx.Done():
				return nil
			}
		}
	}

	buf := newBatchRing(c.cfg.bufferSize, c.cfg.alerter)
	go func() {
		defer conn.Close()
		for {
			b := r.next()
			if b == nil {
				return // ctx is done
			}
			buf.put(b)
		}
	}()
	return func() []*loggregator_v2.Envelope { return buf.get(ctx) }
}

// readAhead is how many decoded batches an unbuffered stream holds ready
// for its caller; the server is slowed down (gRPC flow control) rather than
// data dropped beyond that.
const readAhead = 4

// envelopeReceiver owns one BatchedReceiver stream at a time and
// reconnects it. It is used by one goroutine.
type envelopeReceiver struct {
	ctx    context.Context
	client loggregator_v2.EgressClient
	req    *loggregator_v2.EgressBatchRequest
	logger Logger
	bo     *backoff.Backoff

	rx      grpc.ServerStreamingClient[loggregator_v2.EnvelopeBatch]
	opened  time.Time
	gotData bool
}

// next returns the next non-empty batch, reconnecting as needed, or nil
// once ctx is done.
func (r *envelopeReceiver) next() []*loggregator_v2.Envelope {
	for r.ctx.Err() == nil {
		if r.rx == nil {
			rx, err := r.client.BatchedReceiver(r.ctx, r.req, egressCallOptions...)
			if err != nil {
				if r.ctx.Err() != nil {
					return nil
				}
				r.logger.Printf("Error connecting to Logs Provider: %v", err)
				if !r.bo.Wait(r.ctx) {
					return nil
				}
				continue
			}
			r.rx, r.opened, r.gotData = rx, time.Now(), false
		}
		batch, err := r.rx.Recv()
		if err != nil {
			r.rx = nil
			if r.ctx.Err() != nil {
				return nil
			}
			r.logger.Printf("Error receiving from Logs Provider: %v", err)
			if r.gotData || time.Since(r.opened) >= EnvelopeStreamMaxRetryDelay {
				r.bo.Reset()
			}
			if !r.bo.Wait(r.ctx) {
				return nil
			}
			continue
		}
		r.gotData = true
		if len(batch.GetBatch()) > 0 {
			return batch.Batch
		}
	}
	return nil
}
