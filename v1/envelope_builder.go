package v1

import (
	"math"
	"strconv"
	"time"

	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"
)

// kind is the sort of envelope an Emit call builds.
type kind int

const (
	kindLog kind = iota
	kindCounter
	kindGauge
)

// builder collects what the Emit options say about the envelopes of one
// Emit call. The root package's options call its Set* methods (the
// unexported editor interface in emit_options.go). Methods that do not
// apply to the builder's kind do nothing.
//
// The embedded proto.Message is always nil; it only makes *builder
// assignable to the options' proto.Message parameter. Its methods must
// never be called.
type builder struct {
	proto.Message

	kind kind
	tags map[string]string

	log     *events.Envelope   // kindLog
	counter *events.Envelope   // kindCounter
	gauges  []*events.Envelope // kindGauge, one per SetGaugeValue
}

func newBuilder(k kind) *builder {
	return &builder{kind: k, tags: make(map[string]string)}
}

// SetLogAppInfo sets the log's app_id, source_type and source_instance.
func (b *builder) SetLogAppInfo(appID, sourceType, sourceInstance string) {
	if b.kind != kindLog {
		return
	}
	l := b.log.LogMessage
	l.AppId = ptr(appID)
	l.SourceType = ptr(sourceType)
	l.SourceInstance = ptr(sourceInstance)
}

// SetLogToStdout makes the log of type OUT.
func (b *builder) SetLogToStdout() {
	if b.kind != kindLog {
		return
	}
	b.log.LogMessage.MessageType = events.LogMessage_OUT.Enum()
}

// SetGaugeAppInfo sets the tags source_id and instance_id (decimal index).
func (b *builder) SetGaugeAppInfo(appID string, index int) {
	b.SetSourceInfo(appID, strconv.Itoa(index))
}

// SetCounterAppInfo sets the tags source_id and instance_id (decimal index).
func (b *builder) SetCounterAppInfo(appID string, index int) {
	b.SetSourceInfo(appID, strconv.Itoa(index))
}

// SetSourceInfo sets the tags source_id and instance_id.
func (b *builder) SetSourceInfo(sourceID, instanceID string) {
	b.tags["source_id"] = sourceID
	b.tags["instance_id"] = instanceID
}

// SetGaugeValue adds one ValueMetric envelope, timestamped now.
func (b *builder) SetGaugeValue(name string, value float64, unit string) {
	if b.kind != kindGauge {
		return
	}
	b.gauges = append(b.gauges, &events.Envelope{
		EventType: events.Envelope_ValueMetric.Enum(),
		Timestamp: ptr(time.Now().UnixNano()),
		ValueMetric: &events.ValueMetric{
			Name:  ptr(name),
			Value: ptr(value),
			Unit:  ptr(unit),
		},
	})
}

// SetDelta sets the counter's delta.
func (b *builder) SetDelta(d uint64) {
	if b.kind != kindCounter {
		return
	}
	b.counter.CounterEvent.Delta = ptr(d)
}

// SetTotal sets the counter's total and its delta to 0.
func (b *builder) SetTotal(t uint64) {
	if b.kind != kindCounter {
		return
	}
	b.counter.CounterEvent.Delta = ptr(uint64(0))
	b.counter.CounterEvent.Total = ptr(t)
}

// SetTag sets a per-call tag.
func (b *builder) SetTag(name, value string) {
	b.tags[name] = value
}

// containerMetricNames are the gauge names that, all five together, turn
// an EmitGauge call into one ContainerMetric envelope.
var containerMetricNames = [...]string{"cpu", "memory", "disk", "memory_quota", "disk_quota"}

// containerMetric returns the ContainerMetric envelope the gauge values
// promote to, or false when the promotion rules (see Client.EmitGauge) do
// not hold.
func (b *builder) containerMetric() (*events.Envelope, bool) {
	if len(b.gauges) != len(containerMetricNames) {
		return nil, false
	}
	appID, ok := b.tags["source_id"]
	if !ok {
		return nil, false
	}
	index, err := strconv.ParseInt(b.tags["instance_id"], 10, 32)
	if err != nil {
		return nil, false
	}
	values := make(map[string]float64, len(b.gauges))
	for _, g := range b.gauges {
		values[g.ValueMetric.GetName()] = g.ValueMetric.GetValue()
	}
	for _, name := range containerMetricNames {
		if _, ok := values[name]; !ok {
			return nil, false
		}
	}
	return &events.Envelope{
		EventType: events.Envelope_ContainerMetric.Enum(),
		Timestamp: ptr(time.Now().UnixNano()),
		ContainerMetric: &events.ContainerMetric{
			ApplicationId:    ptr(appID),
			InstanceIndex:    ptr(int32(index)),
			CpuPercentage:    ptr(values["cpu"]),
			MemoryBytes:      ptr(toUint64(values["memory"])),
			DiskBytes:        ptr(toUint64(values["disk"])),
			MemoryBytesQuota: ptr(toUint64(values["memory_quota"])),
			DiskBytesQuota:   ptr(toUint64(values["disk_quota"])),
		},
	}, true
}

// toUint64 truncates v towards zero; negative values and NaN give 0,
// values of 2^64 and above give math.MaxUint64.
func toUint64(v float64) uint64 {
	switch {
	case math.IsNaN(v) || v <= 0:
		return 0
	case v >= 1<<64:
		return math.MaxUint64
	default:
		return uint64(v)
	}
}
