package pulseemitter_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// emission is one envelope a recordingClient built, and when.
type emission struct {
	at  time.Time
	env *loggregator_v2.Envelope
}

// recordingClient is a LogClient that builds a real v2 envelope the way
// the IngressClient does (counter delta 1, empty gauge, fresh tags map),
// applies the options to it and records it.
type recordingClient struct {
	mu   sync.Mutex
	all  []emission
	sent chan emission
}

func newRecordingClient() *recordingClient {
	return &recordingClient{sent: make(chan emission, 1024)}
}

func (r *recordingClient) EmitCounter(name string, opts ...loggregator.EmitCounterOption) {
	e := &loggregator_v2.Envelope{
		Timestamp: time.Now().UnixNano(),
		Tags:      map[string]string{},
		Message:   &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: name, Delta: 1}},
	}
	for _, o := range opts {
		o(e)
	}
	r.record(e)
}

func (r *recordingClient) EmitGauge(opts ...loggregator.EmitGaugeOption) {
	e := &loggregator_v2.Envelope{
		Timestamp: time.Now().UnixNano(),
		Tags:      map[string]string{},
		Message:   &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{}}},
	}
	for _, o := range opts {
		o(e)
	}
	r.record(e)
}

func (r *recordingClient) record(e *loggregator_v2.Envelope) {
	em := emission{at: time.Now(), env: e}
	r.mu.Lock()
	r.all = append(r.all, em)
	r.mu.Unlock()
	select {
	case r.sent <- em:
	default:
	}
}

func (r *recordingClient) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// next waits for the next emission, failing the test after 5 s.
func (r *recordingClient) next(t *testing.T) emission {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case em := <-r.sent:
		return em
	case <-ctx.Done():
		t.Fatalf("no emission within 5s")
		return emission{}
	}
}

// stripTimestamp returns a copy of e without its timestamp, for comparison.
func stripTimestamp(e *loggregator_v2.Envelope) *loggregator_v2.Envelope {
	c := proto.Clone(e).(*loggregator_v2.Envelope)
	c.Timestamp = 0
	return c
}

func counterEnvelope(sourceID, name string, delta uint64, tags map[string]string) *loggregator_v2.Envelope {
	if tags == nil {
		tags = map[string]string{}
	}
	return &loggregator_v2.Envelope{
		SourceId: sourceID,
		Tags:     tags,
		Message:  &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: name, Delta: delta}},
	}
}

func gaugeEnvelope(sourceID, name, unit string, value float64, tags map[string]string) *loggregator_v2.Envelope {
	if tags == nil {
		tags = map[string]string{}
	}
	return &loggregator_v2.Envelope{
		SourceId: sourceID,
		Tags:     tags,
		Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
			name: {Unit: unit, Value: value},
		}}},
	}
}
