package loggregator

import (
	"context"
	"sync"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// batchRing is the buffer behind WithEnvelopeStreamBuffer: a ring of
// batches filled by the connector's reading goroutine and drained by the
// EnvelopeStream's caller. put never blocks; when the ring is full it drops
// the oldest batch and counts its envelopes, which get reports to the
// alerter. The reader waits on a channel, not a polling loop.
type batchRing struct {
	mu      sync.Mutex
	buf     [][]*loggregator_v2.Envelope
	head, n int
	dropped int // envelopes dropped and not yet reported
	wake    chan struct{}
	alert   func(missed int)
}

func newBatchRing(size int, alert func(missed int)) *batchRing {
	return &batchRing{
		buf:   make([][]*loggregator_v2.Envelope, size),
		wake:  make(chan struct{}, 1),
		alert: alert,
	}
}

func (r *batchRing) put(b []*loggregator_v2.Envelope) {
	r.mu.Lock()
	if r.n == len(r.buf) {
		r.dropped += len(r.buf[r.head])
		r.buf[r.head] = nil
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	r.buf[(r.head+r.n)%len(r.buf)] = b
	r.n++
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// get returns the oldest batch, waiting for one, or nil once ctx is done.
func (r *batchRing) get(ctx context.Context) []*loggregator_v2.Envelope {
	for ctx.Err() == nil {
		r.mu.Lock()
		if r.n > 0 {
			b := r.buf[r.head]
			r.buf[r.head] = nil
			r.head = (r.head + 1) % len(r.buf)
			r.n--
			dropped := r.dropped
			r.dropped = 0
			r.mu.Unlock()
			if dropped > 0 {
				r.alert(dropped)
			}
			return b
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-r.wake:
		}
	}
	return nil
}
