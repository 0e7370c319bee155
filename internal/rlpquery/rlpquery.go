// Package rlpquery converts between a loggregator.v2 EgressBatchRequest and
// the query string of the RLP gateway's GET /v2/read (rlp-gateway-http.md
// §2 and §3).
//
// Encode is the client side: the original client's part-building algorithm,
// except that every value is URL-escaped and a gauge selector with several
// names is written as gauge.name=a,b (the form the gateway splits on ',')
// instead of panicking. Parse is the gateway's side: it turns a query into
// the request the gateway would send upstream, including its cross product
// of source ids and envelope kinds. KindSelector builds the selector for one
// kind named as in the query (the CLI's tail command uses it).
//
// The functions are safe for concurrent use.
package rlpquery

import (
	"net/url"
	"strings"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Encode returns the query string (without the leading '?') for req. It is
// "" when req has no shard_id, no deterministic_name and no selector with a
// source_id or a kind, and for a nil req; the gateway answers an empty query
// with 400 empty_query, and a query without a kind with 400
// missing_envelope_type.
//
// Parts are written in this order: shard_id, deterministic_name, then per
// selector its source_id and its kind (log, counter / counter.name=N,
// gauge / gauge.name=N1,N2, timer, event). A plain counter (gauge) part is
// dropped when any counter.name (gauge.name) part exists, and repeated
// identical source_id parts are written once. Names containing ',' cannot
// be told apart from several names by the gateway.
func Encode(req *loggregator_v2.EgressBatchRequest) string {
	if req == nil {
		return ""
	}
	var parts []string
	if req.GetShardId() != "" {
		parts = append(parts, "shard_id="+url.QueryEscape(req.GetShardId()))
	}
	if req.GetDeterministicName() != "" {
		parts = append(parts, "deterministic_name="+url.QueryEscape(req.GetDeterministicName()))
	}
	var counterName, gaugeName bool
	for _, s := range req.GetSelectors() {
		if s == nil {
			continue
		}
		if s.GetSourceId() != "" {
			parts = append(parts, "source_id="+url.QueryEscape(s.GetSourceId()))
		}
		switch m := s.GetMessage().(type) {
		case *loggregator_v2.Selector_Log:
			parts = append(parts, "log")
		case *loggregator_v2.Selector_Counter:
			if name := m.Counter.GetName(); name != "" {
				parts = append(parts, "counter.name="+url.QueryEscape(name))
				counterName = true
			} else {
				parts = append(parts, "counter")
			}
		case *loggregator_v2.Selector_Gauge:
			names := m.Gauge.GetNames()
			if len(names) == 0 {
				parts = append(parts, "gauge")
				continue
			}
			escaped := make([]string, len(names))
			for i, n := range names {
				escaped[i] = url.QueryEscape(n)
			}
			parts = append(parts, "gauge.name="+strings.Join(escaped, ","))
			gaugeName = true
		case *loggregator_v2.Selector_Timer:
			parts = append(parts, "timer")
		case *loggregator_v2.Selector_Event:
			parts = append(parts, "event")
		}
	}
	seen := make(map[string]bool)
	out := parts[:0]
	for _, p := range parts {
		switch {
		case counterName && p == "counter", gaugeName && p == "gauge":
			continue
		case strings.HasPrefix(p, "source_id="):
			if seen[p] {
				continue
			}
			seen[p] = true
		}
		out = append(out, p)
	}
	return strings.Join(out, "&")
}

// Error is a query the gateway rejects, with the gateway's error name and
// message (rlp-gateway-http.md §4). The gateway answers it with 400.
type Error struct {
	Name    string
	Message string
}

func (e *Error) Error() string { return e.Name + ": " + e.Message }

// The query errors the gateway reports.
var (
	// ErrEmptyQuery is a request without query parameters.
	ErrEmptyQuery = &Error{Name: "empty_query", Message: "query cannot be empty"}
	// ErrMissingEnvelopeType is a query that names no envelope kind.
	ErrMissingEnvelopeType = &Error{Name: "missing_envelope_type", Message: "query must provide at least one envelope type"}
)

// Parse turns a raw query string (without '?') into the request the gateway
// makes of the Reverse Log Proxy, or returns ErrEmptyQuery or
// ErrMissingEnvelopeType. Malformed pairs are skipped, as
// net/url.URL.Query does.
//
// Every source_id (or a single empty one, meaning all sources, when there
// is none) is combined with every requested kind: log; counter, or one
// CounterSelector per counter.name value; gauge, or one GaugeSelector per
// gauge.name value with the value split on ',' (an empty value: no names,
// so every gauge); timer; event.
// UsePreferredTags is always true; shard_id and deterministic_name take
// their first value; unknown keys are ignored.
func Parse(rawQuery string) (*loggregator_v2.EgressBatchRequest, error) {
	q, _ := url.ParseQuery(rawQuery)
	if len(q) == 0 {
		return nil, ErrEmptyQuery
	}
	var kinds []isSelectorMessage
	if _, ok := q["log"]; ok {
		kinds = append(kinds, &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}})
	}
	if names, ok := q["counter.name"]; ok {
		for _, n := range names {
			kinds = append(kinds, &loggregator_v2.Selector_Counter{Counter: &loggregator_v2.CounterSelector{Name: n}})
		}
	} else if _, ok := q["counter"]; ok {
		kinds = append(kinds, &loggregator_v2.Selector_Counter{Counter: &loggregator_v2.CounterSelector{}})
	}
	if names, ok := q["gauge.name"]; ok {
		for _, n := range names {
			var list []string
			if n != "" {
				list = strings.Split(n, ",")
			}
			kinds = append(kinds, &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{Names: list}})
		}
	} else if _, ok := q["gauge"]; ok {
		kinds = append(kinds, &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{}})
	}
	if _, ok := q["timer"]; ok {
		kinds = append(kinds, &loggregator_v2.Selector_Timer{Timer: &loggregator_v2.TimerSelector{}})
	}
	if _, ok := q["event"]; ok {
		kinds = append(kinds, &loggregator_v2.Selector_Event{Event: &loggregator_v2.EventSelector{}})
	}
	if len(kinds) == 0 {
		return nil, ErrMissingEnvelopeType
	}
	sources := q["source_id"]
	if len(sources) == 0 {
		sources = []string{""}
	}
	req := &loggregator_v2.EgressBatchRequest{
		ShardId:           q.Get("shard_id"),
		DeterministicName: q.Get("deterministic_name"),
		UsePreferredTags:  true,
		Selectors:         make([]*loggregator_v2.Selector, 0, len(sources)*len(kinds)),
	}
	for _, src := range sources {
		for _, k := range kinds {
			req.Selectors = append(req.Selectors, newSelector(src, k))
		}
	}
	return req, nil
}

// isSelectorMessage is any of the generated Selector oneof wrappers.
type isSelectorMessage interface{}

// newSelector returns a selector for src with its own copy of kind, so
// that no two selectors share a message.
func newSelector(src string, kind isSelectorMessage) *loggregator_v2.Selector {
	s := &loggregator_v2.Selector{SourceId: src}
	switch k := kind.(type) {
	case *loggregator_v2.Selector_Log:
		s.Message = &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}
	case *loggregator_v2.Selector_Counter:
		s.Message = &loggregator_v2.Selector_Counter{Counter: &loggregator_v2.CounterSelector{Name: k.Counter.GetName()}}
	case *loggregator_v2.Selector_Gauge:
		s.Message = &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{Names: append([]string(nil), k.Gauge.GetNames()...)}}
	case *loggregator_v2.Selector_Timer:
		s.Message = &loggregator_v2.Selector_Timer{Timer: &loggregator_v2.TimerSelector{}}
	case *loggregator_v2.Selector_Event:
		s.Message = &loggregator_v2.Selector_Event{Event: &loggregator_v2.EventSelector{}}
	}
	return s
}

// KindSelector returns a selector for sourceID (empty: any source) that
// takes every envelope of one kind, named as in the gateway's query: "log",
// "counter", "gauge", "timer" or "event". ok is false for any other name.
func KindSelector(sourceID, kind string) (sel *loggregator_v2.Selector, ok bool) {
	sel = &loggregator_v2.Selector{SourceId: sourceID}
	switch kind {
	case "log":
		sel.Message = &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}
	case "counter":
		sel.Message = &loggregator_v2.Selector_Counter{Counter: &loggregator_v2.CounterSelector{}}
	case "gauge":
		sel.Message = &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{}}
	case "timer":
		sel.Message = &loggregator_v2.Selector_Timer{Timer: &loggregator_v2.TimerSelector{}}
	case "event":
		sel.Message = &loggregator_v2.Selector_Event{Event: &loggregator_v2.EventSelector{}}
	default:
		return nil, false
	}
	return sel, true
}
