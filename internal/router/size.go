package router

import (
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Constants of Size, the estimate of the memory an envelope holds.
const (
	// EnvelopeOverhead is added to every envelope: the Go structs of the
	// envelope and its message with their slice and string headers (a
	// decoded empty envelope holds about 110 bytes), and more than the
	// encoding's fixed fields (tags, lengths, timestamp and numbers: under
	// 70 bytes).
	EnvelopeOverhead = 256
	// EntryOverhead is added for every entry of the tags, deprecated tags
	// and gauge metrics maps: map slots, key and value allocations and,
	// for deprecated tags and gauges, the value structs (about 100 to
	// 150 bytes each beyond their text), and more than an entry's
	// encoding overhead in either tag form.
	EntryOverhead = 160
	// numberText is what a deprecated integer or decimal tag may take as
	// text once converted to a preferred tag.
	numberText = 24
)

// Size estimates the memory e holds once decoded, without encoding it:
// the length n of its texts and payloads plus EntryOverhead per map entry,
// plus n/4 for the allocator's rounding (size classes waste up to 12.5 %,
// allocations over 32 KiB are rounded up to 8 KiB pages), plus
// EnvelopeOverhead. A byte limit on Size bounds the heap (see
// TestSizeCoversDecodedHeap): a message of many tiny tags or gauge metrics
// is small on the wire but large in memory.
//
// Size is also an upper bound of the envelope's protobuf encoding, before
// and after ConvertTags (see FuzzSizeBoundsEncoding), so egress can size
// its messages with it and encode nothing twice.
func Size(e *loggregator_v2.Envelope) int {
	n := len(e.GetSourceId()) + len(e.GetInstanceId())
	for k, v := range e.GetTags() {
		n += len(k) + len(v) + EntryOverhead
	}
	for k, v := range e.GetDeprecatedTags() {
		n += len(k) + EntryOverhead
		if t, ok := v.GetData().(*loggregator_v2.Value_Text); ok {
			n += len(t.Text)
		} else {
			n += numberText
		}
	}
	switch m := e.GetMessage().(type) {
	case *loggregator_v2.Envelope_Log:
		n += len(m.Log.GetPayload())
	case *loggregator_v2.Envelope_Counter:
		n += len(m.Counter.GetName())
	case *loggregator_v2.Envelope_Gauge:
		for k, v := range m.Gauge.GetMetrics() {
			n += len(k) + len(v.GetUnit()) + EntryOverhead
		}
	case *loggregator_v2.Envelope_Timer:
		n += len(m.Timer.GetName())
	case *loggregator_v2.Envelope_Event:
		n += len(m.Event.GetTitle()) + len(m.Event.GetBody())
	}
	return n + n/4 + EnvelopeOverhead
}
