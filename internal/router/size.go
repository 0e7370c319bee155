package router

import (
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Constants of Size, the estimate of the memory an envelope holds.
const (
	// EnvelopeOverhead is added to every envelope's encoded size: the Go
	// structs of the envelope, its message and their slice and string
	// headers (a decoded empty envelope holds about 110 bytes, a small
	// log about 200 more than its encoding).
	EnvelopeOverhead = 256
	// EntryOverhead is added for every entry of the tags, deprecated tags
	// and gauge metrics maps: map slots, key and value allocations and,
	// for deprecated tags and gauges, the value structs (about 100 to
	// 200 bytes each beyond their encoding).
	EntryOverhead = 160
)

// Size estimates the memory e holds once decoded: its protobuf encoded
// size n, plus n/4 for the allocator's rounding (size classes waste up to
// 12.5 %, and allocations over 32 KiB are rounded up to 8 KiB pages),
// plus EnvelopeOverhead, plus EntryOverhead per map entry. It errs on the
// high side for the envelope shapes Loggregator carries (see
// TestSizeCoversDecodedHeap), so that a byte limit on Size bounds the heap
// too: a message of many tiny tags or gauge metrics is small on the wire
// but large in memory.
func Size(e *loggregator_v2.Envelope) int {
	n := proto.Size(e)
	entries := len(e.GetTags()) + len(e.GetDeprecatedTags()) + len(e.GetGauge().GetMetrics())
	return n + n/4 + EnvelopeOverhead + EntryOverhead*entries
}
