package ingress

import (
	"sync/atomic"
	"time"
)

// Stats are the Sender's and the client's counters: the one set of
// counters behind the IngressClient's Dropped and Stats. Every field is
// safe for concurrent use; each is written on a slow path (a drop, a
// batch, a stream, a wait), never once per accepted envelope. The
// envelopes accepted into the buffer and those held now are counted by
// the batch.Buffer itself, under the lock it takes anyway.
type Stats struct {
	// Envelopes dropped, by cause.
	DroppedFull    atomic.Uint64 // buffer full while the agent was accepting, after waiting
	DroppedDown    atomic.Uint64 // buffer full while the agent was down or stalled: the new envelope
	EvictedDown    atomic.Uint64 // buffer full while the agent was down or stalled: older accepted envelopes evicted for it
	DroppedClosed  atomic.Uint64 // emitted after CloseSend
	DroppedInvalid atomic.Uint64 // not encodable, or larger than the maximum envelope size
	DroppedGivenUp atomic.Uint64 // batches given up after MaxAttempts failed streams
	DroppedUnsent  atomic.Uint64 // still held when sending stopped (CloseSend gave up)

	Delivered        atomic.Uint64 // envelopes on streams the server confirmed
	BatchesDelivered atomic.Uint64 // batches on streams the server confirmed
	BatchesRetried   atomic.Uint64 // batches put back to be sent again
	StreamsOpened    atomic.Uint64
	StreamFailures   atomic.Uint64
	Reconnects       atomic.Uint64 // streams opened after a failure or a lost connection

	EmitWaits     atomic.Uint64 // Emit calls that waited for room
	EmitWaitNanos atomic.Int64  // total time they waited
	EmitWaitMax   atomic.Int64  // longest wait, in nanoseconds

	lastErr atomic.Pointer[timedErr]
}

type timedErr struct {
	err error
	at  time.Time
}

// Drops is a reading of every drop counter.
type Drops struct {
	Full, Down, Evicted, Closed, Invalid, GivenUp, Unsent uint64
}

// Total returns the sum of the drop counters.
func (d Drops) Total() uint64 {
	return d.Full + d.Down + d.Evicted + d.Closed + d.Invalid + d.GivenUp + d.Unsent
}

// Drops reads every drop counter.
func (s *Stats) Drops() Drops {
	return Drops{
		Full:    s.DroppedFull.Load(),
		Down:    s.DroppedDown.Load(),
		Evicted: s.EvictedDown.Load(),
		Closed:  s.DroppedClosed.Load(),
		Invalid: s.DroppedInvalid.Load(),
		GivenUp: s.DroppedGivenUp.Load(),
		Unsent:  s.DroppedUnsent.Load(),
	}
}

// Dropped returns the sum of every drop counter.
func (s *Stats) Dropped() uint64 { return s.Drops().Total() }

// SetLastError records err as the latest background error.
func (s *Stats) SetLastError(err error) {
	if err != nil {
		s.lastErr.Store(&timedErr{err: err, at: time.Now()})
	}
}

// LastError returns the latest background error and when it happened.
func (s *Stats) LastError() (time.Time, error) {
	if e := s.lastErr.Load(); e != nil {
		return e.at, e.err
	}
	return time.Time{}, nil
}

// AddEmitWait records one Emit call that waited d (negative d counts as
// zero).
func (s *Stats) AddEmitWait(d time.Duration) {
	d = max(d, 0)
	s.EmitWaits.Add(1)
	s.EmitWaitNanos.Add(int64(d))
	for {
		m := s.EmitWaitMax.Load()
		if int64(d) <= m || s.EmitWaitMax.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}
