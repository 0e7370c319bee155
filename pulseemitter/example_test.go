package pulseemitter_test

import (
	"fmt"
	"maps"
	"slices"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/pulseemitter"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// printClient is a LogClient that prints the v2 envelopes it would send.
type printClient struct{}

func (printClient) EmitCounter(name string, opts ...loggregator.EmitCounterOption) {
	e := &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: name}}}
	for _, o := range opts {
		o(e)
	}
	fmt.Printf("counter %s delta=%d source_id=%q tags=%v\n", name, e.GetCounter().GetDelta(), e.GetSourceId(), e.GetTags())
}

func (printClient) EmitGauge(opts ...loggregator.EmitGaugeOption) {
	e := &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{}}}
	for _, o := range opts {
		o(e)
	}
	for _, name := range slices.Sorted(maps.Keys(e.GetGauge().GetMetrics())) {
		v := e.GetGauge().GetMetrics()[name]
		fmt.Printf("gauge %s=%v %s source_id=%q tags=%v\n", name, v.GetValue(), v.GetUnit(), e.GetSourceId(), e.GetTags())
	}
}

// Metrics built with the package functions are emitted when you say so.
func ExampleNewCounterMetric() {
	requests := pulseemitter.NewCounterMetric("requests", "my-service", pulseemitter.WithVersion(2, 0))
	requests.Increment(2)
	requests.Increment(1)
	requests.Emit(printClient{})
	requests.Emit(printClient{}) // nothing new since: delta 0
	// Output:
	// counter requests delta=3 source_id="my-service" tags=map[metric_version:2.0]
	// counter requests delta=0 source_id="my-service" tags=map[metric_version:2.0]
}

func ExampleNewGaugeMetric() {
	ratio := pulseemitter.NewGaugeMetric("cache_hit_ratio", "ratio", "my-service")
	ratio.Set(0.29)
	ratio.Emit(printClient{})
	ratio.Set(-1.5)
	ratio.Emit(printClient{})
	// Output:
	// gauge cache_hit_ratio=0.29 ratio source_id="my-service" tags=map[]
	// gauge cache_hit_ratio=-1.5 ratio source_id="my-service" tags=map[]
}

// A PulseEmitter emits its metrics every interval until it is stopped.
func ExamplePulseEmitter() {
	p := pulseemitter.New(printClient{}, pulseemitter.WithSourceID("my-service"))
	defer p.Stop() // ends the pulse goroutine

	requests := p.NewCounterMetric("requests", pulseemitter.WithTags(map[string]string{"route": "/"}))
	requests.Increment(1)
	// Every 60 s (DefaultPulseInterval) requests emits the increments
	// collected since the previous emission.
	// Output:
}
