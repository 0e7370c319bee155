package router

import (
	"sort"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

type kind uint8

const (
	kindNone kind = iota
	kindLog
	kindCounter
	kindGauge
	kindTimer
	kindEvent
)

// matcher is a compiled Selector.
type matcher struct {
	sourceID   string
	kind       kind
	name       string   // counter name; empty = all counters
	gaugeNames []string // sorted, unique; empty = all gauges
}

func compile(sels []*loggregator_v2.Selector) []matcher {
	out := make([]matcher, 0, len(sels))
	for _, sel := range sels {
		m := matcher{sourceID: sel.GetSourceId()}
		switch msg := sel.GetMessage().(type) {
		case *loggregator_v2.Selector_Log:
			m.kind = kindLog
		case *loggregator_v2.Selector_Counter:
			m.kind = kindCounter
			m.name = msg.Counter.GetName()
		case *loggregator_v2.Selector_Gauge:
			m.kind = kindGauge
			m.gaugeNames = uniqueSorted(msg.Gauge.GetNames())
		case *loggregator_v2.Selector_Timer:
			m.kind = kindTimer
		case *loggregator_v2.Selector_Event:
			m.kind = kindEvent
		default:
			// A selector without an envelope kind selects nothing, as in
			// Loggregator.
			continue
		}
		out = append(out, m)
	}
	return out
}

func uniqueSorted(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	s := append([]string(nil), names...)
	sort.Strings(s)
	out := s[:1]
	for _, n := range s[1:] {
		if n != out[len(out)-1] {
			out = append(out, n)
		}
	}
	return out
}

func (m *matcher) match(e *loggregator_v2.Envelope) bool {
	if m.sourceID != "" && m.sourceID != e.GetSourceId() {
		return false
	}
	switch msg := e.GetMessage().(type) {
	case *loggregator_v2.Envelope_Log:
		return m.kind == kindLog
	case *loggregator_v2.Envelope_Counter:
		return m.kind == kindCounter && (m.name == "" || m.name == msg.Counter.GetName())
	case *loggregator_v2.Envelope_Gauge:
		if m.kind != kindGauge {
			return false
		}
		if len(m.gaugeNames) == 0 {
			return true
		}
		metrics := msg.Gauge.GetMetrics()
		if len(metrics) != len(m.gaugeNames) {
			return false
		}
		for _, n := range m.gaugeNames {
			if _, ok := metrics[n]; !ok {
				return false
			}
		}
		return true
	case *loggregator_v2.Envelope_Timer:
		return m.kind == kindTimer
	case *loggregator_v2.Envelope_Event:
		return m.kind == kindEvent
	}
	return false
}
