package loggregator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/gatewayjson"
	"code.cloudfoundry.org/go-loggregator/internal/sse"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// gatewayStream owns one Stream's connection: the requests, the reading
// and decoding of events, the backoff and the count of failed attempts.
// Its run method is the only goroutine that touches it; it hands decoded
// batches to the stream function through q. It records what it does in
// the client's statistics (c.stats).
type gatewayStream struct {
	c   *RLPGatewayClient
	url string
	q   *gatewayQueue
	bo  *backoff.Backoff

	part []byte // scratch for decoding parts of large events

	// requested is set once a request has been given to the Doer; prevEnd
	// is then what ended the last one, the cause of the next reconnect.
	requested bool
	prevEnd   gatewayReconnectCause
}

// attempt is the outcome of one request.
type attempt struct {
	ok        bool // the gateway answered 200
	delivered bool // the stream delivered at least one envelope
	closing   bool // the gateway sent a closing event
	ended     bool // the stream ended cleanly (EOF) after at least one event
	// end is what ended the request, for the reconnect statistics: a
	// failed request or broken body (network), a non-200 answer (status
	// code), or a closing event or clean end of the body (closing).
	end gatewayReconnectCause
}

// run makes requests until ctx is done or the stream gives up, then closes
// the queue.
func (s *gatewayStream) run(ctx context.Context) {
	defer s.q.close()
	failures := 0
	for ctx.Err() == nil {
		started := time.Now()
		a := s.connect(ctx)
		s.prevEnd = a.end
		if ctx.Err() != nil {
			return
		}
		if a.ok {
			failures = 0
		} else {
			failures++
			if s.c.maxRetries > 0 && failures > s.c.maxRetries {
				s.c.log.Printf("%s", ErrRLPGatewayMaxRetries)
				s.c.stats.setError(ErrRLPGatewayMaxRetries, time.Now())
				s.report(ErrRLPGatewayMaxRetries)
				return
			}
		}
		if a.delivered || time.Since(started) >= rlpGatewayHealthyAfter {
			s.bo.Reset()
		}
		if a.closing || a.ended {
			// A stream the gateway ended cleanly: reconnect at once, but
			// no sooner than one interval after the previous request
			// started, so that a gateway that closes every stream gets no
			// request storm.
			if !backoff.Sleep(ctx, rlpGatewayClosingInterval-time.Since(started)) {
				return
			}
			continue
		}
		if !s.bo.Wait(ctx) {
			return
		}
	}
}

// report sends err to the error channel without blocking.
func (s *gatewayStream) report(err error) {
	if s.c.errs == nil {
		return
	}
	select {
	case s.c.errs <- err:
	default:
	}
}

// skip logs, counts, records and reports an event that is not delivered.
func (s *gatewayStream) skip(reason gatewaySkipReason, format string, args ...any) {
	s.c.stats.addSkipped(reason)
	n := s.c.stats.skippedTotal()
	msg := fmt.Sprintf(format, args...)
	s.c.log.Printf("skipped event (%d skipped in total): %s", n, msg)
	err := fmt.Errorf("%w: %s", ErrRLPGatewayEventSkipped, msg)
	s.c.stats.setError(err, time.Now())
	s.report(err)
}

// failed records err as the stream's last error and returns an attempt
// that ended for cause.
func (s *gatewayStream) failed(a attempt, cause gatewayReconnectCause, err error) attempt {
	s.c.stats.setError(err, time.Now())
	a.end = cause
	return a
}

// connect makes one request and reads its stream until it ends.
func (s *gatewayStream) connect(ctx context.Context) attempt {
	log := s.c.log
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		log.Printf("failed to build request %s: %s", s.url, err)
		return attempt{}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	s.c.stats.addRequest()
	if s.requested {
		s.c.stats.addReconnect(s.prevEnd)
	}
	s.requested = true
	resp, err := s.c.doer.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if ctx.Err() != nil {
			return attempt{end: reconnectNetwork}
		}
		log.Printf("error making request: %s", err)
		return s.failed(attempt{}, reconnectNetwork, err)
	}
	if resp == nil || resp.Body == nil {
		log.Printf("error making request: %s", errNoResponse)
		return s.failed(attempt{}, reconnectNetwork, errNoResponse)
	}
	// Every body byte read, of an error answer or a stream, is counted.
	body := s.c.stats.countReads(resp.Body)
	defer func() {
		_, _ = io.CopyN(io.Discard, body, rlpGatewayDrainLimit)
		_ = resp.Body.Close()
	}()

	if resp.StatusCode != http.StatusOK {
		msg, rerr := io.ReadAll(io.LimitReader(body, rlpGatewayBodyLogLimit))
		if rerr != nil && ctx.Err() == nil {
			log.Printf("failed to read body: %s", rerr)
		}
		err := fmt.Errorf("unexpected status code %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
		log.Printf("%s", err)
		return s.failed(attempt{}, reconnectStatusCode, err)
	}
	// As the original, read any 200 answer as an event stream, whatever
	// its Content-Type (test doubles and proxies often omit it).
	a := s.read(ctx, body)
	a.ok = true
	return a
}

// errNoResponse is recorded when a Doer returns neither a response nor an
// error.
var errNoResponse = errors.New("the Doer returned no response and no error")

// read consumes one event stream.
func (s *gatewayStream) read(ctx context.Context, body io.Reader) attempt {
	var (
		a      attempt
		log    = s.c.log
		r      = sse.NewReader(body, s.c.maxEventSize)
		events int
	)
	ended := func() string {
		if events == 0 {
			return "before any event"
		}
		if events == 1 {
			return "after 1 event"
		}
		return fmt.Sprintf("after %d events", events)
	}
	for {
		// Back-pressure: read (and decode) the next event only once the
		// caller has made room.
		if !s.q.waitRoom(ctx) {
			return a
		}
		ev, err := r.Next()
		switch {
		case err == nil:
		case errors.Is(err, sse.ErrEventTooLarge):
			events++
			s.c.stats.addEvent()
			s.skip(skipOversized, "event larger than the maximum event size of %d bytes", r.MaxEventSize())
			continue
		case ctx.Err() != nil:
			return a
		case errors.Is(err, io.EOF):
			log.Printf("stream ended by the server without a closing event %s", ended())
			a.ended = events > 0
			a.end = reconnectClosing
			return a
		case errors.Is(err, sse.ErrUnterminatedEvent):
			log.Printf("stream ended by the server inside an event without its terminating blank line %s; the partial event is discarded", ended())
			return s.failed(a, reconnectNetwork, err)
		default:
			log.Printf("failed while reading stream %s: %s", ended(), err)
			return s.failed(a, reconnectNetwork, fmt.Errorf("reading stream: %w", err))
		}
		events++
		s.c.stats.addEvent()

		switch ev.Type {
		case "", "message":
		case sse.TypeClosing:
			log.Printf("gateway closed the stream (%s); reconnecting", ev.Data)
			a.closing = true
			a.end = reconnectClosing
			return a
		case sse.TypeHeartbeat:
			s.c.stats.addHeartbeat()
			continue
		default:
			// Unknown event types.
			continue
		}
		n, ok := s.deliver(ctx, time.Now(), ev.Data)
		if n > 0 {
			a.delivered = true
		}
		if !ok {
			return a
		}
	}
}

// deliver decodes the data of one event, read at now, and queues its
// envelopes. An event larger than rlpGatewayPartThreshold is decoded a
// part at a time, waiting for room before each part. It returns how many
// envelopes it queued, and false when ctx ended.
func (s *gatewayStream) deliver(ctx context.Context, now time.Time, data []byte) (int, bool) {
	if len(data) <= rlpGatewayPartThreshold {
		var batch loggregator_v2.EnvelopeBatch
		if err := gatewayjson.Unmarshal(data, &batch); err != nil {
			s.skip(skipMalformed, "failed to unmarshal envelope batch: %s", err)
			return 0, true
		}
		if len(batch.Batch) > 0 {
			s.c.stats.received(now, batch.Batch)
			s.q.push(batch.Batch, len(data)+rlpGatewayEnvelopeCost*len(batch.Batch))
		}
		return len(batch.Batch), true
	}
	parts, err := newBatchParts(data)
	if err != nil {
		s.skip(skipMalformed, "failed to unmarshal envelope batch of %d bytes: %s", len(data), err)
		return 0, true
	}
	queued := 0
	for {
		raw, n, err := parts.next(rlpGatewayPartEnvelopes, rlpGatewayPartBytes)
		if err != nil {
			s.skip(skipMalformed, "failed to unmarshal envelope batch of %d bytes after %d envelopes: %s", len(data), queued, err)
			return queued, true
		}
		if n == 0 {
			return queued, true
		}
		if queued > 0 && !s.q.waitRoom(ctx) {
			return queued, false
		}
		s.part = append(append(append(s.part[:0], `{"batch":[`...), raw...), "]}"...)
		var batch loggregator_v2.EnvelopeBatch
		err = gatewayjson.Unmarshal(s.part, &batch)
		if cap(s.part) > 2*rlpGatewayPartBytes {
			s.part = nil // one huge envelope: do not keep its copy
		}
		if err != nil {
			s.skip(skipMalformed, "failed to unmarshal envelope batch of %d bytes after %d envelopes: %s", len(data), queued, err)
			return queued, true
		}
		s.c.stats.received(now, batch.Batch)
		s.q.push(batch.Batch, len(raw)+rlpGatewayEnvelopeCost*len(batch.Batch))
		queued += len(batch.Batch)
	}
}
