package testhelpers

import (
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the agent-like mode (WithIngressAgentQueue).
const (
	// DefaultAgentQueueSize is the Loggregator agent's ingress queue: 10,000
	// envelopes.
	DefaultAgentQueueSize = 10000
	// DefaultAgentDrainRate is how many envelopes per second the queue is
	// drained at unless AgentQueue.DrainRate says otherwise.
	DefaultAgentDrainRate = 10000
)

// AgentQueue configures the agent-like mode of an IngressServer.
//
// The real agent's gRPC handlers only put what they read into a bounded
// queue, which a forwarder drains, and drop (and count) what finds the
// queue full; after a restart the forwarder needs a while before it drains
// anything. In this mode the server does the same: every envelope it reads
// is recorded (Count, Envelopes and WaitForCount see it) only if it finds
// room in a queue of Size envelopes; otherwise it is counted in
// AgentDropped and forgotten. The queue is drained at DrainRate envelopes
// per second, starting StartDelay after the server starts or restarts (a
// restart empties the queue). Streams are answered as the agent answers
// them: with status Unknown and message "EOF".
type AgentQueue struct {
	// Size is the queue's capacity; values below 1 select
	// DefaultAgentQueueSize.
	Size int
	// DrainRate is in envelopes per second; values below 1 select
	// DefaultAgentDrainRate.
	DrainRate float64
	// StartDelay is how long after a start or restart nothing is drained.
	StartDelay time.Duration
}

// WithIngressAgentQueue puts the server in agent-like mode (see
// AgentQueue). It combines with WithIngressCountOnly, which then skips
// decoding as usual.
func WithIngressAgentQueue(q AgentQueue) IngressServerOption {
	if q.Size < 1 {
		q.Size = DefaultAgentQueueSize
	}
	if q.DrainRate < 1 {
		q.DrainRate = DefaultAgentDrainRate
	}
	q.StartDelay = max(q.StartDelay, 0)
	return func(c *ingressServerConfig) { c.agent = &q }
}

// WithIngressAbortAfter makes the server end every BatchSender stream
// that brings more than n batches: it records the first n batches and,
// when the next one arrives, ends the stream with status Unavailable
// without recording that batch. A stream that ends within n batches is
// answered normally. Values below 1 are raised to 1.
func WithIngressAbortAfter(n int) IngressServerOption {
	return func(c *ingressServerConfig) { c.abortAfter = max(n, 1) }
}

// agentQueue is the running queue of the agent-like mode.
type agentQueue struct {
	cfg     AgentQueue
	dropped atomic.Int64
	drained atomic.Int64

	mu    sync.Mutex
	level int       // envelopes waiting in the queue
	since time.Time // start of the current drain period
	stop  chan struct{}
	wg    sync.WaitGroup
}

// start empties the queue and starts draining after the start-up delay.
func (q *agentQueue) start() {
	q.mu.Lock()
	q.level = 0
	q.since = time.Now()
	q.stop = make(chan struct{})
	stop := q.stop
	q.mu.Unlock()
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		q.drain(stop)
	}()
}

// halt stops draining; the server is down.
func (q *agentQueue) halt() {
	q.mu.Lock()
	stop := q.stop
	q.stop = nil
	q.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	q.wg.Wait()
}

func (q *agentQueue) drain(stop chan struct{}) {
	delay := time.NewTimer(q.cfg.StartDelay)
	defer delay.Stop()
	select {
	case <-delay.C:
	case <-stop:
		return
	}
	const tick = 5 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	credit := 0.0
	for {
		select {
		case now := <-t.C:
			credit += now.Sub(last).Seconds() * q.cfg.DrainRate
			last = now
			q.mu.Lock()
			n := min(int(credit), q.level)
			q.level -= n
			empty := q.level == 0
			q.mu.Unlock()
			credit -= float64(n)
			if empty {
				credit = min(credit, q.cfg.DrainRate*tick.Seconds())
			}
			q.drained.Add(int64(n))
		case <-stop:
			return
		}
	}
}

// admit takes up to n envelopes into the queue and returns how many fit;
// the rest are counted as dropped.
func (q *agentQueue) admit(n int) int {
	q.mu.Lock()
	room := q.cfg.Size - q.level
	ok := min(n, room)
	q.level += ok
	q.mu.Unlock()
	if n > ok {
		q.dropped.Add(int64(n - ok))
	}
	return ok
}

// AgentDropped returns how many envelopes the agent-like mode dropped
// because its queue was full (0 in the other modes).
func (s *IngressServer) AgentDropped() int {
	if s.agent == nil {
		return 0
	}
	return int(s.agent.dropped.Load())
}

// AgentQueued returns how many envelopes wait in the agent-like queue.
func (s *IngressServer) AgentQueued() int {
	if s.agent == nil {
		return 0
	}
	s.agent.mu.Lock()
	defer s.agent.mu.Unlock()
	return s.agent.level
}

// StallOpenStreams makes every stream open now stop reading for good (it
// stays open until the client ends it or the server stops), while streams
// opened later are served normally: a server that hangs on one stream
// while its connection stays up.
func (s *IngressServer) StallOpenStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallBelow.Store(s.streamGen.Load() + 1)
}
