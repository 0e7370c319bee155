package gatewayjson_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/gatewayjson"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// generic decodes JSON into maps and slices for structural comparison.
func generic(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

// TestGolden compares with the gateway's JSON captured in the golden file.
func TestGolden(t *testing.T) {
	f, err := os.Open("../../rpc/loggregator_v2/testdata/wire-golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var line struct {
			Name    string          `json:"name"`
			Message string          `json:"message"`
			Binary  string          `json:"binary_b64"`
			JSON    json.RawMessage `json:"json"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(line.Binary)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		switch line.Message {
		case "loggregator.v2.Envelope":
			var e loggregator_v2.Envelope
			if err := proto.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			got = gatewayjson.AppendEnvelope(nil, &e)
		case "loggregator.v2.EnvelopeBatch":
			var b loggregator_v2.EnvelopeBatch
			if err := proto.Unmarshal(raw, &b); err != nil {
				t.Fatal(err)
			}
			got = gatewayjson.AppendBatch(nil, b.GetBatch())
		default:
			continue
		}
		n++
		t.Run(line.Name, func(t *testing.T) {
			if !reflect.DeepEqual(generic(t, got), generic(t, line.JSON)) {
				t.Errorf("got  %s\nwant %s", got, line.JSON)
			}
		})
	}
	if n == 0 {
		t.Fatal("no envelope lines in golden file")
	}
}

func randString(r *rand.Rand) string {
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\x01", "\x1f", "ü", "€", "😀", "\u2028", "<", "&", "/"}
	n := r.IntN(6)
	s := ""
	for i := 0; i < n; i++ {
		s += alphabet[r.IntN(len(alphabet))]
	}
	return s
}

func randFloat(r *rand.Rand) float64 {
	special := []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1.234e-7, 1e21, 9.99e20, 1e-6, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()}
	if r.IntN(2) == 0 {
		return special[r.IntN(len(special))]
	}
	return math.Float64frombits(r.Uint64())
}

func randEnvelope(r *rand.Rand) *loggregator_v2.Envelope {
	e := &loggregator_v2.Envelope{
		Timestamp:  r.Int64() - r.Int64(),
		SourceId:   randString(r),
		InstanceId: randString(r),
	}
	if r.IntN(2) == 0 {
		e.Tags = map[string]string{}
		for i := r.IntN(4); i > 0; i-- {
			e.Tags[randString(r)] = randString(r)
		}
	}
	if r.IntN(3) == 0 {
		e.DeprecatedTags = map[string]*loggregator_v2.Value{}
		for i := r.IntN(4); i > 0; i-- {
			var v *loggregator_v2.Value
			switch r.IntN(4) {
			case 0:
				v = &loggregator_v2.Value{Data: &loggregator_v2.Value_Text{Text: randString(r)}}
			case 1:
				v = &loggregator_v2.Value{Data: &loggregator_v2.Value_Integer{Integer: r.Int64() - r.Int64()}}
			case 2:
				v = &loggregator_v2.Value{Data: &loggregator_v2.Value_Decimal{Decimal: randFloat(r)}}
			default:
				v = &loggregator_v2.Value{}
			}
			e.DeprecatedTags[randString(r)] = v
		}
	}
	switch r.IntN(6) {
	case 0:
		p := make([]byte, r.IntN(40))
		for i := range p {
			p[i] = byte(r.IntN(256))
		}
		e.Message = &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: p, Type: loggregator_v2.Log_Type(r.IntN(3))}}
	case 1:
		e.Message = &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: randString(r), Delta: r.Uint64(), Total: r.Uint64()}}
	case 2:
		m := map[string]*loggregator_v2.GaugeValue{}
		for i := r.IntN(4); i > 0; i-- {
			m[randString(r)] = &loggregator_v2.GaugeValue{Unit: randString(r), Value: randFloat(r)}
		}
		e.Message = &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: m}}
	case 3:
		e.Message = &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: randString(r), Start: r.Int64(), Stop: -r.Int64()}}
	case 4:
		e.Message = &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: randString(r), Body: randString(r)}}
	}
	return e
}

// TestDifferentialProtojson checks, for random envelopes, that our output
// decodes with protojson to an equal message and has the same structure
// as protojson's own output with unpopulated fields emitted.
func TestDifferentialProtojson(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	mo := protojson.MarshalOptions{EmitUnpopulated: true}
	for i := 0; i < 5000; i++ {
		batch := &loggregator_v2.EnvelopeBatch{}
		for j := r.IntN(4); j > 0; j-- {
			batch.Batch = append(batch.Batch, randEnvelope(r))
		}
		got := gatewayjson.AppendBatch(nil, batch.GetBatch())
		var back loggregator_v2.EnvelopeBatch
		if err := protojson.Unmarshal(got, &back); err != nil {
			t.Fatalf("protojson cannot decode %s: %v", got, err)
		}
		if !proto.Equal(&back, batch) {
			t.Fatalf("round trip differs:\n in %v\nout %v\njson %s", batch, &back, got)
		}
		want, err := mo.Marshal(batch)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(generic(t, got), generic(t, want)) {
			t.Fatalf("structure differs:\n got %s\nwant %s", got, want)
		}
	}
}

func TestInvalidUTF8IsReplaced(t *testing.T) {
	e := &loggregator_v2.Envelope{SourceId: "a\xffb", Tags: map[string]string{"k\xc3": "v"}}
	got := gatewayjson.AppendEnvelope(nil, e)
	var back loggregator_v2.Envelope
	if err := protojson.Unmarshal(got, &back); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if back.GetSourceId() != "a\ufffdb" || back.GetTags()["k\ufffd"] != "v" {
		t.Errorf("got %v", &back)
	}
}

func FuzzAppendEnvelope(f *testing.F) {
	f.Add(int64(1), "src", "0", "k", "v", []byte("payload"), "name", 1.5)
	f.Add(int64(-1), "\x00\"", "\xff", "", "\u2028", []byte{}, "", math.Inf(1))
	f.Fuzz(func(t *testing.T, ts int64, src, inst, k, v string, payload []byte, name string, val float64) {
		envs := []*loggregator_v2.Envelope{
			{Timestamp: ts, SourceId: src, InstanceId: inst, Tags: map[string]string{k: v}, Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: payload}}},
			{Timestamp: ts, DeprecatedTags: map[string]*loggregator_v2.Value{k: {Data: &loggregator_v2.Value_Decimal{Decimal: val}}}, Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{name: {Unit: v, Value: val}}}}},
		}
		got := gatewayjson.AppendBatch(nil, envs)
		var back loggregator_v2.EnvelopeBatch
		if err := protojson.Unmarshal(got, &back); err != nil {
			t.Fatalf("protojson cannot decode %q: %v", got, err)
		}
		valid := func(s string) bool { return string([]rune(s)) == s }
		if valid(src) && valid(inst) && valid(k) && valid(v) && valid(name) {
			want := &loggregator_v2.EnvelopeBatch{Batch: envs}
			if !proto.Equal(&back, want) {
				t.Fatalf("round trip differs: %s", got)
			}
		}
	})
}

func benchBatch() []*loggregator_v2.Envelope {
	envs := make([]*loggregator_v2.Envelope, 100)
	for i := range envs {
		envs[i] = &loggregator_v2.Envelope{
			Timestamp: 1700000000123456789, SourceId: "2b8f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", InstanceId: "0",
			Tags:    map[string]string{"source_type": "APP/PROC/WEB", "deployment": "cf"},
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello world, this is a log line")}},
		}
	}
	return envs
}

func BenchmarkAppendBatch(b *testing.B) {
	envs := benchBatch()
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = gatewayjson.AppendBatch(buf[:0], envs)
	}
	b.ReportMetric(float64(b.N*len(envs))/b.Elapsed().Seconds(), "envelopes/s")
}

func BenchmarkProtojson(b *testing.B) {
	batch := &loggregator_v2.EnvelopeBatch{Batch: benchBatch()}
	mo := protojson.MarshalOptions{EmitUnpopulated: true}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := mo.Marshal(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch.Batch))/b.Elapsed().Seconds(), "envelopes/s")
}
