package pulseemitter_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/pulseemitter"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func checkEnvelope(t *testing.T, got, want *loggregator_v2.Envelope) {
	t.Helper()
	if !proto.Equal(stripTimestamp(got), want) {
		t.Errorf("\n got: %s\nwant: %s", prototext.Format(got), prototext.Format(want))
	}
}

func TestMetricEmit(t *testing.T) {
	tags := pulseemitter.WithTags(map[string]string{"a": "1", "metric_version": "overridden"})
	cases := []struct {
		name string
		emit func(c pulseemitter.LogClient)
		want []*loggregator_v2.Envelope
	}{
		{
			name: "counter emits the accumulated delta, then 0",
			emit: func(c pulseemitter.LogClient) {
				m := pulseemitter.NewCounterMetric("requests", "src")
				m.Increment(3)
				m.Increment(4)
				m.Emit(c)
				m.Emit(c)
			},
			want: []*loggregator_v2.Envelope{
				counterEnvelope("src", "requests", 7, nil),
				counterEnvelope("src", "requests", 0, nil),
			},
		},
		{
			name: "counter tags: WithTags merges, later options win, WithVersion",
			emit: func(c pulseemitter.LogClient) {
				m := pulseemitter.NewCounterMetric("c", "", tags, pulseemitter.WithVersion(2, 13), pulseemitter.WithTags(map[string]string{"b": "2"}))
				m.Emit(c)
			},
			want: []*loggregator_v2.Envelope{
				counterEnvelope("", "c", 0, map[string]string{"a": "1", "b": "2", "metric_version": "2.13"}),
			},
		},
		{
			name: "gauge emits 0 before Set",
			emit: func(c pulseemitter.LogClient) {
				pulseemitter.NewGaugeMetric("temp", "C", "src").Emit(c)
			},
			want: []*loggregator_v2.Envelope{gaugeEnvelope("src", "temp", "C", 0, nil)},
		},
		{
			name: "gauge keeps full float64 values",
			emit: func(c pulseemitter.LogClient) {
				m := pulseemitter.NewGaugeMetric("g", "ratio", "src", pulseemitter.WithVersion(1, 0))
				for _, v := range []float64{0.29, -1.5, 123.456, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(-1)} {
					m.Set(v)
					m.Emit(c)
				}
			},
			want: func() []*loggregator_v2.Envelope {
				var envs []*loggregator_v2.Envelope
				for _, v := range []float64{0.29, -1.5, 123.456, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(-1)} {
					envs = append(envs, gaugeEnvelope("src", "g", "ratio", v, map[string]string{"metric_version": "1.0"}))
				}
				return envs
			}(),
		},
		{
			name: "nil client does nothing and keeps the delta",
			emit: func(c pulseemitter.LogClient) {
				m := pulseemitter.NewCounterMetric("kept", "")
				m.Increment(5)
				m.Emit(nil)
				pulseemitter.NewGaugeMetric("g", "u", "").Emit(nil)
				m.Emit(c)
			},
			want: []*loggregator_v2.Envelope{counterEnvelope("", "kept", 5, nil)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newRecordingClient()
			tc.emit(c)
			if got := c.count(); got != len(tc.want) {
				t.Fatalf("%d emissions, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				checkEnvelope(t, c.all[i].env, w)
			}
		})
	}
}

func TestPulseEmitterPulses(t *testing.T) {
	const interval = 40 * time.Millisecond
	cases := []struct {
		name string
		opts []pulseemitter.PulseEmitterOption
		// make creates the metric(s) and returns what each tick sends.
		make func(p *pulseemitter.PulseEmitter) (perTick [][]*loggregator_v2.Envelope)
	}{
		{
			name: "counter with source id and tags, 0 deltas still emitted",
			opts: []pulseemitter.PulseEmitterOption{pulseemitter.WithPulseInterval(interval), pulseemitter.WithSourceID("my-src")},
			make: func(p *pulseemitter.PulseEmitter) [][]*loggregator_v2.Envelope {
				m := p.NewCounterMetric("requests", pulseemitter.WithVersion(2, 0), pulseemitter.WithTags(map[string]string{"k": "v"}))
				m.Increment(9)
				tags := map[string]string{"metric_version": "2.0", "k": "v"}
				return [][]*loggregator_v2.Envelope{
					{counterEnvelope("my-src", "requests", 9, tags)},
					{counterEnvelope("my-src", "requests", 0, tags)},
				}
			},
		},
		{
			name: "gauge 0.29 and counter on one emitter",
			opts: []pulseemitter.PulseEmitterOption{pulseemitter.WithPulseInterval(interval)},
			make: func(p *pulseemitter.PulseEmitter) [][]*loggregator_v2.Envelope {
				g := p.NewGaugeMetric("ratio", "percent")
				g.Set(0.29)
				p.NewCounterMetric("hits")
				return [][]*loggregator_v2.Envelope{
					{gaugeEnvelope("", "ratio", "percent", 0.29, nil), counterEnvelope("", "hits", 0, nil)},
					{gaugeEnvelope("", "ratio", "percent", 0.29, nil), counterEnvelope("", "hits", 0, nil)},
				}
			},
		},
		{
			name: "negative gauge",
			opts: []pulseemitter.PulseEmitterOption{pulseemitter.WithPulseInterval(interval), pulseemitter.WithSourceID("s")},
			make: func(p *pulseemitter.PulseEmitter) [][]*loggregator_v2.Envelope {
				p.NewGaugeMetric("temp", "C", pulseemitter.WithVersion(0, 1)).Set(-1.5)
				env := gaugeEnvelope("s", "temp", "C", -1.5, map[string]string{"metric_version": "0.1"})
				return [][]*loggregator_v2.Envelope{{env}, {env}}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newRecordingClient()
			p := pulseemitter.New(c, tc.opts...)
			defer p.Stop()
			start := time.Now()
			perTick := tc.make(p)
			for tick, want := range perTick {
				for _, w := range want {
					em := c.next(t)
					// The k-th tick is due k intervals after the first metric.
					if earliest := start.Add(time.Duration(tick+1) * interval); em.at.Before(earliest) {
						t.Errorf("tick %d emitted %v after start, before %v", tick+1, em.at.Sub(start), time.Duration(tick+1)*interval)
					}
					checkEnvelope(t, em.env, w)
				}
			}
			p.Stop()
			n := c.count()
			time.Sleep(3 * interval)
			if c.count() != n {
				t.Errorf("%d emissions after Stop", c.count()-n)
			}
		})
	}
}

func TestPulseEmitterDefaultsAndStop(t *testing.T) {
	t.Run("default interval is 60s", func(t *testing.T) {
		if pulseemitter.DefaultPulseInterval != 60*time.Second {
			t.Errorf("DefaultPulseInterval = %v", pulseemitter.DefaultPulseInterval)
		}
		for _, d := range []time.Duration{0, -time.Second} {
			c := newRecordingClient()
			p := pulseemitter.New(c, pulseemitter.WithPulseInterval(d))
			p.NewCounterMetric("x")
			time.Sleep(50 * time.Millisecond)
			p.Stop()
			if c.count() != 0 {
				t.Errorf("WithPulseInterval(%v) emitted %d times in 50ms, want the 60s default", d, c.count())
			}
		}
	})
	t.Run("Stop is idempotent and works without metrics", func(t *testing.T) {
		p := pulseemitter.New(newRecordingClient())
		p.Stop()
		p.Stop()
		p = pulseemitter.New(newRecordingClient())
		p.NewGaugeMetric("g", "u")
		p.Stop()
		p.Stop()
		goleak.VerifyNone(t)
	})
	t.Run("metrics created after Stop work but are not pulsed", func(t *testing.T) {
		c := newRecordingClient()
		p := pulseemitter.New(c, pulseemitter.WithPulseInterval(time.Millisecond))
		p.Stop()
		m := p.NewCounterMetric("late")
		m.Increment(2)
		time.Sleep(20 * time.Millisecond)
		if c.count() != 0 {
			t.Fatalf("a metric created after Stop was pulsed")
		}
		goleak.VerifyNone(t)
		m.Emit(c)
		checkEnvelope(t, c.next(t).env, counterEnvelope("", "late", 2, nil))
	})
	t.Run("WithContext cancel ends pulsing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := newRecordingClient()
		p := pulseemitter.New(c, pulseemitter.WithPulseInterval(5*time.Millisecond), pulseemitter.WithContext(ctx))
		p.NewCounterMetric("x")
		c.next(t)
		cancel()
		goleak.VerifyNone(t) // retries until the pulse goroutine has gone
		n := c.count()
		time.Sleep(20 * time.Millisecond)
		if c.count() != n {
			t.Errorf("emitted after the context was cancelled")
		}
		p.Stop() // still fine
	})
	t.Run("nil client", func(t *testing.T) {
		p := pulseemitter.New(nil, pulseemitter.WithPulseInterval(time.Millisecond))
		p.NewCounterMetric("x").Increment(1)
		p.NewGaugeMetric("y", "u").Set(1)
		time.Sleep(10 * time.Millisecond)
		p.Stop()
	})
}

func TestMetricsConcurrentSafe(t *testing.T) {
	c := newRecordingClient()
	p := pulseemitter.New(c, pulseemitter.WithPulseInterval(time.Millisecond))
	counter := p.NewCounterMetric("n")
	gauge := p.NewGaugeMetric("g", "u")
	const goroutines, each = 4, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				counter.Increment(1)
				gauge.Set(float64(g*each + i))
				if i%100 == 0 {
					counter.Emit(c)
				}
			}
		}()
	}
	wg.Wait()
	p.Stop()
	counter.Emit(c)

	c.mu.Lock()
	defer c.mu.Unlock()
	var sum uint64
	for _, em := range c.all {
		if ctr := em.env.GetCounter(); ctr != nil {
			sum += ctr.GetDelta()
		}
	}
	if sum != goroutines*each {
		t.Errorf("sum of emitted deltas = %d, want %d", sum, goroutines*each)
	}
}
