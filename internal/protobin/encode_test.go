package protobin_test

import (
	"bytes"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"code.cloudfoundry.org/go-loggregator/internal/protobin"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// gen builds envelopes from a byte string, so that the fuzzer can explore
// every field and payload kind.
type gen struct{ b []byte }

func (g *gen) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *gen) u64() uint64 {
	var v uint64
	for i := 0; i < 8; i++ {
		v = v<<8 | uint64(g.byte())
	}
	// Favour small and zero values now and then.
	switch g.byte() % 4 {
	case 0:
		return 0
	case 1:
		return v & 0x7f
	}
	return v
}

func (g *gen) str() string {
	n := int(g.byte() % 12)
	if n > len(g.b) {
		n = len(g.b)
	}
	s := string(g.b[:n])
	g.b = g.b[n:]
	return s
}

func (g *gen) float() float64 {
	switch g.byte() % 6 {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return math.Inf(1)
	case 3:
		return math.NaN()
	}
	return math.Float64frombits(g.u64())
}

func (g *gen) envelope() *loggregator_v2.Envelope {
	e := &loggregator_v2.Envelope{
		Timestamp:  int64(g.u64()),
		SourceId:   g.str(),
		InstanceId: g.str(),
	}
	if n := int(g.byte() % 4); n > 0 {
		e.Tags = map[string]string{}
		for i := 0; i < n; i++ {
			e.Tags[g.str()] = g.str()
		}
	}
	if n := int(g.byte() % 4); n > 0 {
		e.DeprecatedTags = map[string]*loggregator_v2.Value{}
		for i := 0; i < n; i++ {
			v := &loggregator_v2.Value{}
			switch g.byte() % 4 {
			case 1:
				v.Data = &loggregator_v2.Value_Text{Text: g.str()}
			case 2:
				v.Data = &loggregator_v2.Value_Integer{Integer: int64(g.u64())}
			case 3:
				v.Data = &loggregator_v2.Value_Decimal{Decimal: g.float()}
			}
			e.DeprecatedTags[g.str()] = v
		}
	}
	switch g.byte() % 6 {
	case 1:
		l := &loggregator_v2.Log{Type: loggregator_v2.Log_Type(g.byte() % 3)}
		if g.byte()%2 == 1 {
			l.Payload = []byte(g.str())
		}
		e.Message = &loggregator_v2.Envelope_Log{Log: l}
	case 2:
		e.Message = &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: g.str(), Delta: g.u64(), Total: g.u64()}}
	case 3:
		gauge := &loggregator_v2.Gauge{}
		if n := int(g.byte() % 4); n > 0 {
			gauge.Metrics = map[string]*loggregator_v2.GaugeValue{}
			for i := 0; i < n; i++ {
				gauge.Metrics[g.str()] = &loggregator_v2.GaugeValue{Unit: g.str(), Value: g.float()}
			}
		}
		e.Message = &loggregator_v2.Envelope_Gauge{Gauge: gauge}
	case 4:
		e.Message = &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: g.str(), Start: int64(g.u64()), Stop: int64(g.u64())}}
	case 5:
		e.Message = &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: g.str(), Body: g.str()}}
	}
	return e
}

// roundTrip returns what a protobuf decoder makes of e as proto.Marshal
// writes it; ok is false when proto.Marshal refuses e.
func roundTrip(t *testing.T, e *loggregator_v2.Envelope) (*loggregator_v2.Envelope, bool) {
	t.Helper()
	b, err := proto.Marshal(e)
	if err != nil {
		return nil, false
	}
	var want loggregator_v2.Envelope
	if err := proto.Unmarshal(b, &want); err != nil {
		t.Fatalf("proto round trip: %v", err)
	}
	return &want, true
}

func checkEquivalent(t *testing.T, e *loggregator_v2.Envelope) {
	t.Helper()
	want, ok := roundTrip(t, e)
	got, err := protobin.AppendEnvelope([]byte("prefix"), e)
	if !ok {
		if err == nil {
			t.Fatalf("proto.Marshal refused %v, encoder accepted it", e)
		}
		if string(got) != "prefix" {
			t.Fatalf("buffer changed on error: %q", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("AppendEnvelope(%v): %v", e, err)
	}
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("prefix lost")
	}
	body := got[len("prefix"):]
	if n, _ := protobin.EncodedSize(e); n != len(body) {
		t.Fatalf("Size = %d, wrote %d bytes", n, len(body))
	}
	var dec loggregator_v2.Envelope
	if err := proto.Unmarshal(body, &dec); err != nil {
		t.Fatalf("decoding our bytes: %v", err)
	}
	if !proto.Equal(&dec, want) {
		t.Fatalf("decoded\n %v\nwant\n %v", &dec, want)
	}

	// Two batch entries make an EnvelopeBatch of two equal envelopes.
	var batch []byte
	for i := 0; i < 2; i++ {
		if batch, err = protobin.AppendBatchEntry(batch, e); err != nil {
			t.Fatalf("AppendBatchEntry: %v", err)
		}
	}
	if n, err := protobin.CountBatchEntries(batch); err != nil || n != 2 {
		t.Fatalf("CountBatchEntries = %d, %v; want 2", n, err)
	}
	var eb loggregator_v2.EnvelopeBatch
	if err := proto.Unmarshal(batch, &eb); err != nil {
		t.Fatalf("decoding batch: %v", err)
	}
	if len(eb.Batch) != 2 || !proto.Equal(eb.Batch[0], want) || !proto.Equal(eb.Batch[1], want) {
		t.Fatalf("batch decoded to %v", &eb)
	}
}

func TestEncoderMatchesProto(t *testing.T) {
	cases := []struct {
		name string
		env  *loggregator_v2.Envelope
	}{
		{"empty", &loggregator_v2.Envelope{}},
		{"negative timestamp", &loggregator_v2.Envelope{Timestamp: -1}},
		{"empty log", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{}}}},
		{"log", &loggregator_v2.Envelope{Timestamp: 1, SourceId: "s", InstanceId: "i", Tags: map[string]string{"a": "b", "": ""},
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: bytes.Repeat([]byte("x"), 300), Type: loggregator_v2.Log_ERR}}}},
		{"unknown log type", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Type: -5}}}},
		{"empty counter", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{}}}},
		{"counter", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "c", Delta: math.MaxUint64, Total: 300}}}},
		{"empty gauge", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{}}}},
		{"gauge", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
			"cpu": {Unit: "percent", Value: 3}, "zero": {}, "neg0": {Value: math.Copysign(0, -1)}, "inf": {Value: math.Inf(-1)}}}}}},
		{"empty timer", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{}}}},
		{"timer", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "t", Start: -7, Stop: 1 << 62}}}},
		{"empty event", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{}}}},
		{"event", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "ü", Body: "b"}}}},
		{"deprecated tags", &loggregator_v2.Envelope{DeprecatedTags: map[string]*loggregator_v2.Value{
			"t": {Data: &loggregator_v2.Value_Text{}}, "i": {Data: &loggregator_v2.Value_Integer{}}, "d": {Data: &loggregator_v2.Value_Decimal{}},
			"n": {}, "i2": {Data: &loggregator_v2.Value_Integer{Integer: -3}}, "d2": {Data: &loggregator_v2.Value_Decimal{Decimal: 1.5}}}}},
		{"invalid utf-8 tag", &loggregator_v2.Envelope{Tags: map[string]string{"k": "\xff"}}},
		{"invalid utf-8 counter name", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "\xc3"}}}},
		{"invalid utf-8 payload is fine", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte{0xff}}}}},
		{"invalid utf-8 gauge unit", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{"k": {Unit: "\xff"}}}}}},
		{"invalid utf-8 deprecated text", &loggregator_v2.Envelope{DeprecatedTags: map[string]*loggregator_v2.Value{"k": {Data: &loggregator_v2.Value_Text{Text: "\xff"}}}}},
		{"nil log", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Log{}}},
		{"nil counter", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{}}},
		{"nil gauge", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{}}},
		{"nil timer", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Timer{}}},
		{"nil event", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Event{}}},
		{"nil deprecated value", &loggregator_v2.Envelope{DeprecatedTags: map[string]*loggregator_v2.Value{"k": nil}}},
		{"nil gauge value", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{"k": nil}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkEquivalent(t, tc.env) })
	}
}

func TestUnknownFieldsKept(t *testing.T) {
	// An envelope decoded from bytes with a field this schema lacks (99).
	src := []byte{0x08, 0x05, 0x98, 0x06, 0x01}
	var e loggregator_v2.Envelope
	if err := proto.Unmarshal(src, &e); err != nil {
		t.Fatal(err)
	}
	checkEquivalent(t, &e)
}

// TestNestedUnknownFieldsKept gives every message of the schema a field
// it lacks (99) and checks that the encoder keeps each one.
func TestNestedUnknownFieldsKept(t *testing.T) {
	unknown := protoreflect.RawFields{0x98, 0x06, 0x01} // field 99, varint 1
	with := func(m proto.Message) proto.Message {
		m.ProtoReflect().SetUnknown(unknown)
		return m
	}
	cases := []struct {
		name string
		env  *loggregator_v2.Envelope
	}{
		{"log", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Log{Log: with(&loggregator_v2.Log{Payload: []byte("p")}).(*loggregator_v2.Log)}}},
		{"counter", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{Counter: with(&loggregator_v2.Counter{Name: "c"}).(*loggregator_v2.Counter)}}},
		{"gauge", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{Gauge: with(&loggregator_v2.Gauge{}).(*loggregator_v2.Gauge)}}},
		{"gauge value", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
			"k": with(&loggregator_v2.GaugeValue{Unit: "u", Value: 1}).(*loggregator_v2.GaugeValue)}}}}},
		{"timer", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Timer{Timer: with(&loggregator_v2.Timer{Start: 1}).(*loggregator_v2.Timer)}}},
		{"event", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Event{Event: with(&loggregator_v2.Event{Title: "t"}).(*loggregator_v2.Event)}}},
		{"value", &loggregator_v2.Envelope{DeprecatedTags: map[string]*loggregator_v2.Value{
			"k": with(&loggregator_v2.Value{Data: &loggregator_v2.Value_Integer{Integer: 2}}).(*loggregator_v2.Value)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := protobin.AppendEnvelope(nil, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, unknown) {
				t.Fatalf("encoding % x lost the unknown field", b)
			}
			checkEquivalent(t, tc.env)
		})
	}
}

func TestNilEnvelope(t *testing.T) {
	if _, err := protobin.AppendBatchEntry(nil, nil); err != protobin.ErrNilEnvelope {
		t.Fatalf("err = %v, want ErrNilEnvelope", err)
	}
}

func TestCountBatchEntriesMalformed(t *testing.T) {
	for _, b := range [][]byte{{0x0a}, {0x0a, 0x05, 0x00}, {0x0b}, {0x09, 0x00}, {0xff}} {
		if _, err := protobin.CountBatchEntries(b); err == nil {
			t.Errorf("CountBatchEntries(% x): no error", b)
		}
	}
}

func FuzzEncoderMatchesProto(f *testing.F) {
	f.Add([]byte("seed"))
	f.Add([]byte{0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	for i := 0; i < 6; i++ {
		f.Add(bytes.Repeat([]byte{byte(i), 3, 0x41, 0xc3, 0xa9, 7}, 12))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkEquivalent(t, (&gen{b: data}).envelope())
	})
}

func BenchmarkAppendBatchEntryLog(b *testing.B) {
	e := &loggregator_v2.Envelope{
		Timestamp: 1700000000000000000, SourceId: "app-guid-1234", InstanceId: "3",
		Tags:    map[string]string{"source_type": "APP/PROC/WEB", "deployment": "cf"},
		Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("a log line of moderate length for the benchmark"), Type: loggregator_v2.Log_ERR}},
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf, _ = protobin.AppendBatchEntry(buf[:0], e)
		}
	})
	b.Run("proto.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = proto.Marshal(e)
		}
	})
}
