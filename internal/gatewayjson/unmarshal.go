package gatewayjson

import (
	"encoding/base64"
	"encoding/binary"
	"maps"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

var protoJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// Unmarshal decodes the JSON EnvelopeBatch in data into dst. It resets dst
// first. The result, and whether an error is returned, are those of
// protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, dst);
// inputs the fast scanner does not handle exactly, including every malformed
// input, are decoded by protojson itself, so errors are protojson's.
//
// The decoded batch does not alias data, but its strings and payloads share
// backing arrays of at most 8 KiB; see the package documentation.
func Unmarshal(data []byte, dst *v2.EnvelopeBatch) error {
	dst.Reset()
	d := decoderPool.Get().(*decoder)
	batch, ok := d.decode(data)
	d.release()
	decoderPool.Put(d)
	if !ok {
		return protoJSON.Unmarshal(data, dst)
	}
	dst.Batch = batch
	return nil
}

// fastPath reports whether the scanner decodes data itself (tests only).
func fastPath(data []byte) bool {
	d := new(decoder)
	_, ok := d.decode(data)
	return ok
}

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// maxSkipDepth bounds the nesting of skipped unknown values; deeper input
// goes to protojson (whose own limit is 10000).
const maxSkipDepth = 1000

// arenaChunk is the size of the shared backing arrays for strings and
// payloads; values over a quarter of it get their own allocation.
const arenaChunk = 8 << 10

type strPair struct{ k, v string }

type gaugePair struct {
	k, unit string
	value   float64
}

// decoder is a single-pass scanner over one JSON document. Every method
// reports ok=false for anything it does not handle exactly; Unmarshal then
// falls back to protojson.
type decoder struct {
	b []byte
	i int
	// strs holds the contents of decoded strings; strings are slices of
	// its String(), which the Builder never modifies. arena holds decoded
	// payloads. Both outlive a batch (the decoder is pooled): only their
	// unused tails are ever written.
	strs    strings.Builder
	scratch []byte
	envs    []*v2.Envelope
	pairs   []strPair
	// The previous envelope's tags in this batch: equal tags reuse its
	// strings and clone its map (cheaper than hashing every key). Only
	// maps made during this call are cloned, before the caller sees them.
	prevPairs []strPair
	prevTags  map[string]string
	prevSID   string
	gauges    []gaugePair
	arena     []byte
}

func (d *decoder) release() {
	clear(d.envs)
	d.envs = d.envs[:0]
	clear(d.pairs)
	d.pairs = d.pairs[:0]
	clear(d.prevPairs)
	d.prevPairs = d.prevPairs[:0]
	d.prevTags, d.prevSID = nil, ""
	clear(d.gauges)
	d.gauges = d.gauges[:0]
	d.b = nil
	if cap(d.scratch) > 64<<10 {
		d.scratch = nil
	}
}

func (d *decoder) decode(data []byte) ([]*v2.Envelope, bool) {
	d.b, d.i = data, 0
	d.prevPairs, d.prevTags, d.prevSID = d.prevPairs[:0], nil, ""
	if !d.lit('{') {
		return nil, false
	}
	var batch []*v2.Envelope
	seen := false
	for first := true; ; first = false {
		key, more, ok := d.key(first)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		if string(key) != "batch" {
			if !d.skipUnknown(key) {
				return nil, false
			}
			continue
		}
		if seen {
			return nil, false
		}
		seen = true
		if d.null() {
			continue
		}
		if batch, ok = d.envelopes(); !ok {
			return nil, false
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	return batch, true
}

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

func (d *decoder) envelope() (*v2.Envelope, bool) {
	if !d.lit('{') {
		return nil, false
	}
	var (
		ts       int64
		sid, iid string
		dtags    map[string]*v2.Value
		tags     map[string]string
		seen     uint32
		member   int // field number of the set oneof member, 0 if none
		// oneof member contents
		payload    []byte
		logType    int32
		str1, str2 string // counter/timer name; event title, body
		u1, u2     uint64 // counter delta, total
		i1, i2     int64  // timer start, stop
		metrics    map[string]*v2.GaugeValue
	)
	for first := true; ; first = false {
		key, more, ok := d.key(first)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		f := envelopeField(key)
		if f == 0 {
			if !d.skipUnknown(key) {
				return nil, false
			}
			continue
		}
		if seen&(1<<f) != 0 {
			return nil, false // duplicate field: protojson's error
		}
		seen |= 1 << f
		if d.null() {
			continue // null is the default; a null oneof member is not set
		}
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
				return nil, false // oneof already set: protojson's error
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
		if !ok {
			return nil, false
		}
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

// fields loops over the members of one sub-message object. name maps a key
// to a field number (0: unknown, skipped); value parses the non-null value
// of field f. Duplicate fields and malformed input fail.
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

// ---- lexical layer ----

func (d *decoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return
	}
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// lit consumes c after optional whitespace.
func (d *decoder) lit(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// delimited reports whether position i may end a literal or number.
func (d *decoder) delimited(i int) bool {
	if i >= len(d.b) {
		return true
	}
	switch d.b[i] {
	case ' ', '\t', '\n', '\r', ',', '}', ']':
		return true
	}
	return false
}

// null consumes a JSON null value if one is next.
func (d *decoder) null() bool {
	d.ws()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" && d.delimited(d.i+4) {
		d.i += 4
		return true
	}
	return false
}

// member advances to the next member name of an object whose '{' was
// consumed. more is false after the closing '}'.
func (d *decoder) member(first bool) (more, ok bool) {
	d.ws()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case '}':
		d.i++
		return false, true
	case ',':
		if first {
			return false, false
		}
		d.i++
	default:
		if !first {
			return false, false
		}
	}
	return true, true
}

// key reads the next member name and the ':' after it. The returned bytes
// are valid until the next string is unescaped.
func (d *decoder) key(first bool) (key []byte, more, ok bool) {
	if more, ok = d.member(first); !more || !ok {
		return nil, more, ok
	}
	start, end, esc, ok := d.str()
	if !ok {
		return nil, false, false
	}
	key = d.b[start:end]
	if esc {
		if key, ok = d.unescape(key); !ok {
			return nil, false, false
		}
	}
	if !d.lit(':') {
		return nil, false, false
	}
	return key, true, true
}

// mapKey is key returning a string for use as a map key.
func (d *decoder) mapKey(first bool) (k string, more, ok bool) {
	if more, ok = d.member(first); !more || !ok {
		return "", more, ok
	}
	if k, ok = d.stringVal(); !ok || !d.lit(':') {
		return "", false, false
	}
	return k, true, true
}

// skipUnknown skips the value of an unknown field. Names in [brackets] are
// extension names to protojson; those go to protojson.
func (d *decoder) skipUnknown(key []byte) bool {
	if len(key) >= 2 && key[0] == '[' && key[len(key)-1] == ']' {
		return false
	}
	return d.skip(0)
}

// skip validates and skips any JSON value.
func (d *decoder) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case '"':
		start, end, esc, ok := d.str()
		if ok && esc {
			_, ok = d.unescape(d.b[start:end])
		}
		return ok
	case '{':
		d.i++
		for first := true; ; first = false {
			_, more, ok := d.key(first)
			if !ok {
				return false
			}
			if !more {
				return true
			}
			if !d.skip(depth + 1) {
				return false
			}
		}
	case '[':
		d.i++
		if d.ws(); d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			if d.i >= len(d.b) {
				return false
			}
			c := d.b[d.i]
			d.i++
			if c == ']' {
				return true
			}
			if c != ',' {
				return false
			}
		}
	case 't', 'f', 'n':
		for _, w := range [...]string{"true", "false", "null"} {
			if len(d.b)-d.i >= len(w) && string(d.b[d.i:d.i+len(w)]) == w && d.delimited(d.i+len(w)) {
				d.i += len(w)
				return true
			}
		}
		return false
	default:
		_, _, _, ok := d.num()
		return ok
	}
}

// str reads a JSON string, returning the bounds of its raw contents and
// whether they contain escapes. UTF-8 and control characters are checked
// here; escapes are checked by unescape, which every caller runs when esc.
func (d *decoder) str() (start, end int, esc, ok bool) {
	d.ws()
	b := d.b
	i := d.i
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false, false
	}
	i++
	start = i
	nonASCII := false
	for {
		i = plainASCII(b, i)
		if i >= len(b) {
			return 0, 0, false, false
		}
		switch c := b[i]; {
		case c == '"':
			if nonASCII && !utf8.Valid(b[start:i]) {
				return 0, 0, false, false
			}
			d.i = i + 1
			return start, i, esc, true
		case c == '\\':
			esc = true
			i += 2
		case c < 0x20:
			return 0, 0, false, false
		default:
			nonASCII = true
			i++
		}
	}
}

// plainASCII returns the index of the first byte at or after i in b that is
// a quote, a backslash, a control character or non-ASCII (len(b) if none),
// examining eight bytes at a time.
func plainASCII(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// The lowest flagged byte is exact (borrows only flag higher bytes).
		if m := (x-lo*0x20)&^x&hi | zero(x^(lo*'"')) | zero(x^(lo*'\\')) | x&hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return i
}

// SWAR constants: lo has 0x01 in every byte, hi has 0x80.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// zero has a high bit set in some byte iff a byte of x is zero. (Also used
// as (x-lo*n)&^x&hi: nonzero iff some byte of x is below n, for n <= 0x80.)
func zero(x uint64) uint64 { return (x - lo) &^ x & hi }

// unescape decodes the escapes in raw into d.scratch, accepting exactly what
// protojson accepts (a \u surrogate must be followed by its pair).
func (d *decoder) unescape(raw []byte) ([]byte, bool) {
	out := d.scratch[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(raw) {
			return nil, false
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				return nil, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if len(raw)-i < 6 || raw[i] != '\\' || raw[i+1] != 'u' {
					return nil, false
				}
				r2, ok := hex4(raw[i+2:])
				if !ok {
					return nil, false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, false
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	d.scratch = out
	return out, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// num reads a JSON number followed by a delimiter; isInt reports that it has
// no fraction or exponent.
func (d *decoder) num() (start, end int, isInt, ok bool) {
	d.ws()
	start = d.i
	n, isInt := numLen(d.b[start:])
	if n == 0 || !d.delimited(start+n) {
		return 0, 0, false, false
	}
	d.i = start + n
	return start, d.i, isInt, true
}

// numLen returns the length of the JSON number at the start of b, 0 if none.
func numLen(b []byte) (n int, isInt bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	isInt = true
	if i+1 < len(b) && b[i] == '.' && '0' <= b[i+1] && b[i+1] <= '9' {
		isInt = false
		i += 2
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		j := i + 1
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j < len(b) && '0' <= b[j] && b[j] <= '9' {
			isInt = false
			i = j
			for i < len(b) && '0' <= b[i] && b[i] <= '9' {
				i++
			}
		}
	}
	return i, isInt
}

// intText returns the raw text of an integer given as a JSON number or a
// JSON string without escapes.
func (d *decoder) intText() ([]byte, bool) {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '"' {
		start, end, esc, ok := d.str()
		if !ok || esc {
			return nil, false
		}
		return d.b[start:end], true
	}
	start, end, isInt, ok := d.num()
	if !ok || !isInt {
		return nil, false
	}
	return d.b[start:end], true
}

// parseDigits parses -?(0|[1-9][0-9]*) into a sign and a magnitude below
// 2^64.
func parseDigits(b []byte) (neg bool, v uint64, ok bool) {
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 20 || (b[0] == '0' && len(b) > 1) {
		return false, 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' || v > math.MaxUint64/10 {
			return false, 0, false
		}
		x := v*10 + uint64(c-'0')
		if x < v*10 {
			return false, 0, false
		}
		v = x
	}
	return neg, v, true
}

func (d *decoder) int64Val() (int64, bool) {
	t, ok := d.intText()
	if !ok {
		return 0, false
	}
	neg, v, ok := parseDigits(t)
	switch {
	case !ok:
		return 0, false
	case neg && v <= 1<<63:
		return int64(-v), true
	case !neg && v < 1<<63:
		return int64(v), true
	}
	return 0, false
}

func (d *decoder) uint64Val() (uint64, bool) {
	t, ok := d.intText()
	if !ok {
		return 0, false
	}
	neg, v, ok := parseDigits(t)
	if !ok || neg {
		return 0, false
	}
	return v, true
}

func (d *decoder) float64Val() (float64, bool) {
	d.ws()
	var start, end int
	if d.i < len(d.b) && d.b[d.i] == '"' {
		s, e, esc, ok := d.str()
		if !ok || esc {
			return 0, false
		}
		switch string(d.b[s:e]) {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
		if n, _ := numLen(d.b[s:e]); n == 0 || n != e-s {
			return 0, false
		}
		start, end = s, e
	} else {
		s, e, _, ok := d.num()
		if !ok {
			return 0, false
		}
		start, end = s, e
	}
	f, err := strconv.ParseFloat(string(d.b[start:end]), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// stringVal reads a JSON string value.
func (d *decoder) stringVal() (string, bool) {
	start, end, esc, ok := d.str()
	if !ok {
		return "", false
	}
	raw := d.b[start:end]
	if esc {
		if raw, ok = d.unescape(raw); !ok {
			return "", false
		}
	}
	return d.save(raw), true
}

// stringValLike is stringVal returning like itself when the value equals
// it, saving a copy.
func (d *decoder) stringValLike(like string) (string, bool) {
	start, end, esc, ok := d.str()
	if !ok {
		return "", false
	}
	raw := d.b[start:end]
	if esc {
		if raw, ok = d.unescape(raw); !ok {
			return "", false
		}
	}
	if string(raw) == like {
		return like, true
	}
	return d.save(raw), true
}

// save returns b as a string carved from the shared string arena; strings
// longer than a quarter chunk get their own allocation.
func (d *decoder) save(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case len(b) > arenaChunk/4:
		return string(b)
	case d.strs.Cap()-d.strs.Len() < len(b):
		d.strs = strings.Builder{}
		d.strs.Grow(arenaChunk)
	}
	n := d.strs.Len()
	d.strs.Write(b)
	return d.strs.String()[n:]
}

// logTypeVal reads the Log.Type enum as a name or a number. As in protojson
// with DiscardUnknown, an unknown name (even "1") leaves the default.
func (d *decoder) logTypeVal() (int32, bool) {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '"' {
		start, end, esc, ok := d.str()
		if !ok {
			return 0, false
		}
		name := d.b[start:end]
		if esc {
			if name, ok = d.unescape(name); !ok {
				return 0, false
			}
		}
		if string(name) == "ERR" {
			return int32(v2.Log_ERR), true
		}
		return int32(v2.Log_OUT), true
	}
	t, ok := d.intText()
	if !ok {
		return 0, false
	}
	neg, v, ok := parseDigits(t)
	switch {
	case !ok:
		return 0, false
	case neg && v <= 1<<31:
		return int32(-int64(v)), true
	case !neg && v < 1<<31:
		return int32(v), true
	}
	return 0, false
}

// bytesVal decodes base64 as protojson does: URL alphabet if the text holds
// '-' or '_', unpadded if its length is not a multiple of 4. Payloads share
// backing arrays of arenaChunk bytes, each capped at its own length.
func (d *decoder) bytesVal() ([]byte, bool) {
	start, end, esc, ok := d.str()
	if !ok {
		return nil, false
	}
	src := d.b[start:end]
	if esc {
		if src, ok = d.unescape(src); !ok {
			return nil, false
		}
	}
	need := base64.RawStdEncoding.DecodedLen(len(src)) // bound for all four
	var buf []byte
	if need > arenaChunk/4 {
		buf = make([]byte, need)
	} else {
		if cap(d.arena)-len(d.arena) < need {
			d.arena = make([]byte, 0, arenaChunk)
		}
		buf = d.arena[len(d.arena) : len(d.arena)+need]
	}
	n, ok := decodeBase64(buf, src, esc)
	if !ok {
		return nil, false
	}
	if need <= arenaChunk/4 {
		d.arena = d.arena[:len(d.arena)+n]
	}
	return buf[:n:n], true
}

// decodeBase64 decodes src into buf as protojson does: the URL alphabet if
// src holds '-' or '_', unpadded if its length is not a multiple of 4.
func decodeBase64(buf, src []byte, esc bool) (int, bool) {
	std := base64.StdEncoding
	if len(src)%4 != 0 {
		std = base64.RawStdEncoding
	}
	if !esc {
		// Raw JSON strings hold no \r or \n, and '-' or '_' make the
		// standard alphabet fail, so trying it first is exact.
		if n, err := std.Decode(buf, src); err == nil {
			return n, true
		}
	}
	url := false
	for _, c := range src {
		switch c {
		case '-', '_':
			url = true
		case '\r', '\n':
			return 0, false // skipped by encoding/base64: leave to protojson
		}
	}
	enc := std
	switch {
	case url && len(src)%4 != 0:
		enc = base64.RawURLEncoding
	case url:
		enc = base64.URLEncoding
	}
	n, err := enc.Decode(buf, src)
	return n, err == nil
}
