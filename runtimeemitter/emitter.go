package runtimeemitter

import (
	"code.cloudfoundry.org/go-loggregator/internal/ticker"
	"context"
	"runtime"
	"sync"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

// DefaultInterval is the interval between emissions unless WithInterval
// sets another. (The original's doc comment said 15 s; its code, like
// this one, used 10 s.)
const DefaultInterval = 10 * time.Second

// Sender is a v2 client that emits gauges; loggregator.IngressClient
// implements it.
type Sender interface {
	EmitGauge(opts ...loggregator.EmitGaugeOption)
}

// V1Sender is a v1 (dropsonde) metric sender, such as the one from
// github.com/cloudfoundry/dropsonde/metric_sender.
type V1Sender interface {
	SendComponentMetric(name string, value float64, unit string) error
}

// RuntimeEmitterOption configures an Emitter.
type RuntimeEmitterOption func(*Emitter)

// WithInterval sets the interval between emissions. The default is
// DefaultInterval; zero or negative values also select the default.
func WithInterval(d time.Duration) RuntimeEmitterOption {
	return func(e *Emitter) {
		e.interval = d
	}
}

// Emitter emits Go runtime statistics at an interval. Create it with New
// or NewV1, start it with Run or RunContext and end it with Stop.
type Emitter struct {
	interval  time.Duration
	emit      func(stats)
	newTicker ticker.Func // time.NewTicker; tests drive ticks by hand

	stopOnce sync.Once
	stop     chan struct{}
}

// New returns an Emitter that sends, per interval, one EmitGauge call with
// four gauge values (see the package documentation) through sender. A nil
// sender makes emissions no-ops.
func New(sender Sender, opts ...RuntimeEmitterOption) *Emitter {
	return newEmitter(func(s stats) {
		if sender == nil {
			return
		}
		sender.EmitGauge(
			loggregator.WithGaugeValue(heapName, s.heap, bytesUnit),
			loggregator.WithGaugeValue(stackName, s.stack, bytesUnit),
			loggregator.WithGaugeValue(pauseName, s.lastPause, nsUnit),
			loggregator.WithGaugeValue(goroutinesName, s.goroutines, countUnit),
		)
	}, opts)
}

// NewV1 returns an Emitter that makes, per interval, four
// SendComponentMetric calls (heap, stack, last GC pause, goroutines, in
// that order) on sender. Errors from sender are ignored. A nil sender
// makes emissions no-ops.
func NewV1(sender V1Sender, opts ...RuntimeEmitterOption) *Emitter {
	return newEmitter(func(s stats) {
		if sender == nil {
			return
		}
		_ = sender.SendComponentMetric(heapName, s.heap, bytesUnit)
		_ = sender.SendComponentMetric(stackName, s.stack, bytesUnit)
		_ = sender.SendComponentMetric(pauseName, s.lastPause, nsUnit)
		_ = sender.SendComponentMetric(goroutinesName, s.goroutines, countUnit)
	}, opts)
}

func newEmitter(emit func(stats), opts []RuntimeEmitterOption) *Emitter {
	e := &Emitter{emit: emit, newTicker: ticker.Real, stop: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	if e.interval <= 0 {
		e.interval = DefaultInterval
	}
	return e
}

// Run emits runtime statistics every interval. It blocks until Stop is
// called (returning at once if it already was).
func (e *Emitter) Run() {
	e.RunContext(context.Background())
}

// RunContext is Run that also returns when ctx is done. It is an addition
// to the original API.
func (e *Emitter) RunContext(ctx context.Context) {
	if ctx == nil {
		ctx = context.Background()
	}
	tick, stopTicker := e.newTicker(e.interval)
	defer stopTicker()
	for {
		select {
		case <-tick:
			// A tick and Stop can be ready together; Stop wins, so
			// nothing is emitted once Stop was called.
			select {
			case <-e.stop:
				return
			case <-ctx.Done():
				return
			default:
			}
			e.emit(readStats())
		case <-e.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// Stop makes every running and future Run or RunContext call return. It
// does not wait for them to return. Stop is idempotent. It is an addition
// to the original API.
func (e *Emitter) Stop() {
	e.stopOnce.Do(func() { close(e.stop) })
}

// Names and units of the statistics, as the original sent them.
const (
	heapName       = "memoryStats.numBytesAllocatedHeap"
	stackName      = "memoryStats.numBytesAllocatedStack"
	pauseName      = "memoryStats.lastGCPauseTimeNS"
	goroutinesName = "numGoRoutines"

	bytesUnit = "Bytes"
	nsUnit    = "ns"
	countUnit = "Count"
)

// stats is one reading of the runtime.
type stats struct {
	heap, stack, lastPause, goroutines float64
}

func readStats() stats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return stats{
		heap:       float64(m.HeapAlloc),
		stack:      float64(m.StackInuse),
		lastPause:  float64(m.PauseNs[(m.NumGC+255)%256]),
		goroutines: float64(runtime.NumGoroutine()),
	}
}
