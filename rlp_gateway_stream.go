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
// batches to the stream function through q.
type gatewayStream struct {
	c   *RLPGatewayClient
	url string
	q   *gatewayQueue
	bo  *backoff.Backoff

	part []byte // scratch for decoding parts of large events
}

// attempt is the outcome of one request.
type attempt struct {
	ok        bool // the gateway answered 200
	delivered bool // the stream delivered at least one envelope
	closing   bool // the gateway sent a closing event
	ended     bool // the stream ended cleanly (EOF) after at least one event
}

// run makes requests until ctx is done or the stream gives up, then closes
// the queue.
func (s *gatewayStream) run(ctx context.Context) {
	defer s.q.close()
	failures := 0
	for ctx.Err() == nil {
		started := time.Now()
		a := s.connect(ctx)
		if ctx.Err() != nil {
			return
		}
		if a.ok {
			failures = 0
		} else {
			failures++
			if s.c.maxRetries > 0 && failures > s.c.maxRetries {
				s.c.log.Printf("%s", ErrRLPGatewayMaxRetries)
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

// skip logs, counts and reports an event that is not delivered.
func (s *gatewayStream) skip(format string, args ...any) {
	n := s.c.skipped.Add(1)
	msg := fmt.Sprintf(format, args...)
	s.c.log.Printf("skipped event (%d skipped in total): %s", n, msg)
	s.report(fmt.Errorf("%w: %s", ErrRLPGatewayEventSkipped, msg))
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
	resp, err := s.c.doer.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if ctx.Err() == nil {
			log.Printf("error making request: %s", err)
		}
		return attempt{}
	}
	if resp == nil || resp.Body == nil {
		log.Printf("error making request: the Doer returned no response and no error")
		return attempt{}
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, rlpGatewayDrainLimit)
		_ = resp.Body.Close()
	}()

	if resp.StatusCode != http.StatusOK {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, rlpGatewayBodyLogLimit))
		if rerr != nil && ctx.Err() == nil {
			log.Printf("failed to read body: %s", rerr)
		}
		log.Printf("unexpected status code %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		return attempt{}
	}
	// As the original, read any 200 answer as an event stream, whatever
	// its Content-Type (test doubles and proxies often omit it).
	a := s.read(ctx, resp.Body)
	a.ok = true
	return a
}

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
			s.skip("event larger than the maximum event size of %d bytes", r.MaxEventSize())
			continue
		case ctx.Err() != nil:
			return a
		case errors.Is(err, io.EOF):
			log.Printf("stream ended by the server without a closing event %s", ended())
			a.ended = events > 0
			return a
		case errors.Is(err, sse.ErrUnterminatedEvent):
			log.Printf("stream ended by the server inside an event without its terminating blank line %s; the partial event is discarded", ended())
			return a
		default:
			log.Printf("failed while reading stream %s: %s", ended(), err)
			return a
		}
		events++

		switch ev.Type {
		case "", "message":
		case sse.TypeClosing:
			log.Printf("gateway closed the stream (%s); reconnecting", ev.Data)
			a.closing = true
			return a
		default:
			// Heartbeats and unknown event types.
			continue
		}
		n, ok := s.deliver(ctx, ev.Data)
		if n > 0 {
			a.delivered = true
		}
		if !ok {
			return a
		}
	}
}

// deliver decodes the data of one event and queues its envelopes. An event
// larger than rlpGatewayPartThreshold is decoded a part at a time, waiting
// for room before each part. It returns how many envelopes it queued, and
// false when ctx ended.
func (s *gatewayStream) deliver(ctx context.Context, data []byte) (int, bool) {
	if len(data) <= rlpGatewayPartThreshold {
		var batch loggregator_v2.EnvelopeBatch
		if err := gatewayjson.Unmarshal(data, &batch); err != nil {
			s.skip("failed to unmarshal envelope batch: %s", err)
			return 0, true
		}
		if len(batch.Batch) > 0 {
			s.q.push(batch.Batch, len(data)+rlpGatewayEnvelopeCost*len(batch.Batch))
		}
		return len(batch.Batch), true
	}
	parts, err := newBatchParts(data)
	if err != nil {
		s.skip("failed to unmarshal envelope batch of %d bytes: %s", len(data), err)
		return 0, true
	}
	queued := 0
	for {
		raw, n, err := parts.next(rlpGatewayPartEnvelopes, rlpGatewayPartBytes)
		if err != nil {
			s.skip("failed to unmarshal envelope batch of %d bytes after %d envelopes: %s", len(data), queued, err)
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
			s.skip("failed to unmarshal envelope batch of %d bytes after %d envelopes: %s", len(data), queued, err)
			return queued, true
		}
		s.q.push(batch.Batch, len(raw)+rlpGatewayEnvelopeCost*len(batch.Batch))
		queued += len(batch.Batch)
	}
}
