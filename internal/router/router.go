package router

import (
	"errors"
	"hash/fnv"
	"log"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Default limits of a subscription's buffer (see Limits).
const (
	// DefaultBufferSize is the most envelopes a subscription buffers.
	DefaultBufferSize = 10000
	// DefaultBufferBytes is the most bytes a subscription buffers, by
	// Size: 16 MiB, as much as 10,000 envelopes of about 1.6 KiB each by
	// Size (a log of about 1 KiB of text).
	DefaultBufferBytes = 16 << 20
)

// Limits bound one subscription's buffer. An envelope that would take the
// buffer over either limit is dropped and counted, except that an empty
// buffer always accepts one envelope (so that an envelope larger than
// Bytes still reaches a subscriber that keeps up; the ingress message
// limit bounds its size).
type Limits struct {
	// Envelopes is the most envelopes buffered; zero or less means
	// DefaultBufferSize.
	Envelopes int
	// Bytes is the most bytes buffered, each envelope counted by Size;
	// zero or less means DefaultBufferBytes.
	Bytes int
}

func (l Limits) withDefaults() Limits {
	if l.Envelopes <= 0 {
		l.Envelopes = DefaultBufferSize
	}
	if l.Bytes <= 0 {
		l.Bytes = DefaultBufferBytes
	}
	return l
}

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

// Subscribe is SubscribeLimits with a buffer of bufferSize envelopes
// (DefaultBufferSize when zero or less) and DefaultBufferBytes.
func (r *Router) Subscribe(req *loggregator_v2.EgressBatchRequest, bufferSize int) (*Subscription, error) {
	return r.SubscribeLimits(req, Limits{Envelopes: bufferSize})
}

// SubscribeLimits registers a subscription for req whose buffer is bounded
// by lim (zero fields take the defaults). The selectors are req.Selectors
// plus req.LegacySelector when set. The caller must Close the subscription
// when done with it.
func (r *Router) SubscribeLimits(req *loggregator_v2.EgressBatchRequest, lim Limits) (*Subscription, error) {
	sels := append([]*loggregator_v2.Selector(nil), req.GetSelectors()...)
	if ls := req.GetLegacySelector(); ls != nil {
		sels = append(sels, ls)
	}
	s := &Subscription{
		router:        r,
		shardID:       req.GetShardId(),
		preferred:     req.GetUsePreferredTags(),
		matchers:      compile(sels),
		limits:        lim.withDefaults(),
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
	var pending [][]item
	if p, ok := r.scratch.Get().(*[][]item); ok {
		pending = *p
	}
	for len(pending) < len(snap.subs) {
		pending = append(pending, nil)
	}
	for _, e := range envs {
		if e == nil {
			continue
		}
		it := item{env: e, size: -1}
		add := func(i int) {
			if it.size < 0 {
				it.size = Size(e)
			}
			pending[i] = append(pending[i], it)
		}
		for gi := range snap.groups {
			g := &snap.groups[gi]
			n := len(g.members)
			if n == 1 {
				i := g.members[0]
				if snap.subs[i].matches(e) {
					add(i)
				}
				continue
			}
			start := g.state.pick(e) % uint64(n)
			for k := 0; k < n; k++ {
				i := g.members[(int(start)+k)%n]
				if snap.subs[i].matches(e) {
					add(i)
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
