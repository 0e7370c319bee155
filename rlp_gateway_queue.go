package loggregator

import (
	"context"
	"sync"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// gatewayQueue holds the decoded batches between a stream's connection
// goroutine (the only producer) and its stream function (the consumers).
// It is bounded in envelopes and in estimated decoded bytes: the producer
// waits for room before it decodes more, so that a caller who does not
// keep up stops the reading of the HTTP body instead of growing memory.
type gatewayQueue struct {
	maxEnvelopes int
	maxBytes     int

	mu      sync.Mutex
	batches []gatewayBatch // FIFO from head
	head    int
	envs    int // envelopes queued
	bytes   int // estimated decoded bytes queued
	closed  bool

	ready chan struct{} // a batch was pushed or the queue closed
	room  chan struct{} // a consumer took batches

	// take serialises consumers: one waits for a batch at a time.
	take sync.Mutex
}

// gatewayBatch is one queued batch with its estimated decoded size.
type gatewayBatch struct {
	envs []*loggregator_v2.Envelope
	cost int
}

func newGatewayQueue(maxEnvelopes, maxBytes int) *gatewayQueue {
	return &gatewayQueue{
		maxEnvelopes: maxEnvelopes,
		maxBytes:     maxBytes,
		ready:        make(chan struct{}, 1),
		room:         make(chan struct{}, 1),
	}
}

// signal wakes one waiter of c without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// waitRoom blocks until the queue is below both bounds. It returns false
// when ctx ends first.
func (q *gatewayQueue) waitRoom(ctx context.Context) bool {
	for {
		q.mu.Lock()
		ok := q.envs < q.maxEnvelopes && q.bytes < q.maxBytes
		q.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-q.room:
		case <-ctx.Done():
			return false
		}
	}
}

// push appends a batch. It never blocks: callers bound the queue with
// waitRoom before they decode, so it holds at most the bounds plus one
// batch.
func (q *gatewayQueue) push(envs []*loggregator_v2.Envelope, cost int) {
	q.mu.Lock()
	q.batches = append(q.batches, gatewayBatch{envs: envs, cost: cost})
	q.envs += len(envs)
	q.bytes += cost
	q.mu.Unlock()
	signal(q.ready)
}

// close marks the end of the stream: consumers get nil once the queue is
// empty.
func (q *gatewayQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.ready)
}

// pop waits for batches and returns the envelopes of all that are queued,
// up to max envelopes (a first batch larger than max is returned whole).
// It returns nil when ctx ends or the queue is closed and empty.
func (q *gatewayQueue) pop(ctx context.Context, max int) []*loggregator_v2.Envelope {
	q.take.Lock()
	defer q.take.Unlock()
	for {
		if ctx.Err() != nil {
			return nil
		}
		q.mu.Lock()
		if q.head < len(q.batches) {
			out := q.popLocked(max)
			q.mu.Unlock()
			signal(q.room)
			return out
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			// Let the next consumer see the end too.
			signal(q.ready)
			return nil
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil
		}
	}
}

func (q *gatewayQueue) popLocked(max int) []*loggregator_v2.Envelope {
	out := q.batches[q.head].envs
	q.dropHeadLocked()
	if len(out) >= max || q.head == len(q.batches) {
		return out
	}
	// Gather more batches into a new slice: the first one belongs to the
	// caller only from now on, but appending to it could write into the
	// decoder's spare capacity.
	n := len(out)
	for i := q.head; i < len(q.batches) && n+len(q.batches[i].envs) <= max; i++ {
		n += len(q.batches[i].envs)
	}
	if n == len(out) {
		return out
	}
	all := make([]*loggregator_v2.Envelope, 0, n)
	all = append(all, out...)
	for len(all) < n {
		all = append(all, q.batches[q.head].envs...)
		q.dropHeadLocked()
	}
	return all
}

// dropHeadLocked removes the first batch from the queue.
func (q *gatewayQueue) dropHeadLocked() {
	b := q.batches[q.head]
	q.batches[q.head] = gatewayBatch{}
	q.head++
	q.envs -= len(b.envs)
	q.bytes -= b.cost
	switch {
	case q.head == len(q.batches):
		q.batches = q.batches[:0]
		q.head = 0
	case q.head >= 64 && 2*q.head >= len(q.batches):
		// A consumer that never empties the queue must not make the
		// slice grow forever.
		n := copy(q.batches, q.batches[q.head:])
		clear(q.batches[n:])
		q.batches = q.batches[:n]
		q.head = 0
	}
}
