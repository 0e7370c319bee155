// This file owns the encoder: the size of an envelope (checking its
// strings on the way) and its bytes, written without reflection. The
// varint and fixed64 primitives come from protowire.

package protobin

import (
	"errors"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// ErrInvalidUTF8 is returned when a string field of an envelope is not
// valid UTF-8.
var ErrInvalidUTF8 = errors.New("protobin: string field contains invalid UTF-8")

// ErrNilEnvelope is returned for a nil envelope.
var ErrNilEnvelope = errors.New("protobin: nil envelope")

// EncodedSize returns the encoded size of e (without a batch entry
// header), or an error when e is nil or holds invalid UTF-8.
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
	return appendEnvelope(appendLen(b, BatchEntryTag, n), e), nil
}

// sizeLen is the size of a length-delimited field (one-byte tag) holding n bytes.
func sizeLen(n int) int { return 1 + protowire.SizeBytes(n) }

// appendVarint is protowire.AppendVarint with the one-byte case inlined:
// most varints of an envelope (lengths, small scalars) are below 128, and
// the call is a measurable share of encoding a small envelope.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// appendLen writes a one-byte tag and the length n of the value that follows.
func appendLen(b []byte, t byte, n int) []byte {
	return appendVarint(append(b, t), uint64(n))
}

func appendString(b []byte, t byte, s string) []byte {
	return append(appendLen(b, t, len(s)), s...)
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
	return 1 + protowire.SizeVarint(v)
}

func optDouble(v float64) int {
	if math.Float64bits(v) == 0 {
		return 0
	}
	return 1 + protowire.SizeFixed64()
}

// entrySize is the size of a map entry field: key at field 1, a value of
// valueSize bytes at field 2.
func (z *sizer) entrySize(k string, valueSize int) int {
	return sizeLen(z.str(k) + sizeLen(valueSize))
}

// namedSize is the size of the shape Counter and Timer share: a string at
// field 1 and varints at fields 2 and 3, each omitted when zero.
func (z *sizer) namedSize(name string, v2, v3 uint64) int {
	return z.optStr(name) + optVarint(v2) + optVarint(v3)
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
		n += 1 + protowire.SizeVarint(uint64(d.Integer))
	case *loggregator_v2.Value_Decimal:
		n += 1 + protowire.SizeFixed64()
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
	return len(c.ProtoReflect().GetUnknown()) + z.namedSize(c.Name, c.Delta, c.Total)
}

func (z *sizer) timerSize(t *loggregator_v2.Timer) int {
	if t == nil {
		return 0
	}
	return len(t.ProtoReflect().GetUnknown()) + z.namedSize(t.Name, uint64(t.Start), uint64(t.Stop))
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
		n += z.entrySize(k, z.gaugeValueSize(v))
	}
	return n
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
		n += z.entrySize(k, z.valueSize(v))
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

// The append functions below assume the sizes were computed (and the
// strings validated) by a sizer over the same, unchanged message.

// appendEntryKey writes the start of a map entry at field num: its tag,
// its length, the key, and the tag of a value of valueSize bytes, whose
// length and bytes the caller appends.
func appendEntryKey(b []byte, num protowire.Number, k string, valueSize int) []byte {
	b = appendLen(b, tag(num, protowire.BytesType), sizeLen(len(k))+sizeLen(valueSize))
	b = appendString(b, tag(1, protowire.BytesType), k)
	return append(b, tag(2, protowire.BytesType))
}

func appendEnvelope(b []byte, e *loggregator_v2.Envelope) []byte {
	z := sizer{bad: true} // strings were validated already
	b = appendVarintField(b, 1, uint64(e.Timestamp))
	if e.SourceId != "" {
		b = appendString(b, tag(2, protowire.BytesType), e.SourceId)
	}
	for k, v := range e.DeprecatedTags {
		vs := z.valueSize(v)
		b = appendEntryKey(b, 3, k, vs)
		b = appendVarint(b, uint64(vs))
		b = appendValue(b, v)
	}
	switch m := e.Message.(type) {
	case *loggregator_v2.Envelope_Log:
		b = appendLen(b, tag(4, protowire.BytesType), z.logSize(m.Log))
		b = appendLog(b, m.Log)
	case *loggregator_v2.Envelope_Counter:
		b = appendLen(b, tag(5, protowire.BytesType), z.counterSize(m.Counter))
		if c := m.Counter; c != nil {
			b = appendNamed(b, c.Name, c.Delta, c.Total)
			b = append(b, c.ProtoReflect().GetUnknown()...)
		}
	case *loggregator_v2.Envelope_Gauge:
		b = appendLen(b, tag(6, protowire.BytesType), z.gaugeSize(m.Gauge))
		b = appendGauge(b, m.Gauge)
	case *loggregator_v2.Envelope_Timer:
		b = appendLen(b, tag(7, protowire.BytesType), z.timerSize(m.Timer))
		if t := m.Timer; t != nil {
			b = appendNamed(b, t.Name, uint64(t.Start), uint64(t.Stop))
			b = append(b, t.ProtoReflect().GetUnknown()...)
		}
	case *loggregator_v2.Envelope_Event:
		b = appendLen(b, tag(10, protowire.BytesType), z.eventSize(m.Event))
		b = appendEvent(b, m.Event)
	}
	if e.InstanceId != "" {
		b = appendString(b, tag(8, protowire.BytesType), e.InstanceId)
	}
	for k, v := range e.Tags {
		b = appendEntryKey(b, 9, k, len(v))
		b = append(appendVarint(b, uint64(len(v))), v...)
	}
	return append(b, e.ProtoReflect().GetUnknown()...)
}

// appendVarintField writes field num as a varint unless v is zero (proto3
// omits zero scalars).
func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return appendVarint(append(b, tag(num, protowire.VarintType)), v)
}

// appendDoubleField writes field num as a double unless its bits are zero.
func appendDoubleField(b []byte, num protowire.Number, v float64) []byte {
	bits := math.Float64bits(v)
	if bits == 0 {
		return b
	}
	return protowire.AppendFixed64(append(b, tag(num, protowire.Fixed64Type)), bits)
}

// appendOptString writes field num unless s is empty.
func appendOptString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(b, tag(num, protowire.BytesType), s)
}

// appendNamed writes the fields of the shape Counter and Timer share (see
// sizer.namedSize).
func appendNamed(b []byte, name string, v2, v3 uint64) []byte {
	b = appendOptString(b, 1, name)
	b = appendVarintField(b, 2, v2)
	return appendVarintField(b, 3, v3)
}

func appendValue(b []byte, v *loggregator_v2.Value) []byte {
	if v == nil {
		return b
	}
	switch d := v.Data.(type) {
	case *loggregator_v2.Value_Text:
		b = appendString(b, tag(1, protowire.BytesType), d.Text)
	case *loggregator_v2.Value_Integer:
		b = appendVarint(append(b, tag(2, protowire.VarintType)), uint64(d.Integer))
	case *loggregator_v2.Value_Decimal:
		b = append(b, tag(3, protowire.Fixed64Type))
		b = protowire.AppendFixed64(b, math.Float64bits(d.Decimal))
	}
	return append(b, v.ProtoReflect().GetUnknown()...)
}

func appendLog(b []byte, l *loggregator_v2.Log) []byte {
	if l == nil {
		return b
	}
	if len(l.Payload) > 0 {
		b = append(appendLen(b, tag(1, protowire.BytesType), len(l.Payload)), l.Payload...)
	}
	b = appendVarintField(b, 2, uint64(int64(l.Type)))
	return append(b, l.ProtoReflect().GetUnknown()...)
}

func appendGauge(b []byte, g *loggregator_v2.Gauge) []byte {
	if g == nil {
		return b
	}
	z := sizer{bad: true}
	for k, v := range g.Metrics {
		vs := z.gaugeValueSize(v)
		b = appendEntryKey(b, 1, k, vs)
		b = appendVarint(b, uint64(vs))
		if v != nil {
			b = appendOptString(b, 1, v.Unit)
			b = appendDoubleField(b, 2, v.Value)
			b = append(b, v.ProtoReflect().GetUnknown()...)
		}
	}
	return append(b, g.ProtoReflect().GetUnknown()...)
}

func appendEvent(b []byte, e *loggregator_v2.Event) []byte {
	if e == nil {
		return b
	}
	b = appendOptString(b, 1, e.Title)
	b = appendOptString(b, 2, e.Body)
	return append(b, e.ProtoReflect().GetUnknown()...)
}
