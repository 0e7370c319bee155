// This file owns the schema of the messages inside an envelope: Log,
// Counter, Gauge, Timer, Event, the tags and deprecated_tags maps and
// Value.

package gatewayjson

import (
	"maps"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func logField(k []byte) int {
	switch string(k) {
	case "payload":
		return 1
	case "type":
		return 2
	}
	return 0
}

func (d *decoder) log() (payload []byte, typ int32, ok bool) {
	ok = d.fields(logField, func(f int) (ok bool) {
		if f == 1 {
			payload, ok = d.bytesVal()
		} else {
			typ, ok = d.logTypeVal()
		}
		return ok
	})
	return payload, typ, ok
}

func counterField(k []byte) int {
	switch string(k) {
	case "name":
		return 1
	case "delta":
		return 2
	case "total":
		return 3
	}
	return 0
}

func (d *decoder) counter() (name string, delta, total uint64, ok bool) {
	ok = d.fields(counterField, func(f int) (ok bool) {
		switch f {
		case 1:
			name, ok = d.stringVal()
		case 2:
			delta, ok = d.uint64Val()
		default:
			total, ok = d.uint64Val()
		}
		return ok
	})
	return name, delta, total, ok
}

func timerField(k []byte) int {
	switch string(k) {
	case "name":
		return 1
	case "start":
		return 2
	case "stop":
		return 3
	}
	return 0
}

func (d *decoder) timer() (name string, start, stop int64, ok bool) {
	ok = d.fields(timerField, func(f int) (ok bool) {
		switch f {
		case 1:
			name, ok = d.stringVal()
		case 2:
			start, ok = d.int64Val()
		default:
			stop, ok = d.int64Val()
		}
		return ok
	})
	return name, start, stop, ok
}

func eventField(k []byte) int {
	switch string(k) {
	case "title":
		return 1
	case "body":
		return 2
	}
	return 0
}

func (d *decoder) event() (title, body string, ok bool) {
	ok = d.fields(eventField, func(f int) (ok bool) {
		if f == 1 {
			title, ok = d.stringVal()
		} else {
			body, ok = d.stringVal()
		}
		return ok
	})
	return title, body, ok
}

func gaugeField(k []byte) int {
	if string(k) == "metrics" {
		return 1
	}
	return 0
}

func (d *decoder) gauge() (metrics map[string]*v2.GaugeValue, ok bool) {
	ok = d.fields(gaugeField, func(int) (ok bool) {
		metrics, ok = d.gaugeMetrics()
		return ok
	})
	return metrics, ok
}

func gaugeValueField(k []byte) int {
	switch string(k) {
	case "unit":
		return 1
	case "value":
		return 2
	}
	return 0
}

// gaugeMetrics reads the metrics map. The GaugeValues of one gauge share a
// single backing array.
func (d *decoder) gaugeMetrics() (map[string]*v2.GaugeValue, bool) {
	if !d.lit('{') {
		return nil, false
	}
	d.gauges = d.gauges[:0]
	for first := true; ; first = false {
		k, more, ok := d.mapKey(first)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		p := gaugePair{k: k}
		ok = d.fields(gaugeValueField, func(f int) (ok bool) {
			if f == 1 {
				p.unit, ok = d.stringVal()
			} else {
				p.value, ok = d.float64Val()
			}
			return ok
		})
		if !ok {
			return nil, false // including a null value, as in protojson
		}
		d.gauges = append(d.gauges, p)
	}
	m := make(map[string]*v2.GaugeValue, len(d.gauges))
	if len(d.gauges) == 0 {
		return m, true
	}
	vals := make([]v2.GaugeValue, len(d.gauges))
	for i, p := range d.gauges {
		vals[i].Unit, vals[i].Value = p.unit, p.value
		m[p.k] = &vals[i]
	}
	if len(m) != len(d.gauges) {
		return nil, false // duplicate key: protojson's error
	}
	return m, true
}

func (d *decoder) tags() (map[string]string, bool) {
	if !d.lit('{') {
		return nil, false
	}
	d.pairs = d.pairs[:0]
	same := d.prevTags != nil
	for first := true; ; first = false {
		var likeK, likeV string
		if n := len(d.pairs); n < len(d.prevPairs) {
			likeK, likeV = d.prevPairs[n].k, d.prevPairs[n].v
		}
		more, ok := d.member(first)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		k, ok := d.stringValLike(likeK)
		if !ok || !d.lit(':') {
			return nil, false
		}
		v, ok := d.stringValLike(likeV) // a null value fails too, as in protojson
		if !ok {
			return nil, false
		}
		same = same && len(d.pairs) < len(d.prevPairs) && k == likeK && v == likeV
		d.pairs = append(d.pairs, strPair{k, v})
	}
	var m map[string]string
	if same && len(d.pairs) == len(d.prevPairs) {
		m = maps.Clone(d.prevTags)
	} else {
		m = make(map[string]string, len(d.pairs))
		for _, p := range d.pairs {
			m[p.k] = p.v
		}
		if len(m) != len(d.pairs) {
			return nil, false // duplicate key: protojson's error
		}
	}
	d.pairs, d.prevPairs = d.prevPairs, d.pairs
	d.prevTags = m
	return m, true
}

type textValue struct {
	v v2.Value
	w v2.Value_Text
}

type integerValue struct {
	v v2.Value
	w v2.Value_Integer
}

type decimalValue struct {
	v v2.Value
	w v2.Value_Decimal
}

func valueField(k []byte) int {
	switch string(k) {
	case "text":
		return 1
	case "integer":
		return 2
	case "decimal":
		return 3
	}
	return 0
}

func (d *decoder) deprecatedTags() (map[string]*v2.Value, bool) {
	if !d.lit('{') {
		return nil, false
	}
	m := make(map[string]*v2.Value)
	for first := true; ; first = false {
		k, more, ok := d.mapKey(first)
		if !ok {
			return nil, false
		}
		if !more {
			return m, true
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		var v *v2.Value
		ok = d.fields(valueField, func(f int) bool {
			if v != nil {
				return false // oneof already set
			}
			switch f {
			case 1:
				s, ok := d.stringVal()
				p := &textValue{}
				p.w.Text = s
				p.v.Data = &p.w
				v = &p.v
				return ok
			case 2:
				n, ok := d.int64Val()
				p := &integerValue{}
				p.w.Integer = n
				p.v.Data = &p.w
				v = &p.v
				return ok
			default:
				x, ok := d.float64Val()
				p := &decimalValue{}
				p.w.Decimal = x
				p.v.Data = &p.w
				v = &p.v
				return ok
			}
		})
		if !ok {
			return nil, false
		}
		if v == nil {
			v = new(v2.Value)
		}
		m[k] = v
	}
}
