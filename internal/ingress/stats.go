package ingress

import (
	"sync/atomic"
	"time"
)

// Stats are the Sender's and the client's counters. Every field is safe
// for concurrent use.
type Stats struct {
	// Envelopes dropped, by cause.
	DroppedFull    atomic.Uint64 // buffer full while the agent was accepting, after waiting
	DroppedDown    atomic.Uint64 // buffer full while the agent was down or stalled
	DroppedClosed  atomic.Uint64 // emitted after CloseSend
	DroppedInvalid atomic.Uint64 // not encodable, or larger than the maximum envelope size
	DroppedGivenUp atomic.Uint64 // batches given up after MaxAttempts failed streams
	DroppedUnsent  atomic.Uint64 // still held when sending stopped (CloseSend gave up)

	Delivered      atomic.Uint64 // envelopes on streams the server confirmed
	BatchesSent    atomic.Uint64 // SendMsg calls that returned nil
	BatchesRetried atomic.Uint64 // batches put back to be sent again
	StreamsOpened  atomic.Uint64
	StreamFailures atomic.Uint64

	EmitWaits     atomic.Uint64 // Emit calls that waited for room
	EmitWaitNanos atomic.Int64  // total time they waited
	EmitWaitMax   atomic.Int64  // longest wait, in nanoseconds

	lastErr atomic.Pointer[timedErr]
}

type timedErr struct {
	err error
	at  time.Time
}

// Dropped returns the sum of every drop counter.
func (s *Stats) Dropped() uint64 {
	return s.DroppedFull.Load() + s.DroppedDown.Load() + s.DroppedClosed.Load() +
		s.DroppedInvalid.Load() + s.DroppedGivenUp.Load() + s.DroppedUnsent.Load()
}

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

// AddEmitWait records one Emit call that waited d.
func (s *Stats) AddEmitWait(d time.Duration) {
	s.EmitWaits.Add(1)
	s.EmitWaitNanos.Add(int64(d))
	for {
		m := s.EmitWaitMax.Load()
		if int64(d) <= m || s.EmitWaitMax.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}
