package pulseemitter_test

import (
	"code.cloudfoundry.org/go-loggregator/internal/ticker"
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
			mt := ticker.NewManual()
			p := pulseemitter.New(c, append(tc.opts, pulseemitter.WithTicker(mt.New))...)
			defer p.Stop()
			perTick := tc.make(p)
			if d := mt.WaitStarted(t); d != interval {
				t.Errorf("ticker interval %v, want %v", d, interval)
			}
			want := 0
			for _, envs := range perTick {
				mt.Tick(t)
				for _, w := range envs {
					checkEnvelope(t, c.next(t).env, w)
				}
				want += len(envs)
			}
			p.Stop()
			// Stop waited for the pulse goroutine: the count is final.
			if got := c.count(); got != want {
				t.Errorf("%d emissions for %d ticks, want exactly %d", got, len(perTick), want)
			}
			if n := mt.Starts(); n != 1 {
				t.Errorf("%d tickers started, want 1", n)
			}
		})
	}
}

// TestPulseEmitterRealTicker checks the wiring to time.NewTicker: the
// first emission comes one interval after the first metric, not before.
func TestPulseEmitterRealTicker(t *testing.T) {
	const interval = 5 * time.Millisecond
	c := newRecordingClient()
	p := pulseemitter.New(c, pulseemitter.WithPulseInterval(interval))
	start := time.Now()
	p.NewCounterMetric("n").Increment(2)
	em := c.next(t)
	p.Stop()
	if em.at.Sub(start) < interval {
		t.Errorf("first emission %v after the metric, before one interval (%v)", em.at.Sub(start), interval)
	}
	checkEnvelope(t, em.env, counterEnvelope("", "n", 2, nil))
}

func TestPulseEmitterDefaultsAndStop(t *testing.T) {
	t.Run("default interval is 60s", func(t *testing.T) {
		if pulseemitter.DefaultPulseInterval != 60*time.Second {
			t.Errorf("DefaultPulseInterval = %v", pulseemitter.DefaultPulseInterval)
		}
		for _, d := range []time.Duration{0, -time.Second} {
			mt := ticker.NewManual()
			p := pulseemitter.New(newRecordingClient(), pulseemitter.WithPulseInterval(d), pulseemitter.WithTicker(mt.New))
			p.NewCounterMetric("x")
			got := mt.WaitStarted(t)
			p.Stop()
			if got != pulseemitter.DefaultPulseInterval {
				t.Errorf("WithPulseInterval(%v): ticker interval %v, want the default %v", d, got, pulseemitter.DefaultPulseInterval)
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
		mt := ticker.NewManual()
		p := pulseemitter.New(c, pulseemitter.WithPulseInterval(time.Millisecond), pulseemitter.WithTicker(mt.New))
		p.Stop()
		m := p.NewCounterMetric("late")
		m.Increment(2)
		if n := mt.Starts(); n != 0 {
			t.Fatalf("a metric created after Stop started %d tickers", n)
		}
		goleak.VerifyNone(t)
		m.Emit(c)
		checkEnvelope(t, c.next(t).env, counterEnvelope("", "late", 2, nil))
		if n := c.count(); n != 1 {
			t.Errorf("%d emissions, want exactly the explicit one", n)
		}
	})
	t.Run("WithContext cancel ends pulsing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := newRecordingClient()
		mt := ticker.NewManual()
		p := pulseemitter.New(c, pulseemitter.WithContext(ctx), pulseemitter.WithTicker(mt.New))
		p.NewCounterMetric("x")
		mt.WaitStarted(t)
		mt.Tick(t)
		c.next(t)
		cancel()
		mt.WaitStopped(t) // the pulse goroutine is returning
		goleak.VerifyNone(t)
		if n := c.count(); n != 1 {
			t.Errorf("%d emissions for one tick, want exactly 1", n)
		}
		p.Stop() // still fine
	})
	t.Run("nil client", func(t *testing.T) {
		mt := ticker.NewManual()
		p := pulseemitter.New(nil, pulseemitter.WithTicker(mt.New))
		p.NewCounterMetric("x").Increment(1)
		p.NewGaugeMetric("y", "u").Set(1)
		mt.Tick(t)
		mt.Tick(t) // taken only after the first tick's emissions returned
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
