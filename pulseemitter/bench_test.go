package pulseemitter_test

import (
	"testing"

	"code.cloudfoundry.org/go-loggregator/pulseemitter"
)

func BenchmarkCounterIncrement(b *testing.B) {
	m := pulseemitter.NewCounterMetric("n", "src")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Increment(1)
		}
	})
}

func BenchmarkGaugeSet(b *testing.B) {
	m := pulseemitter.NewGaugeMetric("g", "u", "src")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		v := 0.0
		for pb.Next() {
			v++
			m.Set(v)
		}
	})
}

func BenchmarkCounterEmit(b *testing.B) {
	c := newRecordingClient()
	m := pulseemitter.NewCounterMetric("n", "src", pulseemitter.WithVersion(1, 0))
	b.ReportAllocs()
	for b.Loop() {
		m.Increment(1)
		m.Emit(c)
		c.mu.Lock()
		c.all = c.all[:0]
		c.mu.Unlock()
	}
}
