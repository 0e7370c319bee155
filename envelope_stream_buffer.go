package loggregator

import (
	"context"
	"sync"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// batchQueue is the buffer behind WithEnvelopeStreamBuffer: a queue of
// batches filled by the connector's reading goroutine and drained by the
// EnvelopeStream's caller. put never blocks; while the queue holds more
// than maxBatches batches or more than maxBytes of estimated decoded size,
// it drops the oldest batch and counts it, and get reports the count to
// the alerter (as the original's diode does, in batches). Slots are
// allocated as batches arrive, never reserved up to the maximum. The
// reader waits on a channel, not a polling loop.
type batchQueue struct {
	mu         sync.Mutex
	items      []queuedBatch // items[head:] are queued, oldest first
	head       int
	bytes      int // estimated decoded size of the queued batches
	dropped    int // batches dropped and not yet reported
	maxBatches int
	maxBytes   int
	wake       chan struct{}
	alert      func(missed int)
}

type queuedBatch struct {
	envs []*loggregator_v2.Envelope
	size int
}

func newBatchQueue(maxBatches, maxBytes int, alert func(missed int)) *batchQueue {
	return &batchQueue{
		maxBatches: max(maxBatches, 1),
		maxBytes:   max(maxBytes, 1),
		wake:       make(chan struct{}, 1),
		alert:      alert,
	}
}

// put queues a batch of estimated decoded size size, dropping the oldest
// batches as needed. A batch larger than maxBytes on its own is still
// queued, alone.
func (q *batchQueue) put(b []*loggregator_v2.Envelope, size int) {
	q.mu.Lock()
	for q.len() > 0 && (q.len() >= q.maxBatches || q.bytes+size > q.maxBytes) {
		q.popLocked()
		q.dropped++
	}
	q.items = append(q.items, queuedBatch{envs: b, size: size})
	q.bytes += size
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *batchQueue) len() int { return len(q.items) - q.head }

// popLocked removes and returns the oldest batch; q.mu must be held and
// the queue not empty.
func (q *batchQueue) popLocked() []*loggregator_v2.Envelope {
	it := q.items[q.head]
	q.items[q.head] = queuedBatch{}
	q.head++
	q.bytes -= it.size
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head >= 64 && q.head*2 >= len(q.items):
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return it.envs
}

// get returns the oldest batch, waiting for one, or nil once ctx is done.
// Drops counted since the last report are reported to the alerter first.
func (q *batchQueue) get(ctx context.Context) []*loggregator_v2.Envelope {
	for ctx.Err() == nil {
		q.mu.Lock()
		if q.len() > 0 {
			b := q.popLocked()
			dropped := q.dropped
			q.dropped = 0
			q.mu.Unlock()
			if dropped > 0 {
				q.alert(dropped)
			}
			return b
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-q.wake:
		}
	}
	return nil
}
