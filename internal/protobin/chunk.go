// This file owns the bounded decoder: a Chunker hands out the envelopes
// of one encoded EnvelopeBatch a few at a time, so that a message of
// millions of tiny envelopes (4 MiB of empty envelopes decode to about
// 240 MiB) never has to exist decoded all at once. HeapSize is its
// measure.

package protobin

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Estimated heap bytes of the parts of a decoded envelope, each rounded up
// generously; TestSizeBoundsHeap checks that HeapSize is never below what the
// runtime actually allocates for the shapes a server can send.
const (
	envelopeBytes = 256 // envelope, oneof wrapper, payload message, slice slot
	mapBytes      = 384 // fixed part of a small map (header and first group)
	tagEntryBytes = 104 // one map[string]string entry
	deprecBytes   = 176 // one map[string]*Value entry with its Value
	metricBytes   = 176 // one map[string]*GaugeValue entry with its GaugeValue
)

// HeapSize estimates the heap bytes that e, decoded by this package from
// an encoding of encodedLen bytes, keeps alive: its structs, maps and the
// copies of its bytes. It is an upper bound for envelopes decoded by the
// fast path, and for those decoded by proto.Unmarshal it adds the same
// again, as proto.Unmarshal allocates each string and map separately.
func HeapSize(e *v2.Envelope, encodedLen int) int {
	n := envelopeBytes + encodedLen
	if l := e.GetLog(); l != nil {
		n += len(l.Payload)
	}
	if len(e.Tags) > 0 {
		n += mapBytes + len(e.Tags)*tagEntryBytes
	}
	if len(e.DeprecatedTags) > 0 {
		n += mapBytes + len(e.DeprecatedTags)*deprecBytes
	}
	if g := e.GetGauge(); g != nil && len(g.Metrics) > 0 {
		n += mapBytes + len(g.Metrics)*metricBytes
	}
	return n
}

// Chunker decodes the envelopes of one encoded EnvelopeBatch a chunk at a
// time. The envelopes it returns, taken together and in order, are
// exactly the Batch field proto.Unmarshal would give (unknown top-level
// fields are skipped, as they do not change Batch). Nothing returned
// refers to the input, but the input must stay unchanged until the last
// call to Next. A Chunker is used by one goroutine.
type Chunker struct {
	data []byte
	off  int
	left int // envelope fields not yet decoded
	err  error
}

// NewChunker returns a Chunker over data, an encoded EnvelopeBatch. It
// counts the envelopes in one cheap pass; errors are reported by Next once
// it reaches them.
func NewChunker(data []byte) *Chunker {
	n, _ := countEntries(data)
	return &Chunker{data: data, left: n}
}

// Envelopes returns how many envelopes are left to decode (counted up to
// the first malformed field, if any).
func (c *Chunker) Envelopes() int { return c.left }

// Next decodes envelopes until their total HeapSize reaches maxBytes, or the
// batch ends, and returns them with that total. It decodes at least one
// envelope when any is left, so a chunk exceeds maxBytes by at most one
// envelope. At the end of the batch it returns nil, 0, nil. When the data
// is malformed, or an envelope is one proto.Unmarshal rejects, it returns
// the envelopes decoded before that point and the error, and every later
// call returns nil, 0 and the same error.
func (c *Chunker) Next(maxBytes int) ([]*v2.Envelope, int, error) {
	if c.err != nil || c.off >= len(c.data) {
		return nil, 0, c.err
	}
	// Capacity: what fits at the smallest possible envelope size, but no
	// more than are left.
	capacity := min(c.left, maxBytes/envelopeBytes+1)
	var envs []*v2.Envelope
	if capacity > 0 {
		envs = make([]*v2.Envelope, 0, capacity)
	}
	total := 0
	for c.off < len(c.data) {
		num, typ, n := consumeField(c.data[c.off:])
		if n < 0 {
			c.err = ErrMalformed
			return envs, total, c.err
		}
		if !isEntry(num, typ) {
			c.off += n // unknown field: proto.Unmarshal keeps it aside
			continue
		}
		_, _, tagLen := protowire.ConsumeTag(c.data[c.off:])
		m, _ := protowire.ConsumeBytes(c.data[c.off+tagLen:])
		if len(envs) > 0 && total+envelopeBytes+len(m) > maxBytes {
			break // the next envelope would not fit
		}
		e, ok := envelope(m)
		fallback := 0
		if !ok {
			e = new(v2.Envelope)
			if err := proto.Unmarshal(m, e); err != nil {
				c.err = err
				return envs, total, err
			}
			fallback = 1
		}
		c.off += n
		c.left--
		total += HeapSize(e, len(m)) * (1 + fallback)
		envs = append(envs, e)
		if total >= maxBytes {
			break
		}
	}
	if len(envs) == 0 {
		return nil, 0, nil
	}
	return envs, total, nil
}
