package loggregator

import (
	"context"
	"time"

	"google.golang.org/grpc"
)

// Defaults of the IngressClient.
const (
	// DefaultIngressAddr is the address of the local Loggregator agent the
	// IngressClient sends to unless WithAddr says otherwise.
	DefaultIngressAddr = "localhost:3458"
	// DefaultBatchMaxSize is the number of envelopes after which a batch
	// is sent without waiting for the flush interval.
	DefaultBatchMaxSize = 100
	// DefaultBatchFlushInterval is the longest time an envelope waits in a
	// partial batch before it is sent.
	DefaultBatchFlushInterval = 100 * time.Millisecond
	// MinBatchFlushInterval is the shortest flush interval; shorter
	// positive values are raised to it.
	MinBatchFlushInterval = time.Millisecond
	// DefaultIngressBufferSize is the number of envelopes the IngressClient
	// holds while they wait to be sent or confirmed (including batches
	// being retried).
	DefaultIngressBufferSize = 10000
	// DefaultIngressBufferBytes bounds the memory of the buffer: the batch
	// memory it references, allocated on demand, never exceeds it.
	DefaultIngressBufferBytes = 16 << 20
	// MinIngressBufferBytes is the smallest byte bound; smaller values of
	// WithBufferBytes are raised to it, so that an envelope of the maximum
	// size always fits.
	MinIngressBufferBytes = 2 * MaxIngressEnvelopeSize
	// MaxIngressEnvelopeSize is the largest encoded envelope, counting its
	// few bytes of batch framing, that the client accepts. A batch holding
	// it stays within gRPC's default 4 MiB receive limit, the agent's
	// limit. Larger envelopes are dropped at Emit and counted as invalid.
	MaxIngressEnvelopeSize = 4<<20 - 64
	// DefaultIngressMaxEmitWait bounds how long an Emit call waits for
	// room in a full buffer while the agent is accepting data.
	DefaultIngressMaxEmitWait = time.Second
	// DefaultIngressSendTimeout bounds each blocking step of sending:
	// opening a stream, writing one batch, and the agent's answer when a
	// stream is closed. A step that overruns it counts as a failed
	// attempt and the stream is replaced.
	DefaultIngressSendTimeout = 5 * time.Second
	// DefaultIngressReconnectDelay is the delay between two connection
	// attempts while the agent is unreachable (randomly ±20%), so a
	// returning agent is found within about 600 ms and an absent one sees
	// at most three attempts a second.
	DefaultIngressReconnectDelay = 500 * time.Millisecond
	// DefaultIngressCloseTimeout bounds how long CloseSend waits for the
	// buffered envelopes to be delivered and confirmed.
	DefaultIngressCloseTimeout = 5 * time.Second
	// DropReportInterval is the shortest time between two reports of
	// dropped envelopes (log line and drop handler call).
	DropReportInterval = time.Second
	// MaxBatchSendAttempts is how many broken or unconfirmed streams a
	// batch may go through; then it is dropped and counted (it may have
	// reached the server), so that a batch the server always rejects
	// cannot wedge the client.
	MaxBatchSendAttempts = 5

	// maxBatchBytes seals a batch once its encoding reaches this size,
	// well below gRPC's default 4 MiB message limit.
	maxBatchBytes = 1 << 20
)

// IngressOption is the type of a configurable client option.
//
// Options only record values; NewIngressClient resolves them once, after
// all options ran, so their order only matters where documented.
type IngressOption func(*IngressClient)

// ingressConfig holds what the options record.
type ingressConfig struct {
	addr          string
	batchMaxSize  uint
	flushInterval time.Duration
	bufferSize    int
	bufferBytes   int
	maxEmitWait   time.Duration
	sendTimeout   time.Duration
	closeTimeout  time.Duration
	ctx           context.Context
	dialOpts      []grpc.DialOption
	logger        Logger
	tags          map[string]string
	dropHandler   func(dropped int)
}

func defaultIngressConfig() ingressConfig {
	return ingressConfig{
		addr:          DefaultIngressAddr,
		batchMaxSize:  DefaultBatchMaxSize,
		flushInterval: DefaultBatchFlushInterval,
		bufferSize:    DefaultIngressBufferSize,
		bufferBytes:   DefaultIngressBufferBytes,
		maxEmitWait:   DefaultIngressMaxEmitWait,
		sendTimeout:   DefaultIngressSendTimeout,
		closeTimeout:  DefaultIngressCloseTimeout,
		ctx:           context.Background(),
	}
}

// resolve clamps bad values to documented ones.
func (c *ingressConfig) resolve() {
	if c.addr == "" {
		c.addr = DefaultIngressAddr
	}
	if c.bufferSize < 1 {
		c.bufferSize = DefaultIngressBufferSize
	}
	if c.batchMaxSize < 1 {
		c.batchMaxSize = 1
	}
	if c.batchMaxSize > uint(c.bufferSize) {
		c.batchMaxSize = uint(c.bufferSize)
	}
	if c.flushInterval <= 0 {
		c.flushInterval = DefaultBatchFlushInterval
	}
	c.flushInterval = max(c.flushInterval, MinBatchFlushInterval)
	if c.closeTimeout <= 0 {
		c.closeTimeout = DefaultIngressCloseTimeout
	}
	if c.bufferBytes <= 0 {
		c.bufferBytes = DefaultIngressBufferBytes
	}
	c.bufferBytes = max(c.bufferBytes, MinIngressBufferBytes)
	if c.sendTimeout <= 0 {
		c.sendTimeout = DefaultIngressSendTimeout
	}
	if c.ctx == nil {
		c.ctx = context.Background()
	}
	c.logger = loggerOrDiscard(c.logger)
}

// WithAddr allows for the configuration of the loggregator v2 address.
// The default address is DefaultIngressAddr ("localhost:3458"); an empty
// addr keeps the default. The last WithAddr wins.
func WithAddr(addr string) IngressOption {
	return func(c *IngressClient) { c.cfg.addr = addr }
}

// WithBatchMaxSize allows for the configuration of the number of messages
// to collect before emitting them into loggregator. By default, its value
// is 100 messages (DefaultBatchMaxSize).
//
// Note that aside from batch size, messages will be flushed from the client
// into loggregator at a fixed interval to ensure messages are not held for
// an undue amount of time before being sent. In other words, even if the
// client has not yet achieved the maximum batch size, the batch interval
// may trigger the messages to be sent.
//
// 0 is treated as 1 (every envelope is sent alone, as in the original);
// values above the buffer size are lowered to it. Batches are also sent
// early once their encoding reaches 1 MiB. The last call wins.
func WithBatchMaxSize(maxSize uint) IngressOption {
	return func(c *IngressClient) { c.cfg.batchMaxSize = maxSize }
}

// WithBatchFlushInterval allows for the configuration of the maximum time
// to wait before sending a batch of messages. Note that the batch interval
// may be triggered prior to the batch reaching the configured maximum
// size.
//
// The default is 100 ms (DefaultBatchFlushInterval). Zero or negative
// durations select the default (the original spun the CPU); positive
// durations below MinBatchFlushInterval (1 ms) are raised to it. The last
// call wins.
func WithBatchFlushInterval(d time.Duration) IngressOption {
	return func(c *IngressClient) { c.cfg.flushInterval = d }
}

// WithBufferSize sets how many envelopes the client holds while they wait
// to be sent or confirmed, counting batches being retried. Emit calls made
// while the buffer is full wait for room (see WithMaxEmitWait) or drop
// their envelope (see WithDropHandler). The default is
// DefaultIngressBufferSize (10000); values below 1 select it. This option
// is an addition to the original API.
func WithBufferSize(n int) IngressOption {
	return func(c *IngressClient) { c.cfg.bufferSize = n }
}

// WithBufferBytes bounds the memory of the buffer in bytes: the batch
// memory it references, allocated on demand, stays within n, whatever the
// size of the envelopes. The buffer is full when either this bound or
// WithBufferSize is reached. The default is DefaultIngressBufferBytes
// (16 MiB); zero or negative values select it and values below
// MinIngressBufferBytes are raised to it. The last call wins. gRPC's own
// transport buffers (up to its flow-control window) come on top. This
// option is an addition to the original API.
func WithBufferBytes(n int) IngressOption {
	return func(c *IngressClient) { c.cfg.bufferBytes = n }
}

// WithMaxEmitWait bounds how long an Emit call waits for room when the
// buffer is full. It waits only while the agent is accepting data: while
// the connection is failing, or after a wait ran out without the agent
// confirming anything, Emit drops at once until the agent confirms data
// again. The default is DefaultIngressMaxEmitWait (1 s); zero or negative
// values make Emit never wait, as WithDropWhenFull does. The last call
// wins. This option is an addition to the original API.
func WithMaxEmitWait(d time.Duration) IngressOption {
	return func(c *IngressClient) { c.cfg.maxEmitWait = d }
}

// WithDropWhenFull makes Emit calls never wait: an envelope that finds the
// buffer full is dropped and counted at once. It is WithMaxEmitWait(0).
// This option is an addition to the original API.
func WithDropWhenFull() IngressOption {
	return WithMaxEmitWait(0)
}

// WithSendTimeout bounds each blocking step of sending: opening a stream,
// writing one batch and waiting for the agent's answer when a stream is
// closed. A step that overruns it counts as a failed attempt; the stream
// is replaced and its batches are sent again. The default is
// DefaultIngressSendTimeout (5 s); zero or negative values select it. The
// last call wins. This option is an addition to the original API.
func WithSendTimeout(d time.Duration) IngressOption {
	return func(c *IngressClient) { c.cfg.sendTimeout = d }
}

// WithDropHandler registers f to be told about dropped envelopes: those
// that found the buffer full (after waiting, or at once while the agent
// was not accepting, when the oldest waiting envelopes are dropped
// instead of the new one), those emitted after CloseSend, those that could
// not be encoded (strings that are not valid UTF-8) or were larger than
// MaxIngressEnvelopeSize, batches given up after MaxBatchSendAttempts, and
// envelopes still undelivered when CloseSend gave up. f receives the
// number dropped since its previous call. It runs on a goroutine of the
// client, never on the caller's, at most once per DropReportInterval
// (plus a last call during CloseSend, which waits for it at most
// DropReportInterval), and should not block for long. It may call
// CloseSend. The last call wins; nil removes the handler. Drops are also
// logged to the WithLogger logger at the same rate. This option is an
// addition to the original API.
func WithDropHandler(f func(dropped int)) IngressOption {
	return func(c *IngressClient) { c.cfg.dropHandler = f }
}

// WithCloseTimeout bounds how long CloseSend waits for buffered envelopes
// to be delivered. The default is DefaultIngressCloseTimeout (5 s); zero
// or negative values select it. The last call wins. This option is an
// addition to the original API.
func WithCloseTimeout(d time.Duration) IngressOption {
	return func(c *IngressClient) { c.cfg.closeTimeout = d }
}

// WithContext configures the context that manages the lifecycle for the
// gRPC connection. It defaults to a context.Background(). The client
// sends nothing once ctx ends (buffered envelopes are then reported as
// undelivered by CloseSend), and CloseSend returns early when ctx ends. A
// nil ctx is ignored. The last call wins.
func WithContext(ctx context.Context) IngressOption {
	return func(c *IngressClient) { c.cfg.ctx = ctx }
}

// WithDialOptions allows for configuration of grpc dial options. Calls
// accumulate (each appends); nil options are ignored.
//
// The client dials with grpc.DialContext on the WithContext context, so
// the options mean what they mean to grpc.Dial: grpc.WithBlock makes
// NewIngressClient wait for the connection and return an error if it
// cannot be made (within grpc.WithTimeout, if given). What differs from
// calling grpc.Dial with the same options: the client's options come
// first, so these override them, namely grpc.WithConnectParams (the
// client's reconnect delay is DefaultIngressReconnectDelay); the client's
// TLS transport credentials are added after them, so they replace any
// transport credentials given here; and the BatchSender stream uses the
// client's own codec for pre-encoded batches, whatever codec options say.
func WithDialOptions(opts ...grpc.DialOption) IngressOption {
	return func(c *IngressClient) {
		for _, o := range opts {
			if o != nil {
				c.cfg.dialOpts = append(c.cfg.dialOpts, o)
			}
		}
	}
}

// WithLogger allows for the configuration of a logger. By default, the
// logger is disabled. The client logs connection and send errors and
// dropped envelopes through Printf; it never calls Panicf. A nil logger
// selects the default. The last call wins.
func WithLogger(l Logger) IngressOption {
	return func(c *IngressClient) { c.cfg.logger = l }
}

// WithTag allows for the configuration of arbitrary string value metadata
// which will be included in all data sent to Loggregator. Calls
// accumulate; a repeated name keeps the last value. Client tags are
// written before the options of each Emit call, so per-call tags override
// them; Emit(envelope) does not add them.
func WithTag(name, value string) IngressOption {
	return func(c *IngressClient) {
		if c.cfg.tags == nil {
			c.cfg.tags = make(map[string]string)
		}
		c.cfg.tags[name] = value
	}
}
