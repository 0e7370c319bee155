package protobin

import (
	"fmt"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// sampleEnvelopes covers every field and payload kind.
func sampleEnvelopes() []*v2.Envelope {
	return []*v2.Envelope{
		{},
		{Timestamp: -5, SourceId: "app", InstanceId: "3", Tags: map[string]string{"a": "b", "": "", "ü": "a&b=c d/ü"},
			Message: &v2.Envelope_Log{Log: &v2.Log{Payload: []byte("hello\x00\xff"), Type: v2.Log_ERR}}},
		{Message: &v2.Envelope_Log{Log: &v2.Log{}}},
		{Message: &v2.Envelope_Log{Log: &v2.Log{Type: v2.Log_Type(-7)}}},
		{Timestamp: math.MaxInt64, Message: &v2.Envelope_Counter{Counter: &v2.Counter{Name: "c", Delta: math.MaxUint64, Total: 9}}},
		{Message: &v2.Envelope_Gauge{Gauge: &v2.Gauge{Metrics: map[string]*v2.GaugeValue{
			"cpu": {Unit: "percent", Value: 3.5}, "nan": {Value: math.NaN()}, "empty": {}, "": {Unit: "x"}}}}},
		{Message: &v2.Envelope_Gauge{Gauge: &v2.Gauge{}}},
		{Message: &v2.Envelope_Timer{Timer: &v2.Timer{Name: "t", Start: -1, Stop: 1 << 62}}},
		{Message: &v2.Envelope_Event{Event: &v2.Event{Title: "title", Body: "body"}}},
		{SourceId: "deprecated", DeprecatedTags: map[string]*v2.Value{
			"text": {Data: &v2.Value_Text{Text: "t"}}, "int": {Data: &v2.Value_Integer{Integer: -3}},
			"dec": {Data: &v2.Value_Decimal{Decimal: 2.5}}, "none": {}, "empty": {Data: &v2.Value_Text{}},
			"t2": {Data: &v2.Value_Text{Text: "u"}}}},
	}
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// raw builds wire bytes by hand for cases proto.Marshal never produces.
func field(num protowire.Number, typ protowire.Type, payload []byte) []byte {
	b := protowire.AppendTag(nil, num, typ)
	switch typ {
	case protowire.BytesType:
		return protowire.AppendBytes(b, payload)
	default:
		return append(b, payload...)
	}
}

func varint(v uint64) []byte { return protowire.AppendVarint(nil, v) }

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestBatchMatchesProto(t *testing.T) {
	envs := sampleEnvelopes()
	all := marshal(t, &v2.EnvelopeBatch{Batch: envs})
	log := func(b []byte) []byte { return field(1, protowire.BytesType, field(4, protowire.BytesType, b)) }
	tests := []struct {
		name string
		data []byte
		fast bool // the hand-written path must handle it
	}{
		{"empty batch", nil, true},
		{"all samples", all, true},
		{"zero-length envelope", field(1, protowire.BytesType, nil), true},
		{"repeated scalar, last wins", field(1, protowire.BytesType, cat(field(2, protowire.BytesType, []byte("a")), field(2, protowire.BytesType, []byte("b")))), true},
		{"duplicate tag key, last wins", field(1, protowire.BytesType, cat(
			field(9, protowire.BytesType, cat(field(1, protowire.BytesType, []byte("k")), field(2, protowire.BytesType, []byte("1")))),
			field(9, protowire.BytesType, cat(field(1, protowire.BytesType, []byte("k")), field(2, protowire.BytesType, []byte("2")))))), true},
		{"enum overflow truncates", log(field(2, protowire.VarintType, varint(1<<40|3))), true},
		{"value oneof, last member wins", field(1, protowire.BytesType, field(3, protowire.BytesType, cat(
			field(1, protowire.BytesType, []byte("k")),
			field(2, protowire.BytesType, cat(field(1, protowire.BytesType, []byte("t")), field(2, protowire.VarintType, varint(4))))))), true},
		{"two oneof members fall back", field(1, protowire.BytesType, cat(field(4, protowire.BytesType, nil), field(5, protowire.BytesType, nil))), false},
		{"log twice merges (fallback)", field(1, protowire.BytesType, cat(
			field(4, protowire.BytesType, field(1, protowire.BytesType, []byte("p"))),
			field(4, protowire.BytesType, field(2, protowire.VarintType, varint(1))))), false},
		{"unknown envelope field", field(1, protowire.BytesType, field(99, protowire.VarintType, varint(1))), false},
		{"unknown batch field", field(2, protowire.VarintType, varint(1)), false},
		{"wrong wire type", field(1, protowire.BytesType, field(1, protowire.BytesType, []byte("x"))), false},
		{"invalid utf-8 source id", field(1, protowire.BytesType, field(2, protowire.BytesType, []byte{0xff})), false},
		{"invalid utf-8 tag key", field(1, protowire.BytesType, field(9, protowire.BytesType, field(1, protowire.BytesType, []byte{0xc3}))), false},
		{"truncated", all[:len(all)-1], false},
		{"bad length", []byte{0x0a, 0x05, 0x01}, false},
		{"group", field(1, protowire.StartGroupType, nil), false},
		{"field zero", []byte{0x00, 0x00}, false},
		{"field number too large", field(1, protowire.BytesType, protowire.AppendTag(nil, protowire.MaxValidNumber+1, protowire.VarintType)), false},
		{"truncated varint value", field(1, protowire.BytesType, []byte{0x08, 0x80}), false},
		{"truncated fixed64 value", field(1, protowire.BytesType, field(3, protowire.BytesType, field(2, protowire.BytesType, []byte{0x19, 0x01}))), false},
		{"truncated nested length", field(1, protowire.BytesType, []byte{0x12, 0x05, 'a'}), false},
		{"invalid utf-8 instance id", field(1, protowire.BytesType, field(8, protowire.BytesType, []byte{0xff})), false},
		{"invalid utf-8 tag value", field(1, protowire.BytesType, field(9, protowire.BytesType, field(2, protowire.BytesType, []byte{0xff}))), false},
		{"tag key twice", field(1, protowire.BytesType, field(9, protowire.BytesType, cat(field(1, protowire.BytesType, []byte("a")), field(1, protowire.BytesType, []byte("b"))))), false},
		{"tag value twice", field(1, protowire.BytesType, field(9, protowire.BytesType, cat(field(2, protowire.BytesType, []byte("a")), field(2, protowire.BytesType, []byte("b"))))), false},
		{"tag entry unknown field", field(1, protowire.BytesType, field(9, protowire.BytesType, field(3, protowire.BytesType, nil))), false},
		{"tag entry varint key", field(1, protowire.BytesType, field(9, protowire.BytesType, field(1, protowire.VarintType, varint(1)))), false},
		{"deprecated entry key only", field(1, protowire.BytesType, field(3, protowire.BytesType, field(1, protowire.BytesType, []byte("k")))), true},
		{"deprecated entry value twice", field(1, protowire.BytesType, field(3, protowire.BytesType, cat(field(2, protowire.BytesType, nil), field(2, protowire.BytesType, nil)))), false},
		{"deprecated value invalid utf-8", field(1, protowire.BytesType, field(3, protowire.BytesType, field(2, protowire.BytesType, field(1, protowire.BytesType, []byte{0xff})))), false},
		{"deprecated value wrong wire type", field(1, protowire.BytesType, field(3, protowire.BytesType, field(2, protowire.BytesType, field(2, protowire.Fixed64Type, make([]byte, 8))))), false},
		{"gauge metric not an entry", field(1, protowire.BytesType, field(6, protowire.BytesType, field(2, protowire.BytesType, nil))), false},
		{"gauge entry key twice", field(1, protowire.BytesType, field(6, protowire.BytesType, field(1, protowire.BytesType, cat(field(1, protowire.BytesType, []byte("a")), field(1, protowire.BytesType, []byte("b")))))), false},
		{"gauge entry value only", field(1, protowire.BytesType, field(6, protowire.BytesType, field(1, protowire.BytesType, field(2, protowire.BytesType, field(2, protowire.Fixed64Type, make([]byte, 8)))))), true},
		{"gauge value invalid utf-8 unit", field(1, protowire.BytesType, field(6, protowire.BytesType, field(1, protowire.BytesType, field(2, protowire.BytesType, field(1, protowire.BytesType, []byte{0xff}))))), false},
		{"gauge value unknown field", field(1, protowire.BytesType, field(6, protowire.BytesType, field(1, protowire.BytesType, field(2, protowire.BytesType, field(3, protowire.VarintType, varint(1)))))), false},
		{"counter wrong wire type", field(1, protowire.BytesType, field(5, protowire.BytesType, field(2, protowire.BytesType, nil))), false},
		{"counter name invalid utf-8", field(1, protowire.BytesType, field(5, protowire.BytesType, field(1, protowire.BytesType, []byte{0xff}))), false},
		{"timer unknown field", field(1, protowire.BytesType, field(7, protowire.BytesType, field(4, protowire.VarintType, varint(1)))), false},
		{"event varint field", field(1, protowire.BytesType, field(10, protowire.BytesType, field(1, protowire.VarintType, varint(1)))), false},
		{"event unknown string field", field(1, protowire.BytesType, field(10, protowire.BytesType, field(3, protowire.BytesType, nil))), false},
		{"log unknown field", log(field(3, protowire.VarintType, varint(1))), false},
		{"log empty payload", log(field(1, protowire.BytesType, nil)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fastBatch(tt.data, new(v2.EnvelopeBatch)); got != tt.fast {
				t.Errorf("fast path taken = %v, want %v", got, tt.fast)
			}
			compare(t, tt.data)
		})
	}
}

// compare checks Batch against proto.Unmarshal on data.
func compare(t *testing.T, data []byte) {
	t.Helper()
	want := new(v2.EnvelopeBatch)
	wantErr := proto.Unmarshal(data, want)
	got := &v2.EnvelopeBatch{Batch: []*v2.Envelope{{SourceId: "stale"}}}
	gotErr := Batch(data, got)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("Batch error %v, proto.Unmarshal error %v", gotErr, wantErr)
	}
	if wantErr == nil && !proto.Equal(got, want) {
		t.Fatalf("Batch decoded\n%v\nproto.Unmarshal decoded\n%v", got, want)
	}
	// CountBatchEntries reads only the top level: whatever proto.Unmarshal
	// accepts, it counts exactly.
	if n, err := CountBatchEntries(data); wantErr == nil && (err != nil || n != len(want.Batch)) {
		t.Fatalf("CountBatchEntries = %d, %v; proto.Unmarshal decoded %d envelopes", n, err, len(want.Batch))
	}
}

func TestBatchDoesNotAliasInput(t *testing.T) {
	data := marshal(t, &v2.EnvelopeBatch{Batch: sampleEnvelopes()})
	got := new(v2.EnvelopeBatch)
	if err := Batch(data, got); err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(got)
	for i := range data {
		data[i] = 0xAA
	}
	if !proto.Equal(got, want) {
		t.Fatal("decoded envelopes changed with the input buffer")
	}
}

func FuzzBatch(f *testing.F) {
	f.Add(marshal(f, &v2.EnvelopeBatch{Batch: sampleEnvelopes()}))
	for _, e := range sampleEnvelopes() {
		f.Add(marshal(f, &v2.EnvelopeBatch{Batch: []*v2.Envelope{e}}))
		f.Add(marshal(f, e)) // an envelope read as a batch: mostly wrong types
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x22, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		compare(t, data)
	})
}

func BenchmarkDecode(b *testing.B) {
	envs := make([]*v2.Envelope, 100)
	for i := range envs {
		envs[i] = &v2.Envelope{
			Timestamp: int64(i), SourceId: "5b6a2c1e-2f0e-4a55-9d1c-0f7c1a3e9b42", InstanceId: "1",
			Tags:    map[string]string{"source_type": "APP/PROC/WEB", "origin": "rep", "deployment": "cf", "job": "diego-cell", "index": "0c3a4e6e", "ip": "10.0.16.23"},
			Message: &v2.Envelope_Log{Log: &v2.Log{Payload: []byte(fmt.Sprintf("GET /v2/items/%d HTTP/1.1 200 512", i))}},
		}
	}
	data := marshal(b, &v2.EnvelopeBatch{Batch: envs})
	// The names keep the former package's "decode." so that benchmark
	// results from before the move to protobin compare row by row.
	decoders := []struct {
		name string
		fn   func([]byte, *v2.EnvelopeBatch) error
	}{
		{"proto.Unmarshal", func(d []byte, m *v2.EnvelopeBatch) error { return proto.Unmarshal(d, m) }},
		{"decode.Batch", Batch},
		{"decode.Chunker", func(d []byte, m *v2.EnvelopeBatch) error {
			c := NewChunker(d)
			for {
				envs, _, err := c.Next(1 << 20)
				if envs == nil || err != nil {
					return err
				}
				m.Batch = envs
			}
		}},
	}
	for _, d := range decoders {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := d.fn(data, new(v2.EnvelopeBatch)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
