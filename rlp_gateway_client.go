package loggregator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/gatewayjson"
	"code.cloudfoundry.org/go-loggregator/internal/rlpquery"
	"code.cloudfoundry.org/go-loggregator/internal/sse"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// DefaultRLPGatewayMaxEventSize is the largest SSE event, in bytes of
// event data, an RLPGatewayClient accepts unless
// WithRLPGatewayMaxEventSize says otherwise: 1 MiB. A larger event is read
// to its end in bounded memory, logged, reported and skipped.
const DefaultRLPGatewayMaxEventSize = sse.DefaultMaxEventSize

// Internal limits of the RLPGatewayClient.
const (
	// rlpGatewayQueue is how many decoded batches wait for the consumer
	// before the connection goroutine stops reading.
	rlpGatewayQueue = 64
	// rlpGatewayMaxReturn bounds the envelopes one call of the stream
	// function returns when it gathers several batches (a single larger
	// batch is returned whole).
	rlpGatewayMaxReturn = 10000
	// rlpGatewayBodyLogLimit bounds the part of an error body that is
	// logged.
	rlpGatewayBodyLogLimit = 512
	// rlpGatewayDrainLimit bounds what is read from a body before closing
	// it, so that connections can be reused without reading a stream to
	// its end.
	rlpGatewayDrainLimit = 4096
	// rlpGatewayMinClosingInterval: a closing event is followed by an
	// immediate reconnect only if the stream was healthy or lasted this
	// long; otherwise the usual backoff applies.
	rlpGatewayMinClosingInterval = time.Second
)

// errRLPGatewayMaxRetries is what the client reports when it gives up.
var errRLPGatewayMaxRetries = errors.New("client connection attempts exceeded max retries -- giving up")

// RLPGatewayClient reads envelopes from the RLP gateway's HTTP API
// (GET <addr>/v2/read, a Server-Sent Events stream of JSON envelope
// batches). It should be created with NewRLPGatewayClient.
//
// A client holds only configuration and is safe for concurrent use; each
// call of Stream opens its own connection.
type RLPGatewayClient struct {
	addr         string
	log          *log.Logger
	doer         Doer
	maxEventSize int
	maxRetries   int
	errs         chan<- error
}

// Doer is used to make HTTP requests to the RLP Gateway.
//
// An *http.Client is a Doer. The client never sets Authorization itself:
// wrap an *http.Client in a Doer that adds (and, when needed, refreshes)
// the "bearer <token>" header. Every request the client makes goes through
// Do.
type Doer interface {
	// Do is a implementation of the http.Client's Do method.
	Do(*http.Request) (*http.Response, error)
}

// RLPGatewayClientOption is the type of a configurable client option.
type RLPGatewayClientOption func(*RLPGatewayClient)

// WithRLPGatewayClientLogger returns a RLPGatewayClientOption to configure
// the logger of the RLPGatewayClient. It defaults to a silent logger; nil
// means the default.
//
// Connection failures, unexpected status codes (with up to 512 bytes of
// the body), malformed and oversized events are logged with Printf; the
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
// largest SSE event, in bytes of data, the client accepts (default
// DefaultRLPGatewayMaxEventSize; zero or negative means the default).
// Larger events are skipped without growing memory beyond this size.
func WithRLPGatewayMaxEventSize(n int) RLPGatewayClientOption {
	return func(c *RLPGatewayClient) { c.maxEventSize = n }
}

// WithRLPGatewayMaxRetries returns a RLPGatewayClientOption that ends a
// stream after more than n consecutive failed connection attempts (an
// attempt fails unless it gets a 200 answer that delivers at least one
// event). The stream function then returns nil, and the error
// "client connection attempts exceeded max retries -- giving up" is logged
// and sent to the WithRLPGatewayErrChan channel. The default, and any n <=
// 0, is to retry until the context is done.
//
// Unlike the original v8 option this is not on by default, and failed
// attempts are spaced by the usual backoff.
func WithRLPGatewayMaxRetries(n int) RLPGatewayClientOption {
	return func(c *RLPGatewayClient) { c.maxRetries = n }
}

// WithRLPGatewayErrChan returns a RLPGatewayClientOption that reports the
// client's background errors on errs: each failed connection attempt
// (request error or non-200 status), and giving up after
// WithRLPGatewayMaxRetries. Sends never block: an error is dropped when the
// channel is full. The client never closes errs. By default errors are
// only logged.
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
	if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	return c
}

// Stream returns a new EnvelopeStream for the given context and request.
// The lifecycle of the EnvelopeStream is managed by the given context. If
// the underlying SSE stream dies, it attempts to reconnect until the
// context is done. Any errors are logged via the client's logger.
//
// The request becomes the query string of GET <addr>/v2/read with headers
// Accept: text/event-stream and Cache-Control: no-cache, bound to ctx.
// Unlike the original, values are URL-escaped and a gauge selector with
// several names is sent as gauge.name=a,b instead of panicking; as with
// the original, the gateway serves every requested kind for every
// requested source id, and use_preferred_tags is not sent (the gateway
// always uses preferred tags). A nil request is an empty one, which the
// gateway rejects.
//
// A single goroutine connects, reads the stream and decodes batches ahead
// of the caller, keeping up to 64 batches. Envelopes come out in the order
// the gateway sent them. Failed attempts (request errors, non-200 answers,
// streams that end before delivering an event) are retried with
// exponential backoff and jitter (from 100 ms up to 5 s); the backoff is
// reset after a healthy stream, and a "closing" event from the gateway
// leads to an immediate reconnect. Malformed or oversized events are
// logged and skipped; unknown JSON fields are ignored.
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
	batches := make(chan []*loggregator_v2.Envelope, rlpGatewayQueue)
	go c.run(ctx, url, batches)

	var (
		mu      sync.Mutex
		pending []*loggregator_v2.Envelope
		done    bool
	)
	return func() []*loggregator_v2.Envelope {
		mu.Lock()
		defer mu.Unlock()
		if done || ctx.Err() != nil {
			return nil
		}
		out := pending
		pending = nil
		if out == nil {
			select {
			case b, ok := <-batches:
				if !ok {
					done = true
					return nil
				}
				out = b
			case <-ctx.Done():
				return nil
			}
		}
		for len(out) < rlpGatewayMaxReturn {
			select {
			case b, ok := <-batches:
				if !ok {
					done = true
					return out
				}
				if len(out)+len(b) > rlpGatewayMaxReturn {
					pending = b
					return out
				}
				out = append(out, b...)
			default:
				return out
			}
		}
		return out
	}
}

// attempt is the outcome of one connection.
type attempt struct {
	healthy bool  // a 200 answer delivered at least one event
	closing bool  // the gateway sent a closing event
	err     error // why the attempt failed, for the error channel
}

// run connects until ctx is done or the client gives up, then closes
// batches.
func (c *RLPGatewayClient) run(ctx context.Context, url string, batches chan<- []*loggregator_v2.Envelope) {
	defer close(batches)
	bo := backoff.New(backoff.Config{})
	failures := 0
	for ctx.Err() == nil {
		started := time.Now()
		a := c.connect(ctx, url, batches)
		if ctx.Err() != nil {
			return
		}
		if a.healthy {
			bo.Reset()
			failures = 0
		} else {
			failures++
			if a.err != nil {
				c.report(a.err)
			}
			if c.maxRetries > 0 && failures > c.maxRetries {
				c.log.Printf("%s", errRLPGatewayMaxRetries)
				c.report(errRLPGatewayMaxRetries)
				return
			}
		}
		if a.closing && (a.healthy || time.Since(started) >= rlpGatewayMinClosingInterval) {
			continue
		}
		if !bo.Wait(ctx) {
			return
		}
	}
}

// report sends err to the error channel without blocking.
func (c *RLPGatewayClient) report(err error) {
	if c.errs == nil {
		return
	}
	select {
	case c.errs <- err:
	default:
	}
}

// connect makes one request and reads its stream until it ends.
func (c *RLPGatewayClient) connect(ctx context.Context, url string, batches chan<- []*loggregator_v2.Envelope) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		err = fmt.Errorf("failed to build request %s: %w", url, err)
		c.log.Printf("%s", err)
		return attempt{err: err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := c.doer.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Printf("error making request: %s", err)
		}
		return attempt{err: fmt.Errorf("error making request: %w", err)}
	}
	if resp == nil || resp.Body == nil {
		err := errors.New("error making request: Doer returned no response")
		c.log.Printf("%s", err)
		return attempt{err: err}
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, rlpGatewayDrainLimit)
		_ = resp.Body.Close()
	}()

	if resp.StatusCode != http.StatusOK {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, rlpGatewayBodyLogLimit))
		if rerr != nil && ctx.Err() == nil {
			c.log.Printf("failed to read body: %s", rerr)
		}
		err := fmt.Errorf("unexpected status code %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		c.log.Printf("%s", err)
		return attempt{err: err}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		c.log.Printf("unexpected content type %q; reading the body as an event stream anyway", ct)
	}
	return c.read(ctx, resp.Body, batches)
}

// read consumes one event stream.
func (c *RLPGatewayClient) read(ctx context.Context, body io.Reader, batches chan<- []*loggregator_v2.Envelope) attempt {
	var (
		a         attempt
		r         = sse.NewReader(body, c.maxEventSize)
		malformed int
	)
	for {
		ev, err := r.Next()
		switch {
		case err == nil:
		case errors.Is(err, sse.ErrEventTooLarge):
			c.log.Printf("skipped an event larger than %d bytes (%d skipped on this connection)", c.maxEventSize, r.Skipped())
			continue
		case ctx.Err() != nil:
			return a
		case errors.Is(err, io.EOF):
			c.log.Printf("stream ended by the server")
			a.err = errors.New("stream ended by the server before any event")
			return a
		case errors.Is(err, sse.ErrUnterminatedEvent):
			c.log.Printf("stream ended inside an event without its terminating blank line; event discarded")
			a.err = errors.New("stream ended by the server before any event")
			return a
		default:
			c.log.Printf("failed while reading stream: %s", err)
			a.err = fmt.Errorf("failed while reading stream: %w", err)
			return a
		}

		switch ev.Type {
		case "", "message":
		case sse.TypeHeartbeat:
			a.healthy = true
			continue
		case sse.TypeClosing:
			c.log.Printf("gateway closed the stream (%s); reconnecting", ev.Data)
			a.closing = true
			return a
		default:
			continue
		}
		var batch loggregator_v2.EnvelopeBatch
		if err := gatewayjson.Unmarshal(ev.Data, &batch); err != nil {
			malformed++
			c.log.Printf("failed to unmarshal envelope batch (%d malformed on this connection): %s", malformed, err)
			continue
		}
		a.healthy = true
		if len(batch.Batch) == 0 {
			continue
		}
		select {
		case batches <- batch.Batch:
		case <-ctx.Done():
			return a
		}
	}
}
