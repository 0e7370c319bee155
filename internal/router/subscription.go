package router

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// item is one buffered envelope with its Size.
type item struct {
	env  *loggregator_v2.Envelope
	size int
}

// Subscription is one subscriber's buffer, bounded in envelopes and in
// bytes (Limits). Read it with Next from a single goroutine; Close it when
// done.
type Subscription struct {
	router        *Router
	id            uint64
	shardID       string
	preferred     bool
	deterministic bool
	matchers      []matcher
	group         *groupState
	groupKey      string
	limits        Limits

	// items grows on demand up to Limits.Envelopes (16 bytes each) and
	// is kept for reuse; the buffered envelopes are items[head:].
	mu     sync.Mutex
	items  []item
	head   int
	bytes  int // sum of the buffered envelopes' sizes
	closed bool
	ready  chan struct{}
	done   chan struct{}
	once   sync.Once

	accepted atomic.Uint64
	dropped  atomic.Uint64
	lastLog  atomic.Int64
}

// ID returns a number identifying the subscription in log lines.
func (s *Subscription) ID() uint64 { return s.id }

// ShardID returns the subscription's shard id.
func (s *Subscription) ShardID() string { return s.shardID }

// UsePreferredTags reports the request's use_preferred_tags flag.
func (s *Subscription) UsePreferredTags() bool { return s.preferred }

// Limits returns the subscription's limits, defaults applied.
func (s *Subscription) Limits() Limits { return s.limits }

// Accepted returns the number of envelopes that entered the buffer.
func (s *Subscription) Accepted() uint64 { return s.accepted.Load() }

// Dropped returns the number of envelopes dropped because the buffer was
// full (in envelopes or in bytes).
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Buffered returns the number of envelopes in the buffer now and the sum
// of their sizes (Size).
func (s *Subscription) Buffered() (envelopes, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items) - s.head, s.bytes
}

func (s *Subscription) matches(e *loggregator_v2.Envelope) bool {
	for i := range s.matchers {
		if s.matchers[i].match(e) {
			return true
		}
	}
	return false
}

func (s *Subscription) push(its []item) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.head > 0 && len(s.items)+len(its) > cap(s.items) {
		n := copy(s.items, s.items[s.head:])
		clear(s.items[n:])
		s.items = s.items[:n]
		s.head = 0
	}
	take := 0
	for _, it := range its {
		n := len(s.items) - s.head
		if n > 0 && (n >= s.limits.Envelopes || s.bytes+it.size > s.limits.Bytes) {
			continue
		}
		s.items = append(s.items, it)
		s.bytes += it.size
		take++
	}
	s.mu.Unlock()

	if take > 0 {
		s.accepted.Add(uint64(take))
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
	if lost := len(its) - take; lost > 0 {
		total := s.dropped.Add(uint64(lost))
		s.router.dropped.Add(uint64(lost))
		s.logDrop(total)
	}
}

func (s *Subscription) logDrop(total uint64) {
	if s.router.logger == nil {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.router.logger.Printf("subscriber %d (shard_id %q) is too slow: buffer of %d envelopes or %d bytes full, %d dropped so far",
		s.id, s.shardID, s.limits.Envelopes, s.limits.Bytes, total)
}

// Next blocks until envelopes are buffered, ctx is done (returning
// ctx.Err()) or the subscription is closed and empty (returning
// ErrClosed). It returns at most max envelopes (all buffered ones when max
// is zero or less). dst is storage the result may reuse; pass the previous
// result to recycle it, and do not use that previous result afterwards.
func (s *Subscription) Next(ctx context.Context, dst []*loggregator_v2.Envelope, max int) ([]*loggregator_v2.Envelope, error) {
	return s.NextBytes(ctx, dst, max, 0)
}

// NextBytes is Next that also stops before the envelope that would take
// the sum of the returned envelopes' sizes (Size) over maxBytes; the first
// envelope is always returned. Zero or less means no byte limit.
func (s *Subscription) NextBytes(ctx context.Context, dst []*loggregator_v2.Envelope, max, maxBytes int) ([]*loggregator_v2.Envelope, error) {
	for {
		out, ok, err := s.TryNextBytes(dst, max, maxBytes)
		if ok || err != nil {
			return out, err
		}
		select {
		case <-s.ready:
		case <-s.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// TryNext is Next without blocking: ok is false when nothing is buffered,
// and err is ErrClosed once the subscription is closed and empty. Combine
// it with Ready to wait for other events as well.
func (s *Subscription) TryNext(dst []*loggregator_v2.Envelope, max int) (out []*loggregator_v2.Envelope, ok bool, err error) {
	return s.TryNextBytes(dst, max, 0)
}

// TryNextBytes is NextBytes without blocking, as TryNext is to Next.
func (s *Subscription) TryNextBytes(dst []*loggregator_v2.Envelope, max, maxBytes int) (out []*loggregator_v2.Envelope, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	avail := s.items[s.head:]
	if len(avail) == 0 {
		if s.closed {
			return nil, false, ErrClosed
		}
		return nil, false, nil
	}
	clear(dst[:cap(dst)])
	out = dst[:0]
	taken := 0
	for _, it := range avail {
		if max > 0 && len(out) >= max {
			break
		}
		if maxBytes > 0 && len(out) > 0 && taken+it.size > maxBytes {
			break
		}
		out = append(out, it.env)
		taken += it.size
	}
	clear(avail[:len(out)])
	s.head += len(out)
	s.bytes -= taken
	if s.head == len(s.items) {
		s.head = 0
		s.items = s.items[:0]
	}
	return out, true, nil
}

// Ready returns a channel that receives a value after envelopes were
// buffered. A value may be stale (TryNext then finds nothing).
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Done returns a channel closed when the subscription is closed.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Close removes the subscription from its router and wakes a blocked Next.
// It is idempotent.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.router.remove(s)
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
	})
}
