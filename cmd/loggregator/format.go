package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/gatewayjson"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// appendReadable appends one line describing e: timestamp (UTC,
// nanoseconds), source/instance, kind, payload or values, tags. Gauge
// metrics and tags are sorted by name; deprecated tags are shown with the
// tags, in their text form.
func appendReadable(b []byte, e *loggregator_v2.Envelope) []byte {
	b = time.Unix(0, e.GetTimestamp()).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
	b = append(b, ' ')
	b = append(b, orDash(e.GetSourceId())...)
	b = append(b, '/')
	b = append(b, orDash(e.GetInstanceId())...)
	b = append(b, ' ')
	switch m := e.GetMessage().(type) {
	case *loggregator_v2.Envelope_Log:
		b = append(b, "log "...)
		b = append(b, m.Log.GetType().String()...)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, strings.TrimRight(string(m.Log.GetPayload()), "\n"))
	case *loggregator_v2.Envelope_Counter:
		b = fmt.Appendf(b, "counter %s delta=%d total=%d", m.Counter.GetName(), m.Counter.GetDelta(), m.Counter.GetTotal())
	case *loggregator_v2.Envelope_Gauge:
		b = append(b, "gauge"...)
		metrics := m.Gauge.GetMetrics()
		names := make([]string, 0, len(metrics))
		for n := range metrics {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			b = fmt.Appendf(b, " %s=%s", n, strconv.FormatFloat(metrics[n].GetValue(), 'f', -1, 64))
			if u := metrics[n].GetUnit(); u != "" {
				b = append(b, ' ')
				b = append(b, u...)
			}
		}
	case *loggregator_v2.Envelope_Timer:
		t := m.Timer
		b = fmt.Appendf(b, "timer %s duration=%s start=%d stop=%d", t.GetName(), time.Duration(t.GetStop()-t.GetStart()), t.GetStart(), t.GetStop())
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
			b = append(b, k...)
			b = append(b, '=')
			b = append(b, tags[k]...)
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
