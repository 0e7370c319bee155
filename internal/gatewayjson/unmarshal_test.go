package gatewayjson

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// sampleEnvelopes covers every field and message kind.
func sampleEnvelopes() []*v2.Envelope {
	return []*v2.Envelope{
		{},
		{Timestamp: -5, SourceId: "app", InstanceId: "3", Tags: map[string]string{"a": "b", "": "", "ü": "a&b=c d/ü", "q": "\"\\\n\x01\u2028😀"},
			Message: &v2.Envelope_Log{Log: &v2.Log{Payload: []byte("hello\x00\xff"), Type: v2.Log_ERR}}},
		{Message: &v2.Envelope_Log{Log: &v2.Log{}}},
		{Message: &v2.Envelope_Log{Log: &v2.Log{Type: v2.Log_Type(-7)}}},
		{Timestamp: math.MaxInt64, Message: &v2.Envelope_Counter{Counter: &v2.Counter{Name: "c", Delta: math.MaxUint64, Total: 9}}},
		{Timestamp: math.MinInt64, Message: &v2.Envelope_Gauge{Gauge: &v2.Gauge{Metrics: map[string]*v2.GaugeValue{
			"cpu": {Unit: "percent", Value: 3.5}, "nan": {Value: math.NaN()}, "inf": {Value: math.Inf(-1)},
			"tiny": {Value: 5e-324}, "big": {Value: math.MaxFloat64}, "empty": {}, "": {Unit: "x"}}}}},
		{Message: &v2.Envelope_Gauge{Gauge: &v2.Gauge{}}},
		{Message: &v2.Envelope_Timer{Timer: &v2.Timer{Name: "t", Start: -1, Stop: 1 << 62}}},
		{Message: &v2.Envelope_Event{Event: &v2.Event{Title: "title", Body: "body"}}},
		{SourceId: "deprecated", DeprecatedTags: map[string]*v2.Value{
			"text": {Data: &v2.Value_Text{Text: "t"}}, "int": {Data: &v2.Value_Integer{Integer: -3}},
			"dec": {Data: &v2.Value_Decimal{Decimal: 2.5}}, "none": {}, "empty": {Data: &v2.Value_Text{}}}},
	}
}

// protoJSONOf is what the gateway sends for envs (protojson, EmitUnpopulated).
func protoJSONOf(t testing.TB, envs []*v2.Envelope) []byte {
	t.Helper()
	b, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(&v2.EnvelopeBatch{Batch: envs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenFrames returns the data: payloads of JSON frames in testdata/*.sse.
func goldenFrames(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden streams: %v", err)
	}
	frames := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			if p, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: {")); ok {
				frames[fmt.Sprintf("%s:%d", filepath.Base(f), n)] = append([]byte("{"), p...)
			}
		}
	}
	return frames
}

// equalBatches compares exactly: deterministic wire bytes (NaN bits, -0)
// and proto.Equal for everything else.
func equalBatches(a, b *v2.EnvelopeBatch) bool {
	opt := proto.MarshalOptions{Deterministic: true}
	x, err1 := opt.Marshal(a)
	y, err2 := opt.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// compare checks Unmarshal against protojson (DiscardUnknown) on data.
func compare(t *testing.T, data []byte) {
	t.Helper()
	want := new(v2.EnvelopeBatch)
	wantErr := protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, want)
	got := &v2.EnvelopeBatch{Batch: []*v2.Envelope{{SourceId: "stale"}}}
	gotErr := Unmarshal(data, got)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("input %q: Unmarshal error %v, protojson error %v", data, gotErr, wantErr)
	}
	if wantErr == nil && !equalBatches(got, want) {
		t.Fatalf("input %q:\nUnmarshal decoded %v\nprotojson decoded %v", data, got, want)
	}
}

func TestGoldenFrames(t *testing.T) {
	frames := goldenFrames(t)
	if len(frames) < 20 {
		t.Fatalf("only %d golden frames", len(frames))
	}
	for name, data := range frames {
		t.Run(name, func(t *testing.T) {
			if !fastPath(data) {
				t.Error("golden frame not decoded by the fast path")
			}
			compare(t, data)
		})
	}
}

func TestEncoderOutput(t *testing.T) {
	envs := sampleEnvelopes()
	tests := []struct {
		name string
		data []byte
	}{
		{"AppendBatch all", AppendBatch(nil, envs)},
		{"protojson all", protoJSONOf(t, envs)},
		{"protojson indented", func() []byte {
			b, err := protojson.MarshalOptions{Multiline: true, Indent: "\t", EmitUnpopulated: true}.Marshal(&v2.EnvelopeBatch{Batch: envs})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}()},
		{"protojson proto names", func() []byte {
			b, err := protojson.MarshalOptions{UseProtoNames: true, UseEnumNumbers: true}.Marshal(&v2.EnvelopeBatch{Batch: envs})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}()},
	}
	for i, e := range envs {
		tests = append(tests, struct {
			name string
			data []byte
		}{fmt.Sprintf("AppendBatch %d", i), AppendBatch(nil, []*v2.Envelope{e})})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !fastPath(tt.data) {
				t.Errorf("fast path not taken for %s", tt.data)
			}
			compare(t, tt.data)
		})
	}
}

func TestEdgeCases(t *testing.T) {
	env := func(s string) string { return `{"batch":[{` + s + `}]}` }
	tests := []struct {
		name string
		data string
		fast bool // the scanner must handle it itself
	}{
		{"empty object", `{}`, true},
		{"empty batch", `{"batch":[]}`, true},
		{"null batch", `{"batch":null}`, true},
		{"empty envelope", `{"batch":[{}]}`, true},
		{"whitespace everywhere", " \t\r\n{ \"batch\" : [ { \"timestamp\" : \"1\" , \"tags\" : { \"a\" : \"b\" } } ] } \n", true},
		{"int64 as number", env(`"timestamp":-9223372036854775808`), true},
		{"int64 as string", env(`"timestamp":"9223372036854775807"`), true},
		{"int64 overflow", env(`"timestamp":"9223372036854775808"`), false},
		{"int64 exponent number", env(`"timestamp":1e3`), false},
		{"int64 fraction string", env(`"timestamp":"1.0"`), false},
		{"int64 leading zero", env(`"timestamp":"01"`), false},
		{"int64 minus zero", env(`"timestamp":-0`), true},
		{"int64 spaces in string", env(`"timestamp":" 1"`), false},
		{"uint64 max", env(`"counter":{"delta":"18446744073709551615","total":18446744073709551615}`), true},
		{"uint64 overflow", env(`"counter":{"delta":"18446744073709551616"}`), false},
		{"uint64 negative", env(`"counter":{"delta":-1}`), false},
		{"doubles", env(`"gauge":{"metrics":{"a":{"value":"NaN"},"b":{"value":"Infinity"},"c":{"value":"-Infinity"},"d":{"value":-0},"e":{"value":"1.5e3"},"f":{"value":1E-400}}}`), true},
		{"double overflow", env(`"gauge":{"metrics":{"a":{"value":1e400}}}`), false},
		{"double bad string", env(`"gauge":{"metrics":{"a":{"value":"nan"}}}`), false},
		{"bytes std padded", env(`"log":{"payload":"aGk="}`), true},
		{"bytes std unpadded", env(`"log":{"payload":"aGk"}`), true},
		{"bytes url padded", env(`"log":{"payload":"-_8="}`), true},
		{"bytes url unpadded", env(`"log":{"payload":"-_8"}`), true},
		{"bytes escaped slash", env(`"log":{"payload":"\/w=="}`), true},
		{"bytes bad", env(`"log":{"payload":"a"}`), false},
		{"bytes mixed alphabets", env(`"log":{"payload":"+_8="}`), false},
		{"bytes with newline", env(`"log":{"payload":"aG\nk="}`), false},
		{"bytes null", env(`"log":{"payload":null,"type":null}`), true},
		{"enum name", env(`"log":{"type":"ERR"}`), true},
		{"enum number", env(`"log":{"type":1}`), true},
		{"enum negative number", env(`"log":{"type":-2147483648}`), true},
		{"enum number overflow", env(`"log":{"type":2147483648}`), false},
		{"enum unknown name discarded", env(`"log":{"type":"WARN"}`), true},
		{"enum number as string discarded", env(`"log":{"type":"1"}`), true},
		{"enum escaped name", env(`"log":{"type":"\u0045RR"}`), true},
		{"null fields", env(`"timestamp":null,"source_id":null,"tags":null,"deprecated_tags":null,"log":null,"counter":{}`), true},
		{"null oneof then member", env(`"log":null,"event":{"title":"t"}`), true},
		{"two oneof members", env(`"log":{},"counter":{}`), false},
		{"duplicate field", env(`"source_id":"a","source_id":"b"`), false},
		{"duplicate null field", env(`"source_id":null,"source_id":"b"`), false},
		{"duplicate tag key", env(`"tags":{"a":"1","a":"2"}`), false},
		{"duplicate metric key", env(`"gauge":{"metrics":{"a":{},"a":{}}}`), false},
		{"duplicate deprecated tag", env(`"deprecated_tags":{"a":{},"a":{}}`), false},
		{"null tag value", env(`"tags":{"a":null}`), false},
		{"null metric value", env(`"gauge":{"metrics":{"a":null}}`), false},
		{"null envelope", `{"batch":[null]}`, false},
		{"deprecated tags", env(`"deprecated_tags":{"t":{"text":"x"},"i":{"integer":"-3"},"d":{"decimal":"NaN"},"n":{},"z":{"text":null,"integer":4}}`), true},
		{"value oneof twice", env(`"deprecated_tags":{"t":{"text":"x","integer":1}}`), false},
		{"escapes", env(`"source_id":"\"\\\/\b\f\n\r\t\u00e9\u2028\ud83d\ude00"`), true},
		{"escaped key", env(`"source\u005fid":"x"`), true},
		{"escaped map key", env(`"tags":{"\u00fc\n":"v"}`), true},
		{"lone high surrogate", env(`"source_id":"\ud83d"`), false},
		{"lone low surrogate", env(`"source_id":"\ude00x"`), false},
		{"reversed surrogates", env(`"source_id":"\ude00\ud83d"`), false},
		{"bad escape", env(`"source_id":"\x"`), false},
		{"short unicode escape", env(`"source_id":"\u12"`), false},
		{"raw control char", env("\"source_id\":\"a\x01\""), false},
		{"invalid utf-8", env("\"source_id\":\"\xff\""), false},
		{"utf-8 surrogate", env("\"source_id\":\"\xed\xa0\x80\""), false},
		{"valid utf-8", env(`"source_id":"日本語 ü 😀"`), true},
		{"unknown fields skipped", `{"x":1,"batch":[{"new":{"a":[1,2.5e3,{"b":null}],"c":"\u00e9"},"log":{"new":true,"type":"ERR"},"tags":{}}],"y":[],"z":false}`, true},
		{"unknown in every message", env(`"u":0,"gauge":{"u":[],"metrics":{"m":{"u":"","unit":"x"}}},"deprecated_tags":{"k":{"u":{},"text":"t"}}`), true},
		{"unknown bad value", env(`"u":[1,]`), false},
		{"unknown bad literal", env(`"u":nul`), false},
		{"unknown number then letter", env(`"u":1x`), false},
		{"extension-looking name", env(`"[foo.bar]":1`), false},
		{"camelCase name is unknown", env(`"sourceId":"x"`), true},
		{"deep unknown", env(`"u":` + string(bytes.Repeat([]byte("["), 1500)) + string(bytes.Repeat([]byte("]"), 1500))), false},
		{"wrong type string", env(`"source_id":1`), false},
		{"wrong type tags", env(`"tags":[]`), false},
		{"trailing comma object", env(`"source_id":"a",`), false},
		{"trailing comma array", `{"batch":[{},]}`, false},
		{"trailing garbage", `{"batch":[]} x`, false},
		{"two documents", `{}{}`, false},
		{"empty input", ``, false},
		{"top-level array", `[]`, false},
		{"truncated", `{"batch":[{"source_id":"a"`, false},
		{"not json", `hello`, false},
		{"unknown in counter", env(`"counter":{"x":1,"name":"c"}`), true},
		{"unknown in timer", env(`"timer":{"x":[],"name":"t"}`), true},
		{"unknown in event", env(`"event":{"x":{},"title":"t"}`), true},
		{"upper-case unicode escape", env(`"source_id":"\u00E9\u00e9"`), true},
		{"bad hex in unicode escape", env(`"source_id":"\u00g9"`), false},
		{"long string and payload outside the arena", env(`"source_id":"` + strings.Repeat("a", 3000) + `","log":{"payload":"` + strings.Repeat("QUJD", 1000) + `"}`), true},
		{"literal without delimiter", env(`"u":truex`), false},
		{"batch not an array", `{"batch":{}}`, false},
		{"metric name not a string", env(`"gauge":{"metrics":{1:{}}}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fastPath([]byte(tt.data)); got != tt.fast {
				t.Errorf("fast path taken = %v, want %v", got, tt.fast)
			}
			compare(t, []byte(tt.data))
		})
	}
}

func TestNoAliasing(t *testing.T) {
	data := AppendBatch(nil, sampleEnvelopes())
	got := new(v2.EnvelopeBatch)
	if err := Unmarshal(data, got); err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(got).(*v2.EnvelopeBatch)
	for i := range data {
		data[i] = 'x'
	}
	if !equalBatches(got, want) {
		t.Fatal("decoded batch changed with the input buffer")
	}
	// Payloads share an arena but are capped: appending must not clobber.
	a := got.Batch[1].GetLog().Payload
	_ = append(a, "clobber"...)
	if !equalBatches(got, want) {
		t.Fatal("appending to a payload changed another value")
	}
}

func TestEmptyMapsAreNonNil(t *testing.T) {
	// protojson creates empty maps for {}; callers may write to them.
	got := new(v2.EnvelopeBatch)
	if err := Unmarshal([]byte(`{"batch":[{"tags":{},"deprecated_tags":{},"gauge":{"metrics":{}}}]}`), got); err != nil {
		t.Fatal(err)
	}
	e := got.Batch[0]
	if e.Tags == nil || e.DeprecatedTags == nil || e.GetGauge().Metrics == nil {
		t.Fatalf("nil map for {}: %v", e)
	}
}

func TestConcurrentSafe(t *testing.T) {
	data := AppendBatch(nil, sampleEnvelopes())
	want := new(v2.EnvelopeBatch)
	if err := protojson.Unmarshal(data, want); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 200 {
				got := new(v2.EnvelopeBatch)
				if err := Unmarshal(data, got); err != nil || !equalBatches(got, want) {
					errs <- fmt.Errorf("bad decode: %v", err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, data := range goldenFrames(f) {
		f.Add(data)
	}
	envs := sampleEnvelopes()
	f.Add(AppendBatch(nil, envs))
	f.Add(protoJSONOf(f, envs))
	for _, e := range envs {
		f.Add(AppendBatch(nil, []*v2.Envelope{e}))
	}
	f.Add(AppendBatch(nil, []*v2.Envelope{envs[1], envs[1], envs[2], envs[1]})) // repeated tags
	for _, s := range []string{``, `{}`, `{"batch":null}`, `{"batch":[{"log":{"payload":"-_8","type":1},"u":[{"a":null}]}]}`,
		`{"batch":[{"source_id":"\ud83d\ude00\u00e9","timestamp":-0,"gauge":{"metrics":{"a":{"value":"NaN"}}}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compare(t, data)
	})
}

// benchBatch is a realistic 100-envelope gateway frame: logs with tags,
// counters and gauges.
func benchBatch(b *testing.B) []byte {
	envs := make([]*v2.Envelope, 100)
	tags := map[string]string{"source_type": "APP/PROC/WEB", "origin": "rep", "deployment": "cf", "job": "diego-cell", "index": "0c3a4e6e", "ip": "10.0.16.23"}
	for i := range envs {
		e := &v2.Envelope{Timestamp: 1700000000000000000 + int64(i), SourceId: "5b6a2c1e-2f0e-4a55-9d1c-0f7c1a3e9b42", InstanceId: "1", Tags: tags}
		switch i % 10 {
		case 8:
			e.Message = &v2.Envelope_Counter{Counter: &v2.Counter{Name: "requests", Delta: 3, Total: uint64(1000 + i)}}
		case 9:
			e.Message = &v2.Envelope_Gauge{Gauge: &v2.Gauge{Metrics: map[string]*v2.GaugeValue{
				"cpu": {Unit: "percentage", Value: 12.5}, "memory": {Unit: "bytes", Value: 1048576}, "disk": {Unit: "bytes", Value: 2.5e8}}}}
		default:
			e.Message = &v2.Envelope_Log{Log: &v2.Log{Payload: []byte(fmt.Sprintf(`10.0.0.1 - [24/Nov/2026:12:00:00 +0000] "GET /v2/items/%d HTTP/1.1" 200 512 "-" "curl/8.5.0"`, i))}}
		}
		envs[i] = e
	}
	return protoJSONOf(b, envs)
}

func BenchmarkUnmarshal(b *testing.B) {
	data := benchBatch(b)
	decoders := []struct {
		name string
		fn   func([]byte, *v2.EnvelopeBatch) error
	}{
		{"protojson", func(d []byte, m *v2.EnvelopeBatch) error {
			return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(d, m)
		}},
		{"batchjson", Unmarshal},
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

func TestRepeatedTags(t *testing.T) {
	e := func(tags string) string { return `{"source_id":"s","tags":{` + tags + `}}` }
	batch := func(envs ...string) string {
		return `{"batch":[` + strings.Join(envs, ",") + `]}`
	}
	tests := []struct {
		name string
		data string
		fast bool
	}{
		{"equal", batch(e(`"a":"1","b":"2"`), e(`"a":"1","b":"2"`), e(`"a":"1","b":"2"`)), true},
		{"value differs", batch(e(`"a":"1","b":"2"`), e(`"a":"1","b":"3"`)), true},
		{"key differs", batch(e(`"a":"1","b":"2"`), e(`"a":"1","c":"2"`)), true},
		{"shorter", batch(e(`"a":"1","b":"2"`), e(`"a":"1"`)), true},
		{"longer", batch(e(`"a":"1"`), e(`"a":"1","b":"2"`)), true},
		{"empty then equal", batch(e(``), e(``), e(`"a":"1"`), e(`"a":"1"`)), true},
		{"interleaved null tags", batch(e(`"a":"1"`), `{"tags":null}`, e(`"a":"1"`)), true},
		{"duplicate after equal prefix", batch(e(`"a":"1","b":"2"`), e(`"a":"1","a":"1"`)), false},
		{"escaped equal", batch(e(`"\u0061":"1"`), e(`"a":"\u0031"`)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fastPath([]byte(tt.data)); got != tt.fast {
				t.Errorf("fast path taken = %v, want %v", got, tt.fast)
			}
			compare(t, []byte(tt.data))
		})
	}
	t.Run("maps are independent", func(t *testing.T) {
		got := new(v2.EnvelopeBatch)
		if err := Unmarshal([]byte(batch(e(`"a":"1"`), e(`"a":"1"`))), got); err != nil {
			t.Fatal(err)
		}
		got.Batch[0].Tags["a"] = "changed"
		got.Batch[0].Tags["new"] = "x"
		if want := map[string]string{"a": "1"}; !maps.Equal(got.Batch[1].Tags, want) {
			t.Fatalf("second envelope's tags = %v, want %v", got.Batch[1].Tags, want)
		}
	})
}
