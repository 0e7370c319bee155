package loggregator

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/rlpquery"
	"code.cloudfoundry.org/go-loggregator/internal/sse"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// DefaultRLPGatewayMaxEventSize is the largest SSE event, in bytes of
// event data, an RLPGatewayClient accepts unless
// WithRLPGatewayMaxEventSize says otherwise: 16 MiB, enough for the
// largest batch the gateway can send. The arithmetic: the gateway receives
// batches from the RLP (at most 100 envelopes each) with a gRPC receive
// limit of 10 MiB, and the router and agent in front of it accept no more
// (agent: 4 MiB per message, router: 10 MiB). A batch at that limit is
// almost all payload bytes, which JSON carries as base64 (4/3 of their
// size): 10 MiB × 4/3 = 13.3 MiB, plus about 1 KiB of JSON names, tags and
// punctuation per envelope (100 KiB for 100 envelopes), about 13.5 MiB,
// rounded up to 16 MiB. A larger event is read to its end in bounded
// memory, logged, counted, reported and skipped.
const DefaultRLPGatewayMaxEventSize = sse.DefaultMaxEventSize

// MaxRLPGatewayMaxEventSize is the largest value WithRLPGatewayMaxEventSize
// takes effect with: 64 MiB; larger values are clamped to it. It covers
// even the worst-case JSON of a 10 MiB batch whose strings are all control
// characters (escaped as \u00XX, six bytes each: 60 MiB).
const MaxRLPGatewayMaxEventSize = sse.MaxEventSizeLimit

// Bounds of what an RLPGatewayClient stream holds decoded ahead of its
// caller. The connection goroutine decodes the next batch (or part of a
// large event) only while the stream holds fewer envelopes and fewer
// estimated bytes than these; otherwise it stops reading the HTTP body
// until the caller takes envelopes, so a slow caller slows the gateway
// down instead of growing memory. At most one batch more is held: a whole
// event of under 64 KiB, or a part of a larger event (at most 1000
// envelopes or 256 KiB of JSON).
const (
	// DefaultRLPGatewayBufferEnvelopes bounds the decoded envelopes
	// waiting for the caller: 10000.
	DefaultRLPGatewayBufferEnvelopes = 10000
	// DefaultRLPGatewayBufferBytes bounds the estimated decoded size of
	// the envelopes waiting for the caller: 16 MiB. A batch is estimated
	// at the size of its JSON plus 128 bytes per envelope (the Go structs
	// of an envelope without fields).
	DefaultRLPGatewayBufferBytes = 16 << 20
)

// Internal limits and timing of the RLPGatewayClient.
const (
	// rlpGatewayMaxReturn bounds the envelopes one call of the stream
	// function returns when it gathers several batches (a single larger
	// batch is returned whole).
	rlpGatewayMaxReturn = 10000
	// rlpGatewayEnvelopeCost is the estimated decoded size of an envelope
	// beyond its JSON.
	rlpGatewayEnvelopeCost = 128
	// Events larger than rlpGatewayPartThreshold bytes are decoded in
	// parts of at most rlpGatewayPartEnvelopes envelopes and (beyond the
	// first envelope) rlpGatewayPartBytes bytes of JSON.
	rlpGatewayPartThreshold = 64 << 10
	rlpGatewayPartEnvelopes = 1000
	rlpGatewayPartBytes     = 256 << 10
	// rlpGatewayBodyLogLimit bounds the part of an error body that is
	// logged.
	rlpGatewayBodyLogLimit = 512
	// rlpGatewayDrainLimit bounds what is read from a body before closing
	// it, so that connections can be reused without reading a stream to
	// its end.
	rlpGatewayDrainLimit = 4096
	// rlpGatewayClosingInterval: after a closing event the next request
	// starts at once, but no sooner than this after the previous one.
	rlpGatewayClosingInterval = time.Second
	// rlpGatewayHealthyAfter: a stream open this long resets the backoff
	// even if it delivered no envelope (longer than the gateway's 15 s
	// heartbeat interval).
	rlpGatewayHealthyAfter = 20 * time.Second
)

// rlpGatewayBackoff spaces failed attempts: 250 ms, 500 ms, then 800 ms
// (±20 %, never above 800 ms), so that at most three requests go out in any
// second while the gateway is away and the first one after it is back
// starts within 800 ms.
var rlpGatewayBackoff = backoff.Config{
	BaseDelay:  250 * time.Millisecond,
	MaxDelay:   800 * time.Millisecond,
	Multiplier: 2,
	Jitter:     0.2,
}

// ErrRLPGatewayMaxRetries is the error an RLPGatewayClient stream sends to
// the WithRLPGatewayErrChan channel, and logs, when it gives up after
// WithRLPGatewayMaxRetries. Its text is the original's: "client connection
// attempts exceeded max retries -- giving up". It is the only fatal error
// the channel carries: the stream has ended.
var ErrRLPGatewayMaxRetries = errors.New("client connection attempts exceeded max retries -- giving up")

// ErrRLPGatewayEventSkipped is wrapped by the errors an RLPGatewayClient
// sends to the WithRLPGatewayErrChan channel for an event it read but could
// not deliver: larger than the maximum event size, or not a valid JSON
// envelope batch. These are not fatal: the stream goes on with the next
// event. Tell them apart with errors.Is(err, ErrRLPGatewayEventSkipped).
var ErrRLPGatewayEventSkipped = errors.New("rlp gateway event skipped")

// RLPGatewayClient reads envelopes from the RLP gateway's HTTP API
// (GET <addr>/v2/read, a Server-Sent Events stream of JSON envelope
// batches). It should be created with NewRLPGatewayClient.
//
// A client holds configuration and the statistics of its streams (see
// Stats), and is safe for concurrent use; each call of Stream opens its
// own connection.
type RLPGatewayClient struct {
	addr         string
	log          *log.Logger
	doer         Doer
	maxEventSize int
	maxRetries   int
	errs         chan<- error

	stats gatewayCounters
}

// Doer is used to make HTTP requests to the RLP Gateway.
//
// An *http.Client is a Doer. The client never sets Authorization itself:
// wrap an *http.Client in a Doer that adds (and, when needed, refreshes)
// the "bearer <token>" header. Every request the client makes goes through
// Do.
type Doer interface {
	// Do sends an HTTP request and returns an HTTP response, as
	// (*http.Client).Do does. A nil response without an error counts as a
	// failed attempt.
	Do(*http.Request) (*http.Response, error)
}

// RLPGatewayClientOption is the type of a configurable client option.
type RLPGatewayClientOption func(*RLPGatewayClient)

// WithRLPGatewayClientLogger returns a RLPGatewayClientOption to configure
// the logger of the RLPGatewayClient. It defaults to a silent logger; nil
// means the default.
//
// Every failed attempt (request error, non-200 status with up to 512 bytes
// of the body, a stream that ends or breaks), every closing event, and
// every skipped event (oversized or malformed) is logged with Printf; the
// client never calls a Panic or Fatal method.
func WithRLPGatewayClientLogger(log *log.Logger) RLPGatewayClientOption {
	return func(c *RLPGatewayClient) { c.log = log }
}

// WithRLPGatewayHTTPClient returns a RLPGatewayClientOption to configure
// the HTTP client (the Doer every request goes through). It defaults to
// the http.DefaultClient; nil means the default.
//
// A Doer whose client has a Timeout cuts long streams; the client then
// reconnects.
func WithRLPGatewayHTTPClient(d Doer) RLPGatewayClientOption {
	return func(c *RLPGatewayClient) { c.doer = d }
}

// WithRLPGatewayMaxEventSize returns a RLPGatewayClientOption that sets the
// largest SSE event, in bytes of data, the client accepts. The default is
// DefaultRLPGatewayMaxEventSize (16 MiB); zero or negative means the
// default, and values above MaxRLPGatewayMaxEventSize (64 MiB) are clamped
// to it. Memory for an event grows as its data arrives (to at most twice
// its size), whatever the maximum. A larger event is read to its end and
// skipped: it is logged, counted (SkippedEvents, Stats().Skipped.Oversized)
// and reported on the WithRLPGatewayErrChan channel as an error wrapping
// ErrRLPGatewayEventSkipped.
func WithRLPGatewayMaxEventSize(n int) RLPGatewayClientOption {
	return func(c *RLPGatewayClient) { c.maxEventSize = n }
}

// WithRLPGatewayMaxRetries returns a RLPGatewayClientOption that ends a
// stream after more than n consecutive failed connection attempts, as in
// the original v8: an attempt fails when the request returns an error, no
// response, or a status other than 200; any 200 answer, even one that
// carries only a closing event, resets the count. The stream then logs
// ErrRLPGatewayMaxRetries ("client connection attempts exceeded max
// retries -- giving up"), sends it to the WithRLPGatewayErrChan channel,
// and its function returns nil.
//
// The default, and any n <= 0, is to retry until the context is done
// (the original v8 gave up after 10 by default). Failed attempts are spaced
// by the stream's backoff (see Stream), so n = 3 gives up after 4 attempts
// in about 1.5 s.
func WithRLPGatewayMaxRetries(n int) RLPGatewayClientOption {
	return func(c *RLPGatewayClient) { c.maxRetries = n }
}

// WithRLPGatewayErrChan returns a RLPGatewayClientOption that reports the
// client's background errors on errs. Sends never block: an error is
// dropped when the channel is full. The client never closes errs. By
// default errors are only logged.
//
// As in the original v8, the only fatal error sent is
// ErrRLPGatewayMaxRetries, once, when a stream gives up; individual failed
// attempts are only logged. In addition (not in the original), every
// event the client reads but skips, because it is larger than the maximum
// event size or is not a valid envelope batch, is reported with an error
// wrapping ErrRLPGatewayEventSkipped; the stream goes on. A program that
// treats anything on the channel as fatal should test for
// ErrRLPGatewayMaxRetries with errors.Is.
func WithRLPGatewayErrChan(errs chan<- error) RLPGatewayClientOption {
	return func(c *RLPGatewayClient) { c.errs = errs }
}

// NewRLPGatewayClient returns a client for the RLP gateway at addr, a base
// URL such as "https://log-stream.example.com" to which "/v2/read" is
// appended verbatim (so addr should not end in "/").
func NewRLPGatewayClient(addr string, opts ...RLPGatewayClientOption) *RLPGatewayClient {
	c := &RLPGatewayClient{addr: addr}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.log == nil {
		c.log = log.New(io.Discard, "", 0)
	}
	if c.doer == nil {
		c.doer = http.DefaultClient
	}
	if c.maxEventSize <= 0 {
		c.maxEventSize = DefaultRLPGatewayMaxEventSize
	}
	c.maxEventSize = min(c.maxEventSize, MaxRLPGatewayMaxEventSize)
	if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	return c
}

// SkippedEvents returns how many events the client's streams have read and
// skipped since it was created: events larger than the maximum event size
// and events that are not valid JSON envelope batches (each is also logged
// and reported on the WithRLPGatewayErrChan channel). It reads the same
// counters as Stats and always equals Stats().Skipped.Total().
func (c *RLPGatewayClient) SkippedEvents() uint64 { return c.stats.skippedTotal() }

// Stats returns a snapshot of the client's statistics, summed over every
// stream it has opened since it was created (see RLPGatewayStats for what
// each field counts). It is safe for concurrent use, takes no lock and
// does not stop the streams; the fields are read one at a time, so a
// snapshot taken while a stream works need not be one instant across
// fields.
//
// The streams keep the counters up to date with a few atomic operations
// per read, per event and per batch, and do not allocate for them. For
// each envelope of a data event, the lag histogram observes the time the
// event was read minus the envelope's timestamp.
func (c *RLPGatewayClient) Stats() RLPGatewayStats { return c.stats.snapshot() }

// Stream returns a new EnvelopeStream for the given context and request.
// The lifecycle of the EnvelopeStream is managed by the given context. If
// the underlying SSE stream dies, it attempts to reconnect until the
// context is done (or WithRLPGatewayMaxRetries gives up). Errors are
// logged via the client's logger.
//
// The request becomes the query string of GET <addr>/v2/read with headers
// Accept: text/event-stream and Cache-Control: no-cache, bound to ctx.
// Unlike the original, values are URL-escaped and a gauge selector with
// several names is sent as gauge.name=a,b instead of panicking; as with
// the original, the gateway serves every requested kind for every
// requested source id, and use_preferred_tags is not sent (the gateway
// always uses preferred tags). A nil request is an empty one, which the
// gateway rejects. A 200 answer is read as an event stream whatever its
// Content-Type.
//
// A single goroutine connects, reads the stream and decodes batches ahead
// of the caller, up to DefaultRLPGatewayBufferEnvelopes envelopes and
// DefaultRLPGatewayBufferBytes estimated bytes; beyond that it stops
// reading until the caller catches up. Envelopes come out in the order the
// gateway sent them. Malformed or oversized events are skipped (see
// WithRLPGatewayErrChan); unknown JSON fields are ignored.
//
// Reconnecting: failed attempts (request errors, non-200 answers, streams
// that break, or end before any event) are retried after a backoff
// of 250 ms, 500 ms, then 800 ms (±20 %, capped at 800 ms), so that a
// gateway coming back is used within 800 ms, and one that is away gets at
// most three requests a second. The backoff starts again from 250 ms after
// a stream that delivered an envelope or stayed open 20 s; a stream that
// delivered only heartbeats does not reset it. After a stream the gateway
// ends cleanly (a closing event, or the end of the body after at least one
// event) the next request starts at once, but no sooner than 1 s after the
// previous request started, so a gateway that closes every stream at once
// gets at most one request a second.
//
// The returned function blocks until envelopes are available and returns
// all that are already decoded (up to 10000 envelopes, or one larger
// batch). Once ctx is done, or the stream gave up (see
// WithRLPGatewayMaxRetries), it returns nil, and the goroutine ends by
// itself. It may be called from several goroutines.
func (c *RLPGatewayClient) Stream(ctx context.Context, req *loggregator_v2.EgressBatchRequest) EnvelopeStream {
	url := c.addr + "/v2/read"
	if q := rlpquery.Encode(req); q != "" {
		url += "?" + q
	}
	q := newGatewayQueue(DefaultRLPGatewayBufferEnvelopes, DefaultRLPGatewayBufferBytes)
	s := &gatewayStream{c: c, url: url, q: q, bo: backoff.New(rlpGatewayBackoff)}
	go s.run(ctx)
	return func() []*loggregator_v2.Envelope {
		return q.pop(ctx, rlpGatewayMaxReturn)
	}
}
