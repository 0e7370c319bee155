package pulseemitter

import (
	"code.cloudfoundry.org/go-loggregator/internal/ticker"
	"context"
	"sync"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

// DefaultPulseInterval is the interval at which a PulseEmitter emits its
// metrics unless WithPulseInterval sets another.
const DefaultPulseInterval = 60 * time.Second

// LogClient is the client a PulseEmitter emits through. Both
// loggregator.IngressClient and v1.Client implement it.
type LogClient interface {
	EmitCounter(name string, opts ...loggregator.EmitCounterOption)
	EmitGauge(opts ...loggregator.EmitGaugeOption)
}

// PulseEmitterOption configures a PulseEmitter.
type PulseEmitterOption func(*PulseEmitter)

// WithPulseInterval sets the interval at which metrics are emitted. The
// default is DefaultPulseInterval; zero or negative values also select the
// default.
func WithPulseInterval(d time.Duration) PulseEmitterOption {
	return func(p *PulseEmitter) {
		p.interval = d
	}
}

// WithSourceID sets the source id written into the source_id of every
// envelope the emitter's metrics send (default ""; the empty string is
// written too, overwriting any source_id the client set). It applies to v2
// envelopes only; with the v1 client it does nothing.
func WithSourceID(id string) PulseEmitterOption {
	return func(p *PulseEmitter) {
		p.sourceID = id
	}
}

// WithContext ends the emitter's pulsing when ctx is done, as Stop does.
// The default is context.Background() (pulse until Stop). This option is
// an addition to the original API.
func WithContext(ctx context.Context) PulseEmitterOption {
	return func(p *PulseEmitter) {
		p.ctx = ctx
	}
}

// PulseEmitter creates metrics and emits all of them through its
// LogClient at a fixed interval, from one goroutine that runs from the
// first metric's creation until Stop is called or the WithContext context
// is done. Create it with New. Its methods are safe for concurrent use.
type PulseEmitter struct {
	client    LogClient
	interval  time.Duration
	sourceID  string
	ctx       context.Context
	newTicker ticker.Func // time.NewTicker; tests drive ticks by hand

	mu      sync.Mutex
	metrics []emitter
	running bool // the pulse goroutine was started
	stopped bool // Stop was called
	stop    chan struct{}
	done    chan struct{} // closed when the pulse goroutine returns
}

// emitter is what CounterMetric and GaugeMetric have in common.
type emitter interface {
	Emit(LogClient)
}

// New returns a PulseEmitter that emits through c. No goroutine starts
// until the first metric is created. A nil c makes every emission a no-op.
func New(c LogClient, opts ...PulseEmitterOption) *PulseEmitter {
	p := &PulseEmitter{
		client:    c,
		newTicker: ticker.Real,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(p)
		}
	}
	if p.interval <= 0 {
		p.interval = DefaultPulseInterval
	}
	if p.ctx == nil {
		p.ctx = context.Background()
	}
	return p
}

// NewCounterMetric returns a counter that the emitter emits every
// interval, named name, with the emitter's source id and the tags from
// opts. After Stop the counter still works but is no longer emitted.
func (p *PulseEmitter) NewCounterMetric(name string, opts ...MetricOption) CounterMetric {
	m := NewCounterMetric(name, p.sourceID, opts...)
	p.add(m)
	return m
}

// NewGaugeMetric returns a gauge that the emitter emits every interval,
// named name with the given unit, with the emitter's source id and the
// tags from opts. After Stop the gauge still works but is no longer
// emitted.
func (p *PulseEmitter) NewGaugeMetric(name, unit string, opts ...MetricOption) GaugeMetric {
	m := NewGaugeMetric(name, unit, p.sourceID, opts...)
	p.add(m)
	return m
}

// Stop ends the pulse goroutine and waits for it to return (including an
// emission in progress). Nothing more is emitted, and no final emission
// is made: call Emit on a metric if its last value matters. Stop is
// idempotent and must not be called from within the LogClient's methods.
// This method is an addition to the original API.
func (p *PulseEmitter) Stop() {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.stop)
	}
	running := p.running
	p.mu.Unlock()
	if running {
		<-p.done
	}
}

// add registers m for pulsing and starts the pulse goroutine with the
// first metric.
func (p *PulseEmitter) add(m emitter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.metrics = append(p.metrics, m)
	if !p.running {
		p.running = true
		go p.run()
	}
}

// run emits every metric on each tick until stopped.
func (p *PulseEmitter) run() {
	defer close(p.done)
	tick, stopTicker := p.newTicker(p.interval)
	defer stopTicker()
	for {
		select {
		case <-tick:
		case <-p.stop:
			return
		case <-p.ctx.Done():
			return
		}
		// A tick and Stop can be ready together; Stop wins, so nothing
		// is emitted once Stop was called.
		select {
		case <-p.stop:
			return
		case <-p.ctx.Done():
			return
		default:
		}
		p.mu.Lock()
		metrics := p.metrics[:len(p.metrics):len(p.metrics)]
		p.mu.Unlock()
		for _, m := range metrics {
			m.Emit(p.client)
		}
	}
}
