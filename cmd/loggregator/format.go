package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"code.cloudfoundry.org/go-loggregator/internal/gatewayjson"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// appendReadable appends one line describing e: timestamp (UTC,
// nanoseconds), source/instance, kind, payload or values, tags. Gauge
// metrics and tags are sorted by name; deprecated tags are shown with the
// tags, in their text form.
//
// Every text that comes from the envelope is printed through appendField
// or strconv.Quote, so whatever an emitter sends, the line holds no
// control character (C0, DEL, C1), no other non-printing rune and no
// invalid UTF-8: an envelope is always exactly one harmless line.
func appendReadable(b []byte, e *loggregator_v2.Envelope) []byte {
	b = time.Unix(0, e.GetTimestamp()).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
	b = append(b, ' ')
	b = appendID(b, e.GetSourceId())
	b = append(b, '/')
	b = appendID(b, e.GetInstanceId())
	b = append(b, ' ')
	switch m := e.GetMessage().(type) {
	case *loggregator_v2.Envelope_Log:
		b = append(b, "log "...)
		b = append(b, m.Log.GetType().String()...)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, strings.TrimRight(string(m.Log.GetPayload()), "\n"))
	case *loggregator_v2.Envelope_Counter:
		b = append(b, "counter "...)
		b = appendField(b, m.Counter.GetName())
		b = fmt.Appendf(b, " delta=%d total=%d", m.Counter.GetDelta(), m.Counter.GetTotal())
	case *loggregator_v2.Envelope_Gauge:
		b = append(b, "gauge"...)
		metrics := m.Gauge.GetMetrics()
		names := make([]string, 0, len(metrics))
		for n := range metrics {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			b = append(b, ' ')
			b = appendField(b, n)
			b = append(b, '=')
			b = strconv.AppendFloat(b, metrics[n].GetValue(), 'f', -1, 64)
			if u := metrics[n].GetUnit(); u != "" {
				b = append(b, ' ')
				b = appendField(b, u)
			}
		}
	case *loggregator_v2.Envelope_Timer:
		t := m.Timer
		b = append(b, "timer "...)
		b = appendField(b, t.GetName())
		b = fmt.Appendf(b, " duration=%s start=%d stop=%d", time.Duration(t.GetStop()-t.GetStart()), t.GetStart(), t.GetStop())
	case *loggregator_v2.Envelope_Event:
		b = fmt.Appendf(b, "event %q %q", m.Event.GetTitle(), m.Event.GetBody())
	default:
		b = append(b, "empty"...)
	}
	tags := map[string]string{}
	for k, v := range e.GetDeprecatedTags() {
		switch d := v.GetData().(type) {
		case *loggregator_v2.Value_Text:
			tags[k] = d.Text
		case *loggregator_v2.Value_Integer:
			tags[k] = strconv.FormatInt(d.Integer, 10)
		case *loggregator_v2.Value_Decimal:
			tags[k] = strconv.FormatFloat(d.Decimal, 'g', -1, 64)
		}
	}
	for k, v := range e.GetTags() {
		tags[k] = v
	}
	if len(tags) > 0 {
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, " ["...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendField(b, k)
			b = append(b, '=')
			b = appendField(b, tags[k])
		}
		b = append(b, ']')
	}
	return append(b, '\n')
}

// appendJSON appends e in the gateway's JSON form (protojson with
// unpopulated fields) and a newline.
func appendJSON(b []byte, e *loggregator_v2.Envelope) []byte {
	return append(gatewayjson.AppendEnvelope(b, e), '\n')
}

// appendID appends a source or instance id: "-" when empty, bare when
// appendField would print it bare and it holds no '/' (the separator of
// source and instance), quoted otherwise (so an id "-" is shown as "-"
// in quotes, distinct from an empty one).
func appendID(b []byte, s string) []byte {
	switch {
	case s == "":
		return append(b, '-')
	case s == "-" || strings.IndexByte(s, '/') >= 0:
		return strconv.AppendQuote(b, s)
	}
	return appendField(b, s)
}

// appendField appends s bare when every rune of it is printable
// (strconv.IsPrint), not a space and not one of the characters that
// structure the line (" \ = [ ]); otherwise it appends s Go-quoted
// (strconv.AppendQuote), which escapes control characters, non-printing
// runes and invalid UTF-8. An empty s appends nothing.
func appendField(b []byte, s string) []byte {
	for _, r := range s {
		if r == utf8.RuneError || r == ' ' || !strconv.IsPrint(r) || strings.ContainsRune(`"\=[]`, r) {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}
