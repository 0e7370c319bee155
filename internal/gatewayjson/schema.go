// This file owns the envelope schema: the batch object, the Envelope's
// fields and which field goes where, the one-allocation envelope layouts,
// and fields, the member loop every message object shares (duplicate,
// null and unknown-field rules). The messages inside an envelope are in
// schema_messages.go.

package gatewayjson

import (
	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// decode scans one EnvelopeBatch object: its batch field, unknown fields
// skipped, nothing after it but whitespace.
func (d *decoder) decode(data []byte) ([]*v2.Envelope, bool) {
	d.b, d.i = data, 0
	d.prevPairs, d.prevTags, d.prevSID = d.prevPairs[:0], nil, ""
	var batch []*v2.Envelope
	ok := d.fields(batchField, func(int) (ok bool) {
		batch, ok = d.envelopes()
		return ok
	})
	if d.ws(); !ok || d.i != len(d.b) {
		return nil, false
	}
	return batch, true
}

func batchField(k []byte) int {
	if string(k) == "batch" {
		return 1
	}
	return 0
}

// fields loops over the members of one message object, the one loop every
// message shares. name maps a key to a field number (0: unknown, skipped);
// value parses the non-null value of field f (null is the default; a null
// oneof member is not set). Duplicate fields (protojson's error) and
// malformed input fail.
func (d *decoder) fields(name func([]byte) int, value func(f int) bool) bool {
	if !d.lit('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, more, ok := d.key(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		f := name(key)
		if f == 0 {
			if !d.skipUnknown(key) {
				return false
			}
			continue
		}
		if seen&(1<<f) != 0 {
			return false
		}
		seen |= 1 << f
		if d.null() {
			continue
		}
		if !value(f) {
			return false
		}
	}
}

// envelopes reads the batch array; [] gives an empty non-nil slice.
func (d *decoder) envelopes() ([]*v2.Envelope, bool) {
	if !d.lit('[') {
		return nil, false
	}
	d.envs = d.envs[:0]
	if d.ws(); d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return []*v2.Envelope{}, true
	}
	for {
		e, ok := d.envelope()
		if !ok {
			return nil, false
		}
		d.envs = append(d.envs, e)
		d.ws()
		if d.i >= len(d.b) {
			return nil, false
		}
		c := d.b[d.i]
		d.i++
		if c == ']' {
			break
		}
		if c != ',' {
			return nil, false
		}
	}
	out := make([]*v2.Envelope, len(d.envs))
	copy(out, d.envs)
	return out, true
}

// Envelope field numbers.
const (
	fTimestamp      = 1
	fSourceID       = 2
	fDeprecatedTags = 3
	fLog            = 4
	fCounter        = 5
	fGauge          = 6
	fTimer          = 7
	fInstanceID     = 8
	fTags           = 9
	fEvent          = 10
)

// envelopeField maps a JSON name to a field number. The JSON names equal
// the proto names for Envelope, so both spellings protojson accepts match.
func envelopeField(key []byte) int {
	switch string(key) {
	case "timestamp":
		return fTimestamp
	case "source_id":
		return fSourceID
	case "instance_id":
		return fInstanceID
	case "deprecated_tags":
		return fDeprecatedTags
	case "tags":
		return fTags
	case "log":
		return fLog
	case "counter":
		return fCounter
	case "gauge":
		return fGauge
	case "timer":
		return fTimer
	case "event":
		return fEvent
	}
	return 0
}

// One allocation per envelope: the envelope, its oneof wrapper and its
// message live in one struct.
type logEnvelope struct {
	e v2.Envelope
	w v2.Envelope_Log
	m v2.Log
}

type counterEnvelope struct {
	e v2.Envelope
	w v2.Envelope_Counter
	m v2.Counter
}

type gaugeEnvelope struct {
	e v2.Envelope
	w v2.Envelope_Gauge
	m v2.Gauge
}

type timerEnvelope struct {
	e v2.Envelope
	w v2.Envelope_Timer
	m v2.Timer
}

type eventEnvelope struct {
	e v2.Envelope
	w v2.Envelope_Event
	m v2.Event
}

// envelope reads one Envelope object: each field parsed by its value
// parser, at most one oneof member set, then one allocation for the
// envelope with its member.
func (d *decoder) envelope() (*v2.Envelope, bool) {
	var (
		ts       int64
		sid, iid string
		dtags    map[string]*v2.Value
		tags     map[string]string
		member   int // field number of the set oneof member, 0 if none
		// oneof member contents
		payload    []byte
		logType    int32
		str1, str2 string // counter/timer name; event title, body
		u1, u2     uint64 // counter delta, total
		i1, i2     int64  // timer start, stop
		metrics    map[string]*v2.GaugeValue
	)
	ok := d.fields(envelopeField, func(f int) (ok bool) {
		switch f {
		case fTimestamp:
			ts, ok = d.int64Val()
		case fSourceID:
			sid, ok = d.stringValLike(d.prevSID)
			d.prevSID = sid
		case fInstanceID:
			iid, ok = d.stringVal()
		case fDeprecatedTags:
			dtags, ok = d.deprecatedTags()
		case fTags:
			tags, ok = d.tags()
		default:
			if member != 0 {
				return false // oneof already set: protojson's error
			}
			member = f
			switch f {
			case fLog:
				payload, logType, ok = d.log()
			case fCounter:
				str1, u1, u2, ok = d.counter()
			case fGauge:
				metrics, ok = d.gauge()
			case fTimer:
				str1, i1, i2, ok = d.timer()
			case fEvent:
				str1, str2, ok = d.event()
			}
		}
		return ok
	})
	if !ok {
		return nil, false
	}
	var e *v2.Envelope
	switch member {
	case fLog:
		p := new(logEnvelope)
		p.m.Payload, p.m.Type = payload, v2.Log_Type(logType)
		p.w.Log = &p.m
		p.e.Message = &p.w
		e = &p.e
	case fCounter:
		p := new(counterEnvelope)
		p.m.Name, p.m.Delta, p.m.Total = str1, u1, u2
		p.w.Counter = &p.m
		p.e.Message = &p.w
		e = &p.e
	case fGauge:
		p := new(gaugeEnvelope)
		p.m.Metrics = metrics
		p.w.Gauge = &p.m
		p.e.Message = &p.w
		e = &p.e
	case fTimer:
		p := new(timerEnvelope)
		p.m.Name, p.m.Start, p.m.Stop = str1, i1, i2
		p.w.Timer = &p.m
		p.e.Message = &p.w
		e = &p.e
	case fEvent:
		p := new(eventEnvelope)
		p.m.Title, p.m.Body = str1, str2
		p.w.Event = &p.m
		p.e.Message = &p.w
		e = &p.e
	default:
		e = new(v2.Envelope)
	}
	e.Timestamp, e.SourceId, e.InstanceId, e.DeprecatedTags, e.Tags = ts, sid, iid, dtags, tags
	return e, true
}
