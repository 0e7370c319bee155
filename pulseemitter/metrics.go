package pulseemitter

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// CounterMetric is a counter whose accumulated delta is emitted as a
// counter envelope.
type CounterMetric interface {
	// Increment atomically adds n to the delta pending emission.
	Increment(n uint64)
	// Emit atomically takes the pending delta (leaving 0) and sends it
	// through c as a counter envelope, even when it is 0. A nil c does
	// nothing and keeps the delta.
	Emit(c LogClient)
}

// GaugeMetric is a gauge whose latest value is emitted as a gauge
// envelope.
type GaugeMetric interface {
	// Set atomically stores v, exactly (any float64, including negative
	// values, NaN and infinities).
	Set(v float64)
	// Emit sends the latest value through c as a gauge envelope (0 before
	// the first Set). A nil c does nothing.
	Emit(c LogClient)
}

// MetricOption configures the tags of a metric.
type MetricOption func(map[string]string)

// WithTags adds tags to every envelope the metric emits, merging them into
// the tags given by earlier options (later values win on the same name).
func WithTags(tags map[string]string) MetricOption {
	return func(m map[string]string) {
		maps.Copy(m, tags)
	}
}

// WithVersion adds the tag "metric_version" with the value
// "<major>.<minor>".
func WithVersion(major, minor uint) MetricOption {
	return WithTags(map[string]string{"metric_version": fmt.Sprintf("%d.%d", major, minor)})
}

// NewCounterMetric returns a counter named name that is not pulsed: call
// its Emit method yourself. sourceID is written into the source_id of v2
// envelopes (see WithSourceID).
func NewCounterMetric(name, sourceID string, opts ...MetricOption) CounterMetric {
	return &counterMetric{name: name, common: newCommon(sourceID, opts)}
}

// NewGaugeMetric returns a gauge named name with the given unit that is
// not pulsed: call its Emit method yourself. sourceID is written into the
// source_id of v2 envelopes (see WithSourceID).
func NewGaugeMetric(name, unit, sourceID string, opts ...MetricOption) GaugeMetric {
	return &gaugeMetric{name: name, unit: unit, common: newCommon(sourceID, opts)}
}

// common holds the options every emission of a metric carries, built once:
// the source id option followed by one tag option per tag, sorted by name.
type common struct {
	opts []func(proto.Message)
}

func newCommon(sourceID string, metricOpts []MetricOption) common {
	tags := make(map[string]string)
	for _, o := range metricOpts {
		if o != nil {
			o(tags)
		}
	}
	opts := []func(proto.Message){sourceIDOption(sourceID)}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		opts = append(opts, loggregator.WithEnvelopeTag(k, tags[k]))
	}
	return common{opts: opts}
}

// sourceIDOption sets the source_id of a v2 envelope and does nothing to
// any other message.
func sourceIDOption(id string) func(proto.Message) {
	return func(m proto.Message) {
		if e, ok := m.(*loggregator_v2.Envelope); ok && e != nil {
			e.SourceId = id
		}
	}
}

type counterMetric struct {
	common
	name  string
	delta atomic.Uint64
}

func (m *counterMetric) Increment(n uint64) {
	m.delta.Add(n)
}

func (m *counterMetric) Emit(c LogClient) {
	if c == nil {
		return
	}
	opts := make([]loggregator.EmitCounterOption, 0, 1+len(m.opts))
	opts = append(opts, loggregator.WithDelta(m.delta.Swap(0)))
	for _, o := range m.opts {
		opts = append(opts, o)
	}
	c.EmitCounter(m.name, opts...)
}

type gaugeMetric struct {
	common
	name, unit string
	bits       atomic.Uint64 // math.Float64bits of the value
}

func (m *gaugeMetric) Set(v float64) {
	m.bits.Store(math.Float64bits(v))
}

func (m *gaugeMetric) Emit(c LogClient) {
	if c == nil {
		return
	}
	opts := make([]loggregator.EmitGaugeOption, 0, 1+len(m.opts))
	opts = append(opts, loggregator.WithGaugeValue(m.name, math.Float64frombits(m.bits.Load()), m.unit))
	for _, o := range m.opts {
		opts = append(opts, o)
	}
	c.EmitGauge(opts...)
}
