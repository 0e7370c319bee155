package loggregator

import (
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/egress"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// recorderBatch is 100 envelopes stamped between 0 and 99 ms before now.
func recorderBatch(now time.Time) []*loggregator_v2.Envelope {
	envs := make([]*loggregator_v2.Envelope, 100)
	for i := range envs {
		envs[i] = &loggregator_v2.Envelope{Timestamp: now.Add(-time.Duration(i) * time.Millisecond).UnixNano()}
	}
	return envs
}

// TestStreamRecorderDoesNotAllocate: what a stream records per batch and
// per chunk, through the egress.Recorder interface as the Receiver calls
// it, allocates nothing.
func TestStreamRecorderDoesNotAllocate(t *testing.T) {
	var c streamCounters
	var rec egress.Recorder = streamRecorder{&c}
	now := time.Now()
	envs := recorderBatch(now)
	if n := testing.AllocsPerRun(100, func() {
		rec.Batch()
		rec.Envelopes(now, envs)
		rec.Reconnect()
	}); n != 0 {
		t.Fatalf("recording allocates %v times per batch", n)
	}
	s := c.snapshot()
	// AllocsPerRun runs the function once more than asked, to warm up.
	if s.Batches != 101 || s.Envelopes != 101*100 || s.Reconnects != 101 || s.Lag.Count != 101*100 {
		t.Fatalf("counts %+v after 101 runs of a batch of 100", s)
	}
}

// BenchmarkStreamRecorder measures what statistics add to a stream's
// receive path for one batch of 100 envelopes, as the Receiver does it: a
// clock read, Batch, and Envelopes for the whole batch. It is the client
// in isolation; divide ns/op by 100 for the cost per envelope and compare
// with BenchmarkEgressThroughput's ns/op (one envelope per op).
func BenchmarkStreamRecorder(b *testing.B) {
	var c streamCounters
	var rec egress.Recorder = streamRecorder{&c}
	envs := recorderBatch(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now()
		rec.Batch()
		rec.Envelopes(now, envs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(envs)), "ns/envelope")
}
