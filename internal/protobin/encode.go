// Package encode writes loggregator.v2 envelopes in protobuf binary form
// without reflection, and provides a gRPC codec that passes pre-encoded
// bytes through unchanged.
//
// The encoder exists for speed: the ingress client encodes each envelope
// once, straight into the bytes of the EnvelopeBatch it will send. Its
// output decodes with proto.Unmarshal to a message equal to the input
// (fuzz-tested against proto.Marshal); field order and map entry order may
// differ from proto.Marshal, which the protobuf format allows.
//
// Like proto.Marshal, the encoder refuses strings that are not valid UTF-8
// (protobuf decoders reject them, which would break the whole batch).
//
// The functions are safe for concurrent use as long as the envelope being
// encoded is not modified at the same time.
package protobin

import (
	"errors"
	"math"
	"math/bits"
	"unicode/utf8"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// ErrInvalidUTF8 is returned when a string field of an envelope is not
// valid UTF-8.
var ErrInvalidUTF8 = errors.New("encode: string field contains invalid UTF-8")

// ErrNilEnvelope is returned for a nil envelope.
var ErrNilEnvelope = errors.New("encode: nil envelope")

// Wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

// BatchEntryTag is the first byte of every envelope inside an encoded
// EnvelopeBatch: field 1 (batch), length-delimited.
const BatchEntryTag = 1<<3 | wireBytes

func tag(field, wire int) byte { return byte(field<<3 | wire) } // all our fields are < 16

// SizeVarint returns the encoded size of v.
func SizeVarint(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// AppendVarint appends the base-128 varint encoding of v.
func AppendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendFixed64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

// sizeLen is the size of a length-delimited field (one-byte tag) holding n bytes.
func sizeLen(n int) int { return 1 + SizeVarint(uint64(n)) + n }

func appendString(b []byte, t byte, s string) []byte {
	b = append(b, t)
	b = AppendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// sizer accumulates the size of an envelope and remembers whether every
// string was valid UTF-8.
type sizer struct{ bad bool }

// str returns the size of a string field and checks its encoding.
func (z *sizer) str(s string) int {
	if !z.bad && !utf8.ValidString(s) {
		z.bad = true
	}
	return sizeLen(len(s))
}

// optStr is str for a proto3 string that is omitted when empty.
func (z *sizer) optStr(s string) int {
	if s == "" {
		return 0
	}
	return z.str(s)
}

func optVarint(v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + SizeVarint(v)
}

func optDouble(v float64) int {
	if math.Float64bits(v) == 0 {
		return 0
	}
	return 9
}

func (z *sizer) valueSize(v *loggregator_v2.Value) int {
	if v == nil {
		return 0
	}
	n := len(v.ProtoReflect().GetUnknown())
	switch d := v.Data.(type) {
	case *loggregator_v2.Value_Text:
		n += z.str(d.Text)
	case *loggregator_v2.Value_Integer:
		n += 1 + SizeVarint(uint64(d.Integer))
	case *loggregator_v2.Value_Decimal:
		n += 9
	}
	return n
}

func (z *sizer) logSize(l *loggregator_v2.Log) int {
	if l == nil {
		return 0
	}
	n := len(l.ProtoReflect().GetUnknown())
	if len(l.Payload) > 0 {
		n += sizeLen(len(l.Payload))
	}
	return n + optVarint(uint64(int64(l.Type)))
}

func (z *sizer) counterSize(c *loggregator_v2.Counter) int {
	if c == nil {
		return 0
	}
	return len(c.ProtoReflect().GetUnknown()) + z.optStr(c.Name) + optVarint(c.Delta) + optVarint(c.Total)
}

func (z *sizer) gaugeValueSize(g *loggregator_v2.GaugeValue) int {
	if g == nil {
		return 0
	}
	return len(g.ProtoReflect().GetUnknown()) + z.optStr(g.Unit) + optDouble(g.Value)
}

func (z *sizer) gaugeSize(g *loggregator_v2.Gauge) int {
	if g == nil {
		return 0
	}
	n := len(g.ProtoReflect().GetUnknown())
	for k, v := range g.Metrics {
		n += sizeLen(z.str(k) + sizeLen(z.gaugeValueSize(v)))
	}
	return n
}

func (z *sizer) timerSize(t *loggregator_v2.Timer) int {
	if t == nil {
		return 0
	}
	return len(t.ProtoReflect().GetUnknown()) + z.optStr(t.Name) + optVarint(uint64(t.Start)) + optVarint(uint64(t.Stop))
}

func (z *sizer) eventSize(e *loggregator_v2.Event) int {
	if e == nil {
		return 0
	}
	return len(e.ProtoReflect().GetUnknown()) + z.optStr(e.Title) + z.optStr(e.Body)
}

func (z *sizer) envelopeSize(e *loggregator_v2.Envelope) int {
	n := len(e.ProtoReflect().GetUnknown())
	n += optVarint(uint64(e.Timestamp))
	n += z.optStr(e.SourceId)
	n += z.optStr(e.InstanceId)
	for k, v := range e.DeprecatedTags {
		n += sizeLen(z.str(k) + sizeLen(z.valueSize(v)))
	}
	for k, v := range e.Tags {
		n += sizeLen(z.str(k) + z.str(v))
	}
	switch m := e.Message.(type) {
	case *loggregator_v2.Envelope_Log:
		n += sizeLen(z.logSize(m.Log))
	case *loggregator_v2.Envelope_Counter:
		n += sizeLen(z.counterSize(m.Counter))
	case *loggregator_v2.Envelope_Gauge:
		n += sizeLen(z.gaugeSize(m.Gauge))
	case *loggregator_v2.Envelope_Timer:
		n += sizeLen(z.timerSize(m.Timer))
	case *loggregator_v2.Envelope_Event:
		n += sizeLen(z.eventSize(m.Event))
	}
	return n
}

// EncodedSize returns the encoded size of e (without a batch entry header), or an
// error when e is nil or holds invalid UTF-8.
func EncodedSize(e *loggregator_v2.Envelope) (int, error) {
	if e == nil {
		return 0, ErrNilEnvelope
	}
	var z sizer
	n := z.envelopeSize(e)
	if z.bad {
		return 0, ErrInvalidUTF8
	}
	return n, nil
}

// AppendEnvelope appends the binary encoding of e to b. On error b is
// returned unchanged.
func AppendEnvelope(b []byte, e *loggregator_v2.Envelope) ([]byte, error) {
	if _, err := EncodedSize(e); err != nil {
		return b, err
	}
	return appendEnvelope(b, e), nil
}

// AppendBatchEntry appends e as one entry of an EnvelopeBatch: the field-1
// tag, the length and the envelope. Concatenated entries are the complete
// encoding of an EnvelopeBatch. On error b is returned unchanged.
func AppendBatchEntry(b []byte, e *loggregator_v2.Envelope) ([]byte, error) {
	n, err := EncodedSize(e)
	if err != nil {
		return b, err
	}
	b = append(b, BatchEntryTag)
	b = AppendVarint(b, uint64(n))
	return appendEnvelope(b, e), nil
}

// The append functions below assume the sizes were computed (and the
// strings validated) by a sizer over the same, unchanged message.

func appendEnvelope(b []byte, e *loggregator_v2.Envelope) []byte {
	z := sizer{bad: true} // strings were validated already
	b = appendVarintField(b, 1, uint64(e.Timestamp))
	if e.SourceId != "" {
		b = appendString(b, tag(2, wireBytes), e.SourceId)
	}
	for k, v := range e.DeprecatedTags {
		vs := z.valueSize(v)
		b = append(b, tag(3, wireBytes))
		b = AppendVarint(b, uint64(sizeLen(len(k))+sizeLen(vs)))
		b = appendString(b, tag(1, wireBytes), k)
		b = append(b, tag(2, wireBytes))
		b = AppendVarint(b, uint64(vs))
		b = appendValue(b, v)
	}
	switch m := e.Message.(type) {
	case *loggregator_v2.Envelope_Log:
		b = append(b, tag(4, wireBytes))
		b = AppendVarint(b, uint64(z.logSize(m.Log)))
		b = appendLog(b, m.Log)
	case *loggregator_v2.Envelope_Counter:
		b = append(b, tag(5, wireBytes))
		b = AppendVarint(b, uint64(z.counterSize(m.Counter)))
		b = appendCounter(b, m.Counter)
	case *loggregator_v2.Envelope_Gauge:
		b = append(b, tag(6, wireBytes))
		b = AppendVarint(b, uint64(z.gaugeSize(m.Gauge)))
		b = appendGauge(b, m.Gauge)
	case *loggregator_v2.Envelope_Timer:
		b = append(b, tag(7, wireBytes))
		b = AppendVarint(b, uint64(z.timerSize(m.Timer)))
		b = appendTimer(b, m.Timer)
	case *loggregator_v2.Envelope_Event:
		b = append(b, 10<<3|wireBytes)
		b = AppendVarint(b, uint64(z.eventSize(m.Event)))
		b = appendEvent(b, m.Event)
	}
	if e.InstanceId != "" {
		b = appendString(b, tag(8, wireBytes), e.InstanceId)
	}
	for k, v := range e.Tags {
		b = append(b, tag(9, wireBytes))
		b = AppendVarint(b, uint64(sizeLen(len(k))+sizeLen(len(v))))
		b = appendString(b, tag(1, wireBytes), k)
		b = appendString(b, tag(2, wireBytes), v)
	}
	return append(b, e.ProtoReflect().GetUnknown()...)
}

func appendValue(b []byte, v *loggregator_v2.Value) []byte {
	if v == nil {
		return b
	}
	switch d := v.Data.(type) {
	case *loggregator_v2.Value_Text:
		b = appendString(b, tag(1, wireBytes), d.Text)
	case *loggregator_v2.Value_Integer:
		b = append(b, tag(2, wireVarint))
		b = AppendVarint(b, uint64(d.Integer))
	case *loggregator_v2.Value_Decimal:
		b = append(b, tag(3, wireFixed64))
		b = appendFixed64(b, math.Float64bits(d.Decimal))
	}
	return append(b, v.ProtoReflect().GetUnknown()...)
}

func appendLog(b []byte, l *loggregator_v2.Log) []byte {
	if l == nil {
		return b
	}
	if len(l.Payload) > 0 {
		b = append(b, tag(1, wireBytes))
		b = AppendVarint(b, uint64(len(l.Payload)))
		b = append(b, l.Payload...)
	}
	b = appendVarintField(b, 2, uint64(int64(l.Type)))
	return append(b, l.ProtoReflect().GetUnknown()...)
}

// appendVarintField writes field as a varint unless v is zero (proto3
// omits zero scalars).
func appendVarintField(b []byte, field int, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, tag(field, wireVarint))
	return AppendVarint(b, v)
}

func appendCounter(b []byte, c *loggregator_v2.Counter) []byte {
	if c == nil {
		return b
	}
	if c.Name != "" {
		b = appendString(b, tag(1, wireBytes), c.Name)
	}
	b = appendVarintField(b, 2, c.Delta)
	b = appendVarintField(b, 3, c.Total)
	return append(b, c.ProtoReflect().GetUnknown()...)
}

func appendGauge(b []byte, g *loggregator_v2.Gauge) []byte {
	if g == nil {
		return b
	}
	z := sizer{bad: true}
	for k, v := range g.Metrics {
		vs := z.gaugeValueSize(v)
		b = append(b, tag(1, wireBytes))
		b = AppendVarint(b, uint64(sizeLen(len(k))+sizeLen(vs)))
		b = appendString(b, tag(1, wireBytes), k)
		b = append(b, tag(2, wireBytes))
		b = AppendVarint(b, uint64(vs))
		if v != nil {
			if v.Unit != "" {
				b = appendString(b, tag(1, wireBytes), v.Unit)
			}
			if bitsV := math.Float64bits(v.Value); bitsV != 0 {
				b = append(b, tag(2, wireFixed64))
				b = appendFixed64(b, bitsV)
			}
			b = append(b, v.ProtoReflect().GetUnknown()...)
		}
	}
	return append(b, g.ProtoReflect().GetUnknown()...)
}

func appendTimer(b []byte, t *loggregator_v2.Timer) []byte {
	if t == nil {
		return b
	}
	if t.Name != "" {
		b = appendString(b, tag(1, wireBytes), t.Name)
	}
	b = appendVarintField(b, 2, uint64(t.Start))
	b = appendVarintField(b, 3, uint64(t.Stop))
	return append(b, t.ProtoReflect().GetUnknown()...)
}

func appendEvent(b []byte, e *loggregator_v2.Event) []byte {
	if e == nil {
		return b
	}
	if e.Title != "" {
		b = appendString(b, tag(1, wireBytes), e.Title)
	}
	if e.Body != "" {
		b = appendString(b, tag(2, wireBytes), e.Body)
	}
	return append(b, e.ProtoReflect().GetUnknown()...)
}
