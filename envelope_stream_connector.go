package loggregator

import (
	"context"
	"crypto/tls"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/egress"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Defaults of the EnvelopeStreamConnector.
const (
	// DefaultEnvelopeStreamBufferSize is the number of batches the buffer
	// of WithEnvelopeStreamBuffer holds when it is enabled with a size
	// below 1 and an alerter.
	DefaultEnvelopeStreamBufferSize = 100
	// DefaultEnvelopeStreamBufferBytes bounds the estimated decoded size of
	// the batches the buffer of WithEnvelopeStreamBuffer holds, whatever
	// its size in batches; see WithEnvelopeStreamBufferBytes.
	DefaultEnvelopeStreamBufferBytes = 256 << 20
	// EnvelopeStreamMaxBatchBytes is the estimated decoded size at which a
	// batch from the server is split into several, each returned by its
	// own call of the EnvelopeStream. The estimate counts the envelopes'
	// structs, maps and bytes generously (about 2.2 times the real heap for
	// empty envelopes, 1.6 for typical app logs, 2 for large logs): a
	// batch of 100 envelopes is only split when they average more than
	// about 10 KiB of estimate, or roughly 5 KiB of log payload.
	EnvelopeStreamMaxBatchBytes = 1 << 20
	// EnvelopeStreamRetryDelay is about the delay before a new stream is
	// opened after one failed on a working connection; each further
	// consecutive failure multiplies it by 1.6 up to
	// EnvelopeStreamMaxRetryDelay (±20% jitter). The gRPC connection
	// reconnects with the same delays.
	EnvelopeStreamRetryDelay = 300 * time.Millisecond
	// EnvelopeStreamMaxRetryDelay caps the delay between two attempts, so
	// data flows again within about half a second of a server's return,
	// while a server that is away sees at most 2.5 attempts a second.
	EnvelopeStreamMaxRetryDelay = 500 * time.Millisecond
	// EnvelopeStreamHealthyAfter is how long a stream must have been open
	// to count as healthy: when it ends, for whatever reason, the next one
	// is opened at once and the delays start again from
	// EnvelopeStreamRetryDelay.
	EnvelopeStreamHealthyAfter = time.Second
)

// envelopeStreamBackoff is the backoff of both the gRPC connection and the
// stream attempts on a working connection.
var envelopeStreamBackoff = backoff.Config{
	BaseDelay:  EnvelopeStreamRetryDelay,
	MaxDelay:   EnvelopeStreamMaxRetryDelay,
	Multiplier: 1.6,
	Jitter:     0.2,
}

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
	logger      Logger
	dialOpts    []grpc.DialOption
	buffered    bool
	bufferSize  int
	bufferBytes int
	alerter     func(missed int)
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
// one; nil options are ignored. They are applied after the connector's
// own grpc.WithConnectParams (reconnect delays of
// EnvelopeStreamRetryDelay up to EnvelopeStreamMaxRetryDelay), so a
// grpc.WithConnectParams given here replaces those delays. Transport
// credentials built from the connector's *tls.Config are always appended
// last, so they win over any given here.
func WithEnvelopeStreamConnectorDialOptions(opts ...grpc.DialOption) EnvelopeStreamOption {
	return func(c *EnvelopeStreamConnector) {
		c.cfg.dialOpts = make([]grpc.DialOption, 0, len(opts))
		for _, o := range opts {
			if o != nil {
				c.cfg.dialOpts = append(c.cfg.dialOpts, o)
			}
		}
	}
}

// WithEnvelopeStreamBuffer enables the EnvelopeStream to read more quickly
// from the stream. It puts each envelope in a buffer that overwrites data
// if it is not being drained quick enough. If the buffer drops data, the
// 'alerter' function will be invoked with the number of envelopes dropped.
//
// As in the original, the buffer is enabled when size is above 0 or
// alerter is not nil: WithEnvelopeStreamBuffer(0, nil) leaves the stream
// unbuffered. The buffer holds up to size batches (a size below 1 with an
// alerter means DefaultEnvelopeStreamBufferSize; huge sizes are fine, as
// room is allocated only as batches arrive) and at most
// DefaultEnvelopeStreamBufferBytes of estimated decoded size (see
// WithEnvelopeStreamBufferBytes). When either is exceeded the oldest
// batches are dropped, and alerter is called with the number of batches
// dropped (as the original does, despite the sentence above; a batch is
// what one call of the EnvelopeStream returns, see
// EnvelopeStreamMaxBatchBytes), on the goroutine that calls the
// EnvelopeStream, before the next batch is returned. A nil alerter ignores
// drops.
func WithEnvelopeStreamBuffer(size int, alerter func(missed int)) EnvelopeStreamOption {
	return func(c *EnvelopeStreamConnector) {
		c.cfg.buffered = size > 0 || alerter != nil
		c.cfg.bufferSize = size
		c.cfg.alerter = alerter
	}
}

// WithEnvelopeStreamBufferBytes bounds the estimated decoded size of what
// the buffer of WithEnvelopeStreamBuffer holds (the default is
// DefaultEnvelopeStreamBufferBytes; a value below 1 keeps the default).
// The buffer then holds at most n bytes plus one batch. It has no effect
// without WithEnvelopeStreamBuffer.
func WithEnvelopeStreamBufferBytes(n int) EnvelopeStreamOption {
	return func(c *EnvelopeStreamConnector) { c.cfg.bufferBytes = n }
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
	if c.cfg.bufferBytes < 1 {
		c.cfg.bufferBytes = DefaultEnvelopeStreamBufferBytes
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
// goroutine), which is closed as soon as ctx is done, whether or not the
// stream is called again. The request is sent unchanged (a nil req is sent
// as an empty request); envelopes come in the order the server sent them;
// empty batches are skipped. The stream returns nil once ctx is done.
// Invalid dial options are logged and the stream then just waits for ctx
// to end and returns nil (the original panicked).
//
// Reconnecting: while the server is away, gRPC reconnects the connection
// with delays of EnvelopeStreamRetryDelay growing to
// EnvelopeStreamMaxRetryDelay, and a new stream is opened the moment the
// connection is back, so data flows again within about half a second of
// the server's return. On a working connection, a stream that ends after
// EnvelopeStreamHealthyAfter (a routine close, a GOAWAY, a broken stream)
// is replaced at once, and so is the first young stream the server ends
// cleanly; streams that keep failing or ending young are spaced by the
// same delays, counted from the start of the previous attempt. The two
// never add up. Each failure is logged.
//
// Memory: each message from the server (at most 4 MiB with gRPC's default
// receive limit) is kept encoded and decoded a batch of at most about
// EnvelopeStreamMaxBatchBytes at a time. Without a buffer, the stream's
// goroutine decodes up to 4 batches ahead of the caller and reads the next
// message only once the caller has taken those, so the server is slowed
// down by gRPC flow control and nothing is dropped. It holds at most 6
// such batches (the 4, the one waiting to join them, the one the caller
// has) plus the message, plus what gRPC's flow-control window lets the
// server send ahead (gRPC's dynamic window grows to at most 16 MiB). With
// WithEnvelopeStreamBuffer, the buffer's bounds replace the 4 batches. The
// returned function may be called from several goroutines.
func (c *EnvelopeStreamConnector) Stream(ctx context.Context, req *loggregator_v2.EgressBatchRequest) EnvelopeStream {
	if ctx.Err() != nil {
		return func() []*loggregator_v2.Envelope { return nil }
	}
	dialOpts := make([]grpc.DialOption, 0, len(c.cfg.dialOpts)+2)
	dialOpts = append(dialOpts, grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: grpcbackoff.Config{
			BaseDelay:  envelopeStreamBackoff.BaseDelay,
			Multiplier: envelopeStreamBackoff.Multiplier,
			Jitter:     envelopeStreamBackoff.Jitter,
			MaxDelay:   envelopeStreamBackoff.MaxDelay,
		},
		MinConnectTimeout: 20 * time.Second, // gRPC's default
	}))
	dialOpts = append(dialOpts, c.cfg.dialOpts...)
	dialOpts = append(dialOpts, grpc.WithTransportCredentials(credentials.NewTLS(c.tls)))
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
	r := egress.New(conn, req, egress.Config{
		Backoff:      envelopeStreamBackoff,
		HealthyAfter: EnvelopeStreamHealthyAfter,
		ChunkBytes:   EnvelopeStreamMaxBatchBytes,
		Logger:       c.cfg.logger,
	})
	// One goroutine owns the gRPC stream: it receives and decodes the next
	// batches while the caller handles the previous ones, and closes the
	// connection when ctx is done.
	if !c.cfg.buffered {
		ch := make(chan []*loggregator_v2.Envelope, readAhead)
		go func() {
			defer conn.Close()
			defer r.Close()
			for {
				b, _ := r.Next(ctx)
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

	q := newBatchQueue(c.cfg.bufferSize, c.cfg.bufferBytes, c.cfg.alerter)
	go func() {
		defer conn.Close()
		for {
			b, size := r.Next(ctx)
			if b == nil {
				return // ctx is done
			}
			q.put(b, size)
		}
	}()
	return func() []*loggregator_v2.Envelope { return q.get(ctx) }
}

// readAhead is how many decoded batches an unbuffered stream holds ready
// for its caller; the server is slowed down (gRPC flow control) rather than
// data dropped beyond that.
const readAhead = 4
