package loggregator

import (
	"time"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Stats returns a snapshot of the connector's statistics, summed over
// every stream its Stream calls have opened since it was created (see
// EnvelopeStreamStats for each field). It is safe for concurrent use,
// takes no lock and does not allocate, so it can be called as often as a
// metrics scrape needs, also while streams run and after their contexts
// have ended.
//
// Recording costs each stream, per batch received, a clock read and one
// atomic addition, and per part of a batch handed out (see
// EnvelopeStreamMaxBatchBytes), one atomic addition for the envelope
// count, one per lag bucket its envelopes fall into and one
// compare-and-swap for the lag sum. Nothing is allocated on the receive
// path; an error allocates one small record.
func (c *EnvelopeStreamConnector) Stats() EnvelopeStreamStats {
	return c.stats.snapshot()
}

// streamRecorder feeds a connector's streamCounters from the egress
// Receivers of its streams (egress.Recorder). It is one pointer wide, so
// storing it in the interface does not allocate.
type streamRecorder struct{ c *streamCounters }

func (r streamRecorder) Batch() { r.c.addBatch() }

func (r streamRecorder) Envelopes(received time.Time, envs []*loggregator_v2.Envelope) {
	r.c.addEnvelopes(received, envs)
}

func (r streamRecorder) Reconnect() { r.c.addReconnect() }

func (r streamRecorder) Error(err error, at time.Time) { r.c.setError(err, at) }
