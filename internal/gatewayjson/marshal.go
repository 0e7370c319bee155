// This file owns the writer: AppendBatch and AppendEnvelope, one map
// writer for tags, deprecated_tags and gauge metrics, and the JSON string
// and double output rules.

package gatewayjson

import (
	"encoding/base64"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// AppendBatch appends the JSON form of an EnvelopeBatch holding envs.
// Nil envelopes are written as empty envelopes.
func AppendBatch(b []byte, envs []*loggregator_v2.Envelope) []byte {
	b = append(b, `{"batch":[`...)
	for i, e := range envs {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendEnvelope(b, e)
	}
	return append(b, "]}"...)
}

// AppendEnvelope appends the JSON form of one envelope.
func AppendEnvelope(b []byte, e *loggregator_v2.Envelope) []byte {
	b = append(b, `{"timestamp":"`...)
	b = strconv.AppendInt(b, e.GetTimestamp(), 10)
	b = append(b, `","source_id":`...)
	b = appendString(b, e.GetSourceId())
	b = append(b, `,"instance_id":`...)
	b = appendString(b, e.GetInstanceId())
	b = append(b, `,"deprecated_tags":`...)
	b = appendMap(b, e.GetDeprecatedTags(), appendValue)
	b = append(b, `,"tags":`...)
	b = appendMap(b, e.GetTags(), appendString)

	switch m := e.GetMessage().(type) {
	case *loggregator_v2.Envelope_Log:
		b = append(b, `,"log":{"payload":"`...)
		b = base64.StdEncoding.AppendEncode(b, m.Log.GetPayload())
		b = append(b, `","type":`...)
		t := m.Log.GetType()
		if name, ok := loggregator_v2.Log_Type_name[int32(t)]; ok {
			b = append(b, '"')
			b = append(b, name...)
			b = append(b, '"')
		} else {
			b = strconv.AppendInt(b, int64(t), 10)
		}
		b = append(b, '}')
	case *loggregator_v2.Envelope_Counter:
		b = append(b, `,"counter":{"name":`...)
		b = appendString(b, m.Counter.GetName())
		b = append(b, `,"delta":"`...)
		b = strconv.AppendUint(b, m.Counter.GetDelta(), 10)
		b = append(b, `","total":"`...)
		b = strconv.AppendUint(b, m.Counter.GetTotal(), 10)
		b = append(b, `"}`...)
	case *loggregator_v2.Envelope_Gauge:
		b = append(b, `,"gauge":{"metrics":`...)
		b = appendMap(b, m.Gauge.GetMetrics(), appendGaugeValue)
		b = append(b, '}')
	case *loggregator_v2.Envelope_Timer:
		b = append(b, `,"timer":{"name":`...)
		b = appendString(b, m.Timer.GetName())
		b = append(b, `,"start":"`...)
		b = strconv.AppendInt(b, m.Timer.GetStart(), 10)
		b = append(b, `","stop":"`...)
		b = strconv.AppendInt(b, m.Timer.GetStop(), 10)
		b = append(b, `"}`...)
	case *loggregator_v2.Envelope_Event:
		b = append(b, `,"event":{"title":`...)
		b = appendString(b, m.Event.GetTitle())
		b = append(b, `,"body":`...)
		b = appendString(b, m.Event.GetBody())
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendGaugeValue(b []byte, v *loggregator_v2.GaugeValue) []byte {
	b = append(b, `{"unit":`...)
	b = appendString(b, v.GetUnit())
	b = append(b, `,"value":`...)
	b = appendFloat(b, v.GetValue())
	return append(b, '}')
}

func appendValue(b []byte, v *loggregator_v2.Value) []byte {
	switch d := v.GetData().(type) {
	case *loggregator_v2.Value_Text:
		b = append(b, `{"text":`...)
		b = appendString(b, d.Text)
	case *loggregator_v2.Value_Integer:
		b = append(b, `{"integer":"`...)
		b = strconv.AppendInt(b, d.Integer, 10)
		b = append(b, '"')
	case *loggregator_v2.Value_Decimal:
		b = append(b, `{"decimal":`...)
		b = appendFloat(b, d.Decimal)
	default:
		b = append(b, '{')
	}
	return append(b, '}')
}

// appendMap appends m as a JSON object, keys sorted as protojson sorts
// them, each value written by appendV. Maps of zero or one member need no
// sort.
func appendMap[V any](b []byte, m map[string]V, appendV func([]byte, V) []byte) []byte {
	b = append(b, '{')
	switch len(m) {
	case 0:
	case 1:
		for k, v := range m {
			b = appendString(b, k)
			b = append(b, ':')
			b = appendV(b, v)
		}
	default:
		for i, k := range sortedKeys(m) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendV(b, m[k])
		}
	}
	return append(b, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appendFloat writes a double as protojson does: NaN and infinities as
// strings, otherwise the shortest representation that round-trips, in
// exponent form only below 1e-6 or from 1e21 on (ECMAScript style).
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Shorten "e-07" to "e-7" and "e+21" stays as is.
		n := len(b)
		if n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping what JSON requires.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
