// This file owns the fast decoder: Batch, the field walk (scan) and the
// decoding of one envelope, its payload message and its map entries into
// the generated structs. Anything it does not handle goes to
// proto.Unmarshal.

package protobin

import (
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Batch decodes data into b, replacing its contents. It returns an error
// exactly when proto.Unmarshal would, and then b holds what
// proto.Unmarshal left in it.
func Batch(data []byte, b *v2.EnvelopeBatch) error {
	if fastBatch(data, b) {
		return nil
	}
	return proto.Unmarshal(data, b)
}

// fastBatch decodes data into b and reports whether it could; on false, b
// may hold partial results (the caller falls back to proto.Unmarshal,
// which resets it).
func fastBatch(data []byte, b *v2.EnvelopeBatch) bool {
	b.Reset()
	n := 0
	for i := 0; i < len(data); {
		t, l := protowire.ConsumeVarint(data[i:])
		if l < 0 || t != uint64(BatchEntryTag) {
			return false
		}
		i += l
		_, l = protowire.ConsumeBytes(data[i:])
		if l < 0 {
			return false
		}
		i += l
		n++
	}
	if n == 0 {
		return true
	}
	envs := make([]*v2.Envelope, 0, n)
	for i := 0; i < len(data); {
		_, l := protowire.ConsumeVarint(data[i:])
		i += l
		m, l := protowire.ConsumeBytes(data[i:])
		i += l
		e, ok := envelope(m)
		if !ok {
			return false
		}
		envs = append(envs, e)
	}
	b.Batch = envs
	return true
}

// Envelope allocations: the envelope together with its oneof wrapper and
// payload message.
type (
	logEnvelope struct {
		e v2.Envelope
		w v2.Envelope_Log
		m v2.Log
	}
	counterEnvelope struct {
		e v2.Envelope
		w v2.Envelope_Counter
		m v2.Counter
	}
	gaugeEnvelope struct {
		e v2.Envelope
		w v2.Envelope_Gauge
		m v2.Gauge
	}
	timerEnvelope struct {
		e v2.Envelope
		w v2.Envelope_Timer
		m v2.Timer
	}
	eventEnvelope struct {
		e v2.Envelope
		w v2.Envelope_Event
		m v2.Event
	}
	textValue struct {
		v v2.Value
		w v2.Value_Text
	}
)

// scan walks the fields of one message in b, calling f with each field's
// number, wire type and value: the varint, the fixed64 bits, or the
// [start, end) range of a length-delimited value within b. It stops with
// false on malformed data, a group wire type, or when f returns false.
func scan(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, start, end int) bool) bool {
	for i := 0; i < len(b); {
		t, l := protowire.ConsumeVarint(b[i:])
		if l < 0 || t>>3 == 0 || t>>3 > uint64(protowire.MaxValidNumber) {
			return false
		}
		i += l
		num, typ := protowire.Number(t>>3), protowire.Type(t&7)
		switch typ {
		case protowire.VarintType:
			v, l := protowire.ConsumeVarint(b[i:])
			if l < 0 {
				return false
			}
			i += l
			if !f(num, typ, v, 0, 0) {
				return false
			}
		case protowire.Fixed64Type:
			v, l := protowire.ConsumeFixed64(b[i:])
			if l < 0 {
				return false
			}
			i += l
			if !f(num, typ, v, 0, 0) {
				return false
			}
		case protowire.BytesType:
			n, l := protowire.ConsumeVarint(b[i:])
			if l < 0 || n > uint64(len(b)-i-l) {
				return false
			}
			start := i + l
			i = start + int(n)
			if !f(num, typ, 0, start, i) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// envelope decodes one Envelope. A first pass checks the field set and
// counts map entries; a second fills the structs.
func envelope(b []byte) (*v2.Envelope, bool) {
	var kind protowire.Number // the oneof member, 0 if none
	var nTags, nDeprecated int
	ok := scan(b, func(num protowire.Number, typ protowire.Type, _ uint64, _, _ int) bool {
		switch num {
		case 1:
			return typ == protowire.VarintType
		case 2, 8:
			return typ == protowire.BytesType
		case 3:
			nDeprecated++
			return typ == protowire.BytesType
		case 9:
			nTags++
			return typ == protowire.BytesType
		case 4, 5, 6, 7, 10:
			if typ != protowire.BytesType || kind != 0 {
				return false // a second member would be merged or replace: leave it to proto
			}
			kind = num
			return true
		}
		return false
	})
	if !ok {
		return nil, false
	}

	// One copy of the envelope's bytes backs all its strings.
	s := string(b)
	var e *v2.Envelope
	var payload []byte // Log payload range, set below
	var msgStart, msgEnd int
	switch kind {
	case 4:
		x := new(logEnvelope)
		x.w.Log, x.e.Message = &x.m, &x.w
		e = &x.e
	case 5:
		x := new(counterEnvelope)
		x.w.Counter, x.e.Message = &x.m, &x.w
		e = &x.e
	case 6:
		x := new(gaugeEnvelope)
		x.w.Gauge, x.e.Message = &x.m, &x.w
		e = &x.e
	case 7:
		x := new(timerEnvelope)
		x.w.Timer, x.e.Message = &x.m, &x.w
		e = &x.e
	case 10:
		x := new(eventEnvelope)
		x.w.Event, x.e.Message = &x.m, &x.w
		e = &x.e
	default:
		e = new(v2.Envelope)
	}
	if nTags > 0 {
		e.Tags = make(map[string]string, nTags)
	}
	var texts []textValue
	if nDeprecated > 0 {
		e.DeprecatedTags = make(map[string]*v2.Value, nDeprecated)
	}
	ok = scan(b, func(num protowire.Number, _ protowire.Type, v uint64, start, end int) bool {
		switch num {
		case 1:
			e.Timestamp = int64(v)
		case 2:
			var ok bool
			e.SourceId, ok = text(b, s, start, end)
			return ok
		case 8:
			var ok bool
			e.InstanceId, ok = text(b, s, start, end)
			return ok
		case 9:
			k, val, ok := stringEntry(b, s, start, end)
			if !ok {
				return false
			}
			e.Tags[k] = val
		case 3:
			if texts == nil {
				texts = make([]textValue, nDeprecated)
			}
			var ok bool
			texts, ok = deprecatedEntry(b, s, start, end, e.DeprecatedTags, texts)
			return ok
		default: // the oneof member
			msgStart, msgEnd = start, end
		}
		return true
	})
	if !ok {
		return nil, false
	}
	if kind == 0 {
		return e, true
	}
	m := b[msgStart:msgEnd]
	base := msgStart
	str := func(start, end int) (string, bool) { return text(b, s, base+start, base+end) }
	switch w := e.Message.(type) {
	case *v2.Envelope_Log:
		l := w.Log
		ok = scan(m, func(num protowire.Number, typ protowire.Type, v uint64, start, end int) bool {
			switch {
			case num == 1 && typ == protowire.BytesType:
				payload = m[start:end]
				if payload == nil {
					payload = []byte{}
				}
			case num == 2 && typ == protowire.VarintType:
				l.Type = v2.Log_Type(int32(v))
			default:
				return false
			}
			return true
		})
		if payload != nil {
			l.Payload = append(make([]byte, 0, len(payload)), payload...)
		}
	case *v2.Envelope_Counter:
		c := w.Counter
		c.Name, c.Delta, c.Total, ok = named(m, str)
	case *v2.Envelope_Timer:
		t := w.Timer
		var start, stop uint64
		t.Name, start, stop, ok = named(m, str)
		t.Start, t.Stop = int64(start), int64(stop)
	case *v2.Envelope_Event:
		ev := w.Event
		ok = scan(m, func(num protowire.Number, typ protowire.Type, _ uint64, start, end int) bool {
			if typ != protowire.BytesType {
				return false
			}
			var ok bool
			switch num {
			case 1:
				ev.Title, ok = str(start, end)
			case 2:
				ev.Body, ok = str(start, end)
			}
			return ok
		})
	case *v2.Envelope_Gauge:
		ok = gauge(b, s, msgStart, msgEnd, w.Gauge)
	}
	if !ok {
		return nil, false
	}
	return e, true
}

// text returns b[start:end] as a string sharing s, the copy of b, and
// false when it is not valid UTF-8 (which proto.Unmarshal rejects).
func text(b []byte, s string, start, end int) (string, bool) {
	if !utf8.Valid(b[start:end]) {
		return "", false
	}
	return s[start:end], true
}

// named decodes the shape Counter and Timer share: a string at field 1
// and varints at fields 2 and 3.
func named(m []byte, str func(start, end int) (string, bool)) (name string, v2, v3 uint64, ok bool) {
	ok = scan(m, func(num protowire.Number, typ protowire.Type, v uint64, start, end int) bool {
		switch {
		case num == 1 && typ == protowire.BytesType:
			var ok bool
			name, ok = str(start, end)
			return ok
		case num == 2 && typ == protowire.VarintType:
			v2 = v
		case num == 3 && typ == protowire.VarintType:
			v3 = v
		default:
			return false
		}
		return true
	})
	return name, v2, v3, ok
}

// entry decodes the map entry at b[start:end]: a string key at field 1
// and a length-delimited value at field 2, whose range in b it hands to
// val. A key or value seen twice is left to proto.Unmarshal.
func entry(b []byte, s string, start, end int, val func(start, end int) bool) (k string, ok bool) {
	var seenK, seenV bool
	ok = scan(b[start:end], func(num protowire.Number, typ protowire.Type, _ uint64, st, en int) bool {
		if typ != protowire.BytesType {
			return false
		}
		st, en = start+st, start+en
		switch {
		case num == 1 && !seenK:
			var ok bool
			seenK = true
			k, ok = text(b, s, st, en)
			return ok
		case num == 2 && !seenV:
			seenV = true
			return val(st, en)
		}
		return false
	})
	return k, ok
}

// stringEntry decodes a map<string, string> entry at b[start:end].
func stringEntry(b []byte, s string, start, end int) (k, v string, ok bool) {
	k, ok = entry(b, s, start, end, func(st, en int) bool {
		var ok bool
		v, ok = text(b, s, st, en)
		return ok
	})
	return k, v, ok
}

// deprecatedEntry decodes a map<string, Value> entry at b[start:end] into
// m. Text values come from the texts slab, which it returns shortened.
func deprecatedEntry(b []byte, s string, start, end int, m map[string]*v2.Value, texts []textValue) ([]textValue, bool) {
	var val *v2.Value
	k, ok := entry(b, s, start, end, func(st, en int) bool {
		var ok bool
		val, texts, ok = value(b, s, st, en, texts)
		return ok
	})
	if !ok {
		return texts, false
	}
	if val == nil {
		val = new(v2.Value)
	}
	m[k] = val
	return texts, true
}

// value decodes a Value at b[start:end]. Only its last data member counts,
// as with protobuf.
func value(b []byte, s string, start, end int, texts []textValue) (*v2.Value, []textValue, bool) {
	var data any // last member: string, int64 or float64
	ok := scan(b[start:end], func(num protowire.Number, typ protowire.Type, v uint64, st, en int) bool {
		switch {
		case num == 1 && typ == protowire.BytesType:
			t, ok := text(b, s, start+st, start+en)
			data = t
			return ok
		case num == 2 && typ == protowire.VarintType:
			data = int64(v)
		case num == 3 && typ == protowire.Fixed64Type:
			data = math.Float64frombits(v)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil, texts, false
	}
	switch d := data.(type) {
	case string:
		if len(texts) == 0 {
			texts = make([]textValue, 1)
		}
		t := &texts[0]
		texts = texts[1:]
		t.w.Text = d
		t.v.Data = &t.w
		return &t.v, texts, true
	case int64:
		return &v2.Value{Data: &v2.Value_Integer{Integer: d}}, texts, true
	case float64:
		return &v2.Value{Data: &v2.Value_Decimal{Decimal: d}}, texts, true
	}
	return new(v2.Value), texts, true
}

// gauge decodes the Gauge at b[start:end] into g.
func gauge(b []byte, s string, start, end int, g *v2.Gauge) bool {
	n := 0
	m := b[start:end]
	if !scan(m, func(num protowire.Number, typ protowire.Type, _ uint64, _, _ int) bool {
		n++
		return num == 1 && typ == protowire.BytesType
	}) {
		return false
	}
	if n == 0 {
		return true
	}
	g.Metrics = make(map[string]*v2.GaugeValue, n)
	values := make([]v2.GaugeValue, n)
	return scan(m, func(_ protowire.Number, _ protowire.Type, _ uint64, st, en int) bool {
		gv := &values[0]
		values = values[1:]
		k, ok := entry(b, s, start+st, start+en, func(vs, ve int) bool {
			return scan(b[vs:ve], func(num protowire.Number, typ protowire.Type, v uint64, st, en int) bool {
				switch {
				case num == 1 && typ == protowire.BytesType:
					var ok bool
					gv.Unit, ok = text(b, s, vs+st, vs+en)
					return ok
				case num == 2 && typ == protowire.Fixed64Type:
					gv.Value = math.Float64frombits(v)
				default:
					return false
				}
				return true
			})
		})
		if ok {
			g.Metrics[k] = gv
		}
		return ok
	})
}
