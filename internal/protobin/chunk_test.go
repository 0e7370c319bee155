package protobin

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// chunkAll runs a Chunker over data with maxBytes and returns every
// envelope, the chunk lengths and the first error.
func chunkAll(data []byte, maxBytes int) ([]*v2.Envelope, []int, error) {
	c := NewChunker(data)
	var all []*v2.Envelope
	var lens []int
	for {
		envs, _, err := c.Next(maxBytes)
		all = append(all, envs...)
		if len(envs) > 0 {
			lens = append(lens, len(envs))
		}
		if err != nil {
			if again, _, err2 := c.Next(maxBytes); again != nil || err2 != err {
				return all, lens, fmt.Errorf("call after error gave %v, %v; first error %w", again, err2, err)
			}
			return all, lens, err
		}
		if envs == nil {
			return all, lens, nil
		}
	}
}

// compareChunks checks that the chunks of data, concatenated, are what
// proto.Unmarshal decodes, and that an input proto.Unmarshal rejects ends
// in an error.
func compareChunks(t *testing.T, data []byte, maxBytes int) {
	t.Helper()
	want := new(v2.EnvelopeBatch)
	wantErr := proto.Unmarshal(data, want)
	got, _, gotErr := chunkAll(data, maxBytes)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("Chunker error %v, proto.Unmarshal error %v", gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if len(got) != len(want.Batch) {
		t.Fatalf("Chunker gave %d envelopes, proto.Unmarshal %d", len(got), len(want.Batch))
	}
	for i := range got {
		if !proto.Equal(got[i], want.Batch[i]) {
			t.Fatalf("envelope %d: Chunker decoded\n%v\nproto.Unmarshal decoded\n%v", i, got[i], want.Batch[i])
		}
	}
}

func TestChunkerMatchesProto(t *testing.T) {
	all := marshal(t, &v2.EnvelopeBatch{Batch: sampleEnvelopes()})
	tests := []struct {
		name string
		data []byte
	}{
		{"empty batch", nil},
		{"all samples", all},
		{"zero-length envelope", field(1, protowire.BytesType, nil)},
		{"unknown batch field between envelopes", cat(field(1, protowire.BytesType, nil), field(7, protowire.VarintType, varint(3)), all)},
		{"unknown batch group", cat(field(2, protowire.StartGroupType, nil), field(2, protowire.EndGroupType, nil), all)},
		{"field 1 with the wrong wire type", cat(field(1, protowire.VarintType, varint(1)), all)},
		{"unknown envelope field (fallback)", field(1, protowire.BytesType, field(99, protowire.VarintType, varint(1)))},
		{"invalid utf-8 after good envelopes", cat(all, field(1, protowire.BytesType, field(2, protowire.BytesType, []byte{0xff})))},
		{"truncated", all[:len(all)-1]},
		{"bad length", []byte{0x0a, 0x05, 0x01}},
		{"stray end group", field(1, protowire.EndGroupType, nil)},
		{"field zero", []byte{0x00, 0x00}},
		{"field number too large", protowire.AppendTag(nil, protowire.MaxValidNumber+1, protowire.VarintType)},
		{"non-minimal tag", append([]byte{0x8a, 0x00, 0x00}, all...)},
	}
	for _, tt := range tests {
		for _, maxBytes := range []int{1, 600, 1 << 20} {
			t.Run(fmt.Sprintf("%s/max %d", tt.name, maxBytes), func(t *testing.T) {
				compareChunks(t, tt.data, maxBytes)
			})
		}
	}
}

// TestSizeConstantsCoverStructs fails when regenerated structs outgrow
// the per-envelope estimate (TestSizeBoundsHeap measures the rest).
func TestSizeConstantsCoverStructs(t *testing.T) {
	sizes := map[string]uintptr{
		"log":     unsafe.Sizeof(logEnvelope{}),
		"counter": unsafe.Sizeof(counterEnvelope{}),
		"gauge":   unsafe.Sizeof(gaugeEnvelope{}),
		"timer":   unsafe.Sizeof(timerEnvelope{}),
		"event":   unsafe.Sizeof(eventEnvelope{}),
	}
	for kind, size := range sizes {
		if size+8 > envelopeBytes { // plus the slice slot
			t.Errorf("a decoded %s envelope takes %d bytes, envelopeBytes is %d", kind, size, envelopeBytes)
		}
	}
}

func TestChunkerBoundsChunks(t *testing.T) {
	const n, maxBytes = 10000, 64 << 10
	data := marshal(t, &v2.EnvelopeBatch{Batch: make([]*v2.Envelope, n)}) // empty envelopes
	c := NewChunker(data)
	if c.Envelopes() != n {
		t.Fatalf("counted %d envelopes, want %d", c.Envelopes(), n)
	}
	got := 0
	for {
		envs, size, err := c.Next(maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		if envs == nil {
			break
		}
		got += len(envs)
		perEnv := HeapSize(envs[0], 0)
		if size > maxBytes+perEnv || size != perEnv*len(envs) {
			t.Fatalf("chunk of %d envelopes has size %d, bound %d", len(envs), size, maxBytes+perEnv)
		}
		if c.Envelopes() > 0 && size+perEnv <= maxBytes {
			t.Fatalf("chunk of size %d ended early with %d envelopes left", size, c.Envelopes())
		}
	}
	if got != n {
		t.Fatalf("got %d envelopes, want %d", got, n)
	}
}

// TestSizeBoundsHeap measures, with runtime.MemStats, the live heap that
// decoded envelopes of several shapes keep, and checks that Size is an
// upper bound that is not wildly pessimistic for common shapes.
func TestSizeBoundsHeap(t *testing.T) {
	manyTags := func(n int) map[string]string {
		m := make(map[string]string)
		for i := range n {
			m[fmt.Sprint(i)] = ""
		}
		return m
	}
	manyDeprecated := func(n int) map[string]*v2.Value {
		m := make(map[string]*v2.Value)
		for i := range n {
			m[fmt.Sprint(i)] = &v2.Value{}
		}
		return m
	}
	manyMetrics := func(n int) map[string]*v2.GaugeValue {
		m := make(map[string]*v2.GaugeValue)
		for i := range n {
			m[fmt.Sprint(i)] = &v2.GaugeValue{}
		}
		return m
	}
	appLog := &v2.Envelope{
		Timestamp: 1, SourceId: "5b6a2c1e-2f0e-4a55-9d1c-0f7c1a3e9b42", InstanceId: "1",
		Tags:    map[string]string{"source_type": "APP/PROC/WEB", "origin": "rep", "deployment": "cf", "job": "diego-cell", "index": "0c3a4e6e", "ip": "10.0.16.23"},
		Message: &v2.Envelope_Log{Log: &v2.Log{Payload: []byte("GET /v2/items/1 HTTP/1.1 200 512")}},
	}
	unknownField := field(1, protowire.BytesType, cat(
		field(2, protowire.BytesType, []byte("src")),
		field(9, protowire.BytesType, cat(field(1, protowire.BytesType, []byte("k")), field(2, protowire.BytesType, []byte("v")))),
		field(99, protowire.VarintType, varint(1))))
	repeat := func(e *v2.Envelope, n int) []byte {
		envs := make([]*v2.Envelope, n)
		for i := range envs {
			envs[i] = e
		}
		return marshal(t, &v2.EnvelopeBatch{Batch: envs})
	}
	type test struct {
		name     string
		data     []byte
		maxRatio float64 // Size over measured heap; 0: not checked
	}
	tests := []test{
		{"empty envelopes", repeat(&v2.Envelope{}, 20000), 3},
		{"app logs", repeat(appLog, 5000), 3},
		{"one tag", repeat(&v2.Envelope{Tags: map[string]string{"a": "b"}}, 5000), 3},
		{"64 KiB logs", repeat(&v2.Envelope{Message: &v2.Envelope_Log{Log: &v2.Log{Payload: []byte(strings.Repeat("x", 64<<10))}}}, 50), 2.1},
		{"fallback envelopes", []byte(strings.Repeat(string(unknownField), 5000)), 0},
	}
	for _, n := range []int{7, 9, 57, 900, 4481, 5000} {
		reps := max(4, 20000/n) // enough for the heap to grow by a few MiB
		tests = append(tests,
			test{fmt.Sprintf("%d tags", n), repeat(&v2.Envelope{Tags: manyTags(n)}, reps), 0},
			test{fmt.Sprintf("%d deprecated tags", n), repeat(&v2.Envelope{DeprecatedTags: manyDeprecated(n)}, reps), 0},
			test{fmt.Sprintf("%d gauge metrics", n), repeat(&v2.Envelope{Message: &v2.Envelope_Gauge{Gauge: &v2.Gauge{Metrics: manyMetrics(n)}}}, reps), 0},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := NewChunker(tt.data)
			var chunks [][]*v2.Envelope
			estimate := 0
			for {
				envs, size, err := c.Next(1 << 30)
				if err != nil {
					t.Fatal(err)
				}
				if envs == nil {
					break
				}
				chunks = append(chunks, envs)
				estimate += size
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(chunks)
			heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			ratio := float64(estimate) / float64(heap)
			t.Logf("%d bytes encoded: heap %d, Size %d (%.2fx)", len(tt.data), heap, estimate, ratio)
			if int64(estimate) < heap {
				t.Fatalf("Size %d is below the measured heap %d", estimate, heap)
			}
			if tt.maxRatio > 0 && ratio > tt.maxRatio {
				t.Fatalf("Size %d is %.2f times the measured heap %d, want at most %.1f", estimate, ratio, heap, tt.maxRatio)
			}
		})
	}
}

func FuzzChunker(f *testing.F) {
	f.Add(marshal(f, &v2.EnvelopeBatch{Batch: sampleEnvelopes()}), uint16(500))
	for _, e := range sampleEnvelopes() {
		f.Add(marshal(f, &v2.EnvelopeBatch{Batch: []*v2.Envelope{e, e}}), uint16(1))
		f.Add(marshal(f, e), uint16(1000))
	}
	f.Add([]byte{}, uint16(0))
	f.Add([]byte{0x0a, 0x02, 0x22, 0x00, 0x10, 0x01}, uint16(300))
	f.Fuzz(func(t *testing.T, data []byte, maxBytes uint16) {
		compareChunks(t, data, int(maxBytes))
	})
}
