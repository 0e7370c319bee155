package router

import (
	"context"
	"errors"
	"hash/fnv"
	"log"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// DefaultBufferSize is the number of envelopes a subscription buffers when
// Subscribe is given a size of zero or less.
const DefaultBufferSize = 10000

// ErrClosed is returned by Subscribe after Close, and by Subscription.Next
// once the subscription (or its router) was closed and its buffer is empty.
var ErrClosed = errors.New("router: closed")

// Router hands published envelopes to matching subscriptions. Create it
// with New; the zero value is not usable.
type Router struct {
	logger *log.Logger

	mu     sync.Mutex
	closed bool
	subs   map[*Subscription]struct{}
	groups map[string]*groupState
	nextID uint64

	snap atomic.Pointer[snapshot]

	published atomic.Uint64
	dropped   atomic.Uint64
	scratch   sync.Pool
}

// groupState is the part of a shard group that outlives snapshots.
type groupState struct {
	shardID       string
	deterministic bool
	rr            atomic.Uint64
	members       []*Subscription
}

type snapshotGroup struct {
	state   *groupState
	members []int // indexes into snapshot.subs
}

// snapshot is an immutable view of the subscriptions, read by Publish
// without locking.
type snapshot struct {
	subs   []*Subscription
	groups []snapshotGroup
}

// New returns a router. Drops are reported on logger; nil discards them.
func New(logger *log.Logger) *Router {
	r := &Router{
		logger: logger,
		subs:   make(map[*Subscription]struct{}),
		groups: make(map[string]*groupState),
	}
	r.snap.Store(&snapshot{})
	return r
}

// Subscribe registers a subscription for req with a buffer of bufferSize
// envelopes (DefaultBufferSize when zero or less). The selectors are
// req.Selectors plus req.LegacySelector when set. The caller must Close the
// subscription when done with it.
func (r *Router) Subscribe(req *loggregator_v2.EgressBatchRequest, bufferSize int) (*Subscription, error) {
	if bufferSize <= 0 {
		bufferSize = DefaultBufferSize
	}
	sels := append([]*loggregator_v2.Selector(nil), req.GetSelectors()...)
	if ls := req.GetLegacySelector(); ls != nil {
		sels = append(sels, ls)
	}
	s := &Subscription{
		router:        r,
		shardID:       req.GetShardId(),
		preferred:     req.GetUsePreferredTags(),
		matchers:      compile(sels),
		limit:         bufferSize,
		ready:         make(chan struct{}, 1),
		done:          make(chan struct{}),
		deterministic: req.GetDeterministicName() != "",
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.nextID++
	s.id = r.nextID
	key := "\x00" + s.shardID
	if s.shardID == "" {
		// An empty shard id is a group of its own.
		key = "\x01" + itoa(s.id)
	}
	g := r.groups[key]
	if g == nil {
		g = &groupState{shardID: s.shardID, deterministic: s.deterministic}
		r.groups[key] = g
	}
	g.members = append(g.members, s)
	s.group, s.groupKey = g, key
	r.subs[s] = struct{}{}
	r.rebuildLocked()
	return s, nil
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// rebuildLocked publishes a new snapshot; r.mu must be held.
func (r *Router) rebuildLocked() {
	snap := &snapshot{}
	index := make(map[*Subscription]int, len(r.subs))
	keys := make([]string, 0, len(r.groups))
	for k := range r.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := r.groups[k]
		sg := snapshotGroup{state: g}
		for _, m := range g.members {
			i, ok := index[m]
			if !ok {
				i = len(snap.subs)
				index[m] = i
				snap.subs = append(snap.subs, m)
			}
			sg.members = append(sg.members, i)
		}
		snap.groups = append(snap.groups, sg)
	}
	r.snap.Store(snap)
}

func (r *Router) remove(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.subs[s]; !ok {
		return
	}
	delete(r.subs, s)
	g := s.group
	members := make([]*Subscription, 0, len(g.members))
	for _, m := range g.members {
		if m != s {
			members = append(members, m)
		}
	}
	g.members = members
	if len(members) == 0 {
		delete(r.groups, s.groupKey)
	}
	r.rebuildLocked()
}

// Publish routes envs to the matching subscriptions. It never blocks on a
// subscriber: envelopes that do not fit a full buffer are dropped and
// counted on that subscription. envs may be reused by the caller once
// Publish returns, but the envelopes themselves must not be modified.
func (r *Router) Publish(envs ...*loggregator_v2.Envelope) {
	r.published.Add(uint64(len(envs)))
	snap := r.snap.Load()
	if len(snap.subs) == 0 || len(envs) == 0 {
		return
	}
	var pending [][]*loggregator_v2.Envelope
	if p, ok := r.scratch.Get().(*[][]*loggregator_v2.Envelope); ok {
		pending = *p
	}
	for len(pending) < len(snap.subs) {
		pending = append(pending, nil)
	}
	for _, e := range envs {
		if e == nil {
			continue
		}
		for gi := range snap.groups {
			g := &snap.groups[gi]
			n := len(g.members)
			if n == 1 {
				i := g.members[0]
				if snap.subs[i].matches(e) {
					pending[i] = append(pending[i], e)
				}
				continue
			}
			start := g.state.pick(e) % uint64(n)
			for k := 0; k < n; k++ {
				i := g.members[(int(start)+k)%n]
				if snap.subs[i].matches(e) {
					pending[i] = append(pending[i], e)
					break
				}
			}
		}
	}
	for i, batch := range pending[:len(snap.subs)] {
		if len(batch) > 0 {
			snap.subs[i].push(batch)
			clear(batch)
			pending[i] = batch[:0]
		}
	}
	r.scratch.Put(&pending)
}

// pick returns the first member to try for e: the hash of the counter or
// gauge name for deterministic groups, round robin otherwise.
func (g *groupState) pick(e *loggregator_v2.Envelope) uint64 {
	if g.deterministic {
		switch m := e.GetMessage().(type) {
		case *loggregator_v2.Envelope_Counter:
			return hashString(m.Counter.GetName())
		case *loggregator_v2.Envelope_Gauge:
			names := make([]string, 0, len(m.Gauge.GetMetrics()))
			for k := range m.Gauge.GetMetrics() {
				names = append(names, k)
			}
			sort.Strings(names)
			return hashString(strings.Join(names, ","))
		}
	}
	return g.rr.Add(1)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// Published returns the number of envelopes passed to Publish so far.
func (r *Router) Published() uint64 { return r.published.Load() }

// Dropped returns the number of envelopes dropped by all subscriptions,
// closed ones included.
func (r *Router) Dropped() uint64 { return r.dropped.Load() }

// Subscriptions returns the number of open subscriptions.
func (r *Router) Subscriptions() int { return len(r.snap.Load().subs) }

// Close closes every subscription and makes later Subscribe calls fail.
// Envelopes already buffered can still be read with Next.
func (r *Router) Close() {
	r.mu.Lock()
	r.closed = true
	subs := make([]*Subscription, 0, len(r.subs))
	for s := range r.subs {
		subs = append(subs, s)
	}
	r.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
}

// Subscription is one subscriber's buffer. Read it with Next from a single
// goroutine; Close it when done.
type Subscription struct {
	router        *Router
	id            uint64
	shardID       string
	preferred     bool
	deterministic bool
	matchers      []matcher
	group         *groupState
	groupKey      string

	mu     sync.Mutex
	buf    []*loggregator_v2.Envelope
	limit  int
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

// Accepted returns the number of envelopes that entered the buffer.
func (s *Subscription) Accepted() uint64 { return s.accepted.Load() }

// Dropped returns the number of envelopes dropped because the buffer was
// full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

func (s *Subscription) matches(e *loggregator_v2.Envelope) bool {
	for i := range s.matchers {
		if s.matchers[i].match(e) {
			return true
		}
	}
	return false
}

func (s *Subscription) push(envs []*loggregator_v2.Envelope) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	room := s.limit - len(s.buf)
	take := len(envs)
	if take > room {
		take = room
	}
	s.buf = append(s.buf, envs[:take]...)
	s.mu.Unlock()

	if take > 0 {
		s.accepted.Add(uint64(take))
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
	if lost := len(envs) - take; lost > 0 {
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
	s.router.logger.Printf("subscriber %d (shard_id %q) is too slow: buffer of %d envelopes full, %d dropped so far",
		s.id, s.shardID, s.limit, total)
}

// Next blocks until envelopes are buffered, ctx is done (returning
// ctx.Err()) or the subscription is closed and empty (returning
// ErrClosed). It returns at most max envelopes (all buffered ones when max
// is zero or less). dst is storage the result may reuse; pass the previous
// result to recycle it, and do not use that previous result afterwards.
func (s *Subscription) Next(ctx context.Context, dst []*loggregator_v2.Envelope, max int) ([]*loggregator_v2.Envelope, error) {
	for {
		out, ok, err := s.TryNext(dst, max)
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.buf); n > 0 {
		if max <= 0 || n <= max {
			out = s.buf
			clear(dst[:cap(dst)])
			s.buf = dst[:0]
			return out, true, nil
		}
		out = append(dst[:0], s.buf[:max]...)
		rest := copy(s.buf, s.buf[max:])
		clear(s.buf[rest:])
		s.buf = s.buf[:rest]
		return out, true, nil
	}
	if s.closed {
		return nil, false, ErrClosed
	}
	return nil, false, nil
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
