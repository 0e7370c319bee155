// Package pulseemitter provides counters and gauges that emit themselves
// to Loggregator at a fixed interval.
//
// Create a PulseEmitter with New around any LogClient (the v2
// loggregator.IngressClient and the v1.Client both fit), then create
// metrics from it:
//
//	p := pulseemitter.New(client, pulseemitter.WithSourceID("my-service"))
//	defer p.Stop()
//	requests := p.NewCounterMetric("requests", pulseemitter.WithVersion(2, 0))
//	queue := p.NewGaugeMetric("queue_length", "items")
//	requests.Increment(1)
//	queue.Set(12)
//
// One goroutine per PulseEmitter emits all of its metrics on every tick of
// its interval (DefaultPulseInterval unless WithPulseInterval says
// otherwise); the first tick comes one interval after the first metric was
// created. A counter emits the delta accumulated since its last emission,
// even when that is 0; a gauge emits its latest value (0 until Set).
//
// The goroutine ends when Stop is called or the context given with
// WithContext is done; the original pulse goroutines could never be
// stopped. NewCounterMetric and NewGaugeMetric (the package functions)
// build metrics that are never pulsed: call their Emit method yourself.
//
// Metrics are safe for concurrent use: Increment, Set and Emit are
// lock-free atomic operations. Gauges keep their full float64 value; the
// original stored two decimals in an unsigned integer (0.29 became 0.28
// and negative values were garbled).
//
// WithSourceID stamps the source_id of v2 envelopes only; with the v1
// client it has no effect (as in the original).
package pulseemitter
