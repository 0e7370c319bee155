package runtimeemitter_test

import (
	"code.cloudfoundry.org/go-loggregator/internal/ticker"
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/runtimeemitter"
)

// sample is one emitted statistic.
type sample struct {
	name  string
	value float64
	unit  string
}

// tick is what one emission produced, and when.
type tick struct {
	at      time.Time
	samples []sample
	// envelopes is the number of envelopes (v2) or calls (v1) it took.
	envelopes int
}

// recorder collects ticks from either sender kind.
type recorder struct {
	mu    sync.Mutex
	ticks []tick
	v1buf []sample
	ch    chan tick
}

func newRecorder() *recorder { return &recorder{ch: make(chan tick, 64)} }

func (r *recorder) add(t tick) {
	r.mu.Lock()
	r.ticks = append(r.ticks, t)
	r.mu.Unlock()
	select {
	case r.ch <- t:
	default:
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ticks)
}

func (r *recorder) next(t *testing.T) tick {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case tk := <-r.ch:
		return tk
	case <-ctx.Done():
		t.Fatal("no emission within 5s")
		return tick{}
	}
}

// v2Sender applies the options to a real v2 gauge envelope, as the
// IngressClient does, and records its metrics.
type v2Sender struct{ r *recorder }

func (s v2Sender) EmitGauge(opts ...loggregator.EmitGaugeOption) {
	e := &loggregator_v2.Envelope{
		Timestamp: time.Now().UnixNano(),
		Tags:      map[string]string{},
		Message:   &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{}}},
	}
	for _, o := range opts {
		o(e)
	}
	var got []sample
	for name, v := range e.GetGauge().GetMetrics() {
		got = append(got, sample{name, v.GetValue(), v.GetUnit()})
	}
	slices.SortFunc(got, func(a, b sample) int { return orderOf(a.name) - orderOf(b.name) })
	if e.GetSourceId() != "" || e.GetInstanceId() != "" || len(e.GetTags()) != 0 {
		got = append(got, sample{name: "unexpected source/instance/tags"})
	}
	s.r.add(tick{at: time.Now(), samples: got, envelopes: 1})
}

// v1Sender records SendComponentMetric calls; every fourth call ends a tick.
type v1Sender struct {
	r   *recorder
	err error
}

func (s v1Sender) SendComponentMetric(name string, value float64, unit string) error {
	s.r.mu.Lock()
	s.r.v1buf = append(s.r.v1buf, sample{name, value, unit})
	var done []sample
	if len(s.r.v1buf) == 4 {
		done, s.r.v1buf = s.r.v1buf, nil
	}
	s.r.mu.Unlock()
	if done != nil {
		s.r.add(tick{at: time.Now(), samples: done, envelopes: 4})
	}
	return s.err
}

var wantOrder = []struct{ name, unit string }{
	{"memoryStats.numBytesAllocatedHeap", "Bytes"},
	{"memoryStats.numBytesAllocatedStack", "Bytes"},
	{"memoryStats.lastGCPauseTimeNS", "ns"},
	{"numGoRoutines", "Count"},
}

func orderOf(name string) int {
	for i, w := range wantOrder {
		if w.name == name {
			return i
		}
	}
	return len(wantOrder)
}

func checkTick(t *testing.T, tk tick) {
	t.Helper()
	if len(tk.samples) != len(wantOrder) {
		t.Fatalf("tick has %d samples, want 4: %+v", len(tk.samples), tk.samples)
	}
	for i, w := range wantOrder {
		s := tk.samples[i]
		if s.name != w.name || s.unit != w.unit {
			t.Errorf("sample %d = %s (%s), want %s (%s)", i, s.name, s.unit, w.name, w.unit)
		}
		if s.value < 0 || math.IsNaN(s.value) || s.value != math.Trunc(s.value) {
			t.Errorf("%s = %v, want a non-negative whole number", s.name, s.value)
		}
	}
	if heap := tk.samples[0].value; heap <= 0 {
		t.Errorf("heap bytes = %v, want > 0", heap)
	}
	if stack := tk.samples[1].value; stack <= 0 {
		t.Errorf("stack bytes = %v, want > 0", stack)
	}
	if n := tk.samples[3].value; n < 2 || n > 10000 {
		t.Errorf("goroutines = %v, want between 2 (test + Run) and 10000", n)
	}
}

func TestEmitterEmits(t *testing.T) {
	const interval = 30 * time.Millisecond
	const ticks = 3
	cases := []struct {
		name          string
		new           func(r *recorder, opts ...runtimeemitter.RuntimeEmitterOption) *runtimeemitter.Emitter
		wantEnvelopes int
	}{
		{
			name: "v2: one EmitGauge with four values",
			new: func(r *recorder, opts ...runtimeemitter.RuntimeEmitterOption) *runtimeemitter.Emitter {
				return runtimeemitter.New(v2Sender{r}, opts...)
			},
			wantEnvelopes: 1,
		},
		{
			name: "v1: four SendComponentMetric calls in order",
			new: func(r *recorder, opts ...runtimeemitter.RuntimeEmitterOption) *runtimeemitter.Emitter {
				return runtimeemitter.NewV1(v1Sender{r: r}, opts...)
			},
			wantEnvelopes: 4,
		},
		{
			name: "v1: sender errors are ignored",
			new: func(r *recorder, opts ...runtimeemitter.RuntimeEmitterOption) *runtimeemitter.Emitter {
				return runtimeemitter.NewV1(v1Sender{r: r, err: errors.New("full")}, opts...)
			},
			wantEnvelopes: 4,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC() // so that the last-pause statistic is set
			r := newRecorder()
			mt := ticker.NewManual()
			e := tc.new(r, runtimeemitter.WithInterval(interval), runtimeemitter.WithTicker(mt.New))
			done := make(chan struct{})
			go func() {
				defer close(done)
				e.Run()
			}()
			if d := mt.WaitStarted(t); d != interval {
				t.Errorf("ticker interval %v, want %v", d, interval)
			}
			for k := 1; k <= ticks; k++ {
				mt.Tick(t)
				tk := r.next(t)
				if tk.envelopes != tc.wantEnvelopes {
					t.Errorf("emission %d took %d envelopes/calls, want %d", k, tk.envelopes, tc.wantEnvelopes)
				}
				checkTick(t, tk)
			}
			e.Stop()
			<-done
			// Run has returned: the count is final.
			if n := r.count(); n != ticks {
				t.Errorf("%d emissions for %d ticks, want exactly %d", n, ticks, ticks)
			}
			if n := mt.Starts(); n != 1 {
				t.Errorf("%d tickers started, want 1", n)
			}
			mt.WaitStopped(t) // Run stopped its ticker
		})
	}
}

// TestEmitterRealTicker checks the wiring to time.NewTicker: the first
// emission comes one interval after Run, not before.
func TestEmitterRealTicker(t *testing.T) {
	const interval = 5 * time.Millisecond
	r := newRecorder()
	e := runtimeemitter.New(v2Sender{r}, runtimeemitter.WithInterval(interval))
	done := make(chan struct{})
	start := time.Now()
	go func() { defer close(done); e.Run() }()
	tk := r.next(t)
	e.Stop()
	<-done
	if tk.at.Sub(start) < interval {
		t.Errorf("first emission %v after Run, before one interval (%v)", tk.at.Sub(start), interval)
	}
	checkTick(t, tk)
}

func TestEmitterStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	wait := func(t *testing.T, done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("Run did not return")
		}
	}
	cases := []struct {
		name string
		run  func(t *testing.T, e *runtimeemitter.Emitter, r *recorder, mt *ticker.Manual)
		// emissions is the exact number of emissions the case makes.
		emissions int
	}{
		{
			name: "Stop before Run makes Run return at once",
			run: func(t *testing.T, e *runtimeemitter.Emitter, r *recorder, mt *ticker.Manual) {
				e.Stop()
				e.Stop()
				e.Run()
			},
		},
		{
			name: "Stop ends several Run calls",
			run: func(t *testing.T, e *runtimeemitter.Emitter, r *recorder, mt *ticker.Manual) {
				done1, done2 := make(chan struct{}), make(chan struct{})
				go func() { defer close(done1); e.Run() }()
				go func() { defer close(done2); e.Run() }()
				mt.WaitStarted(t) // both Run calls are in their loops
				mt.WaitStarted(t)
				e.Stop()
				wait(t, done1)
				wait(t, done2)
			},
		},
		{
			name: "RunContext returns when its context is done",
			run: func(t *testing.T, e *runtimeemitter.Emitter, r *recorder, mt *ticker.Manual) {
				rctx, rcancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { defer close(done); e.RunContext(rctx) }()
				mt.Tick(t)
				r.next(t)
				rcancel()
				wait(t, done)
				e.Stop()
			},
			emissions: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			mt := ticker.NewManual()
			e := runtimeemitter.New(v2Sender{r}, runtimeemitter.WithInterval(5*time.Millisecond), runtimeemitter.WithTicker(mt.New))
			tc.run(t, e, r, mt)
			goleak.VerifyNone(t)
			if n := r.count(); n != tc.emissions {
				t.Errorf("%d emissions, want exactly %d", n, tc.emissions)
			}
		})
	}
}

func TestDefaultInterval(t *testing.T) {
	if runtimeemitter.DefaultInterval != 10*time.Second {
		t.Errorf("DefaultInterval = %v, want 10s", runtimeemitter.DefaultInterval)
	}
	for _, d := range []time.Duration{0, -time.Second} {
		r := newRecorder()
		mt := ticker.NewManual()
		e := runtimeemitter.New(v2Sender{r}, runtimeemitter.WithInterval(d), runtimeemitter.WithTicker(mt.New))
		done := make(chan struct{})
		go func() { defer close(done); e.Run() }()
		got := mt.WaitStarted(t)
		e.Stop()
		<-done
		if got != runtimeemitter.DefaultInterval {
			t.Errorf("WithInterval(%v): ticker interval %v, want the default %v", d, got, runtimeemitter.DefaultInterval)
		}
	}
}

func TestNilSenders(t *testing.T) {
	for _, newEmitter := range []func(opts ...runtimeemitter.RuntimeEmitterOption) *runtimeemitter.Emitter{
		func(opts ...runtimeemitter.RuntimeEmitterOption) *runtimeemitter.Emitter {
			return runtimeemitter.New(nil, opts...)
		},
		func(opts ...runtimeemitter.RuntimeEmitterOption) *runtimeemitter.Emitter {
			return runtimeemitter.NewV1(nil, opts...)
		},
	} {
		mt := ticker.NewManual()
		e := newEmitter(runtimeemitter.WithTicker(mt.New))
		done := make(chan struct{})
		go func() { defer close(done); e.Run() }()
		mt.Tick(t)
		mt.Tick(t) // taken only after the first tick's emission returned
		e.Stop()
		<-done
	}
}
