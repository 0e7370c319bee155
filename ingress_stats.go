package loggregator

import (
	"math"
	"time"
)

// Stats returns a snapshot of the client's statistics; see
// IngressClientStats for what each field counts and the identities that
// tie them together. It is safe for concurrent use, also after CloseSend,
// and does not allocate; it takes the buffer's lock briefly, as one Emit
// does. It is an addition to the original API.
//
// The counters behind it cost the Emit methods nothing per accepted
// envelope beyond what the buffer does anyway: accepted and buffered
// envelopes are counted by the buffer under the lock it takes for each
// envelope, and the other counters are written only when something is
// dropped, waits, or happens to a batch or a stream. Dropped causes map
// onto the client's internal counters as follows: BufferFull are
// envelopes refused after an Emit wait ran out; AgentUnavailable are new
// envelopes refused, plus older envelopes evicted (Evicted), while the
// agent was not accepting; AfterClose and Invalid are envelopes refused
// for those reasons; BrokenStream are batches given up after
// MaxBatchSendAttempts plus envelopes left unconfirmed when sending
// stopped.
func (c *IngressClient) Stats() IngressClientStats {
	st := &c.stats
	d := st.Drops()
	accepted, held := c.buf.Counts()
	s := IngressClientStats{
		Accepted: accepted,
		Sent:     st.Delivered.Load(),
		Dropped: IngressDrops{
			BufferFull:       d.Full,
			AgentUnavailable: d.Down + d.Evicted,
			AfterClose:       d.Closed,
			Invalid:          d.Invalid,
			BrokenStream:     d.GivenUp + d.Unsent,
		},
		Evicted:        d.Evicted,
		BatchesSent:    st.BatchesDelivered.Load(),
		BatchesRetried: st.BatchesRetried.Load(),
		Reconnects:     st.Reconnects.Load(),
		Buffered:       uint64(max(held, 0)),
		EmitWaits:      st.EmitWaits.Load(),
		EmitWaitTotal:  saturatingNanos(st.EmitWaitNanos.Load()),
		EmitWaitMax:    time.Duration(st.EmitWaitMax.Load()),
	}
	s.LastErrorTime, s.LastError = st.LastError()
	return s
}

// saturatingNanos turns a sum of non-negative nanoseconds that may have
// overflowed into a Duration, saturating at the largest one.
func saturatingNanos(ns int64) time.Duration {
	if ns < 0 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}
