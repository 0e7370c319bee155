package router_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func bigLog(n int) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{SourceId: "a", Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: make([]byte, n)}}}
}

func logSub(t *testing.T, r *router.Router, lim router.Limits) *router.Subscription {
	t.Helper()
	s, err := r.SubscribeLimits(&loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{sel("", "log")}}, lim)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBufferBoundedInBytes fills a subscription whose byte limit is ten
// 60 KB logs: the eleventh and later are dropped and counted although the
// envelope limit is far away, the buffered bytes never exceed the limit,
// and draining gives the room back.
func TestBufferBoundedInBytes(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	e := bigLog(60 << 10)
	size := router.Size(e)
	s := logSub(t, r, router.Limits{Envelopes: 10000, Bytes: 10 * size})
	for i := 0; i < 25; i++ {
		r.Publish(e)
		if _, b := s.Buffered(); b > 10*size {
			t.Fatalf("buffered %d bytes, limit %d", b, 10*size)
		}
	}
	if s.Accepted() != 10 || s.Dropped() != 15 || r.Dropped() != 15 {
		t.Errorf("accepted %d dropped %d (router %d), want 10 and 15", s.Accepted(), s.Dropped(), r.Dropped())
	}
	if n, b := s.Buffered(); n != 10 || b != 10*size {
		t.Errorf("buffered %d envelopes, %d bytes; want 10, %d", n, b, 10*size)
	}
	if got := len(drain(t, s)); got != 10 {
		t.Errorf("drained %d, want 10", got)
	}
	if n, b := s.Buffered(); n != 0 || b != 0 {
		t.Errorf("after drain: %d envelopes, %d bytes", n, b)
	}
	r.Publish(e)
	if s.Accepted() != 11 {
		t.Errorf("room not given back: accepted %d", s.Accepted())
	}
}

// TestOversizedEnvelopeFitsEmptyBuffer: an envelope larger than the byte
// limit still reaches a subscriber whose buffer is empty, but never joins
// a non-empty one.
func TestOversizedEnvelopeFitsEmptyBuffer(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	s := logSub(t, r, router.Limits{Bytes: 1000})
	big := bigLog(5000)
	r.Publish(big, big)
	if s.Accepted() != 1 || s.Dropped() != 1 {
		t.Errorf("accepted %d dropped %d, want 1 and 1", s.Accepted(), s.Dropped())
	}
	if got := drain(t, s); len(got) != 1 || got[0] != big {
		t.Errorf("drained %d envelopes", len(got))
	}
}

func TestLimitsDefaults(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	for _, lim := range []router.Limits{{}, {Envelopes: -1, Bytes: -1}} {
		s := logSub(t, r, lim)
		if got := s.Limits(); got.Envelopes != router.DefaultBufferSize || got.Bytes != router.DefaultBufferBytes {
			t.Errorf("%+v: limits %+v", lim, got)
		}
		s.Close()
	}
}

// TestNextBytes: NextBytes stops before the envelope that would exceed
// maxBytes, always returns at least one envelope, and keeps the order.
func TestNextBytes(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	s := logSub(t, r, router.Limits{})
	sizes := []int{900, 3500, 100, 100, 5000, 10}
	var envs []*loggregator_v2.Envelope
	for _, n := range sizes {
		envs = append(envs, bigLog(n))
	}
	r.Publish(envs...)
	limit := router.Size(envs[0]) + router.Size(envs[2]) // 900 fits, 900+3500 does not
	var got [][]*loggregator_v2.Envelope
	var buf []*loggregator_v2.Envelope
	for len(got) < 5 {
		var err error
		buf, err = s.NextBytes(ctx(t), buf, 0, limit)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, append([]*loggregator_v2.Envelope(nil), buf...))
		if n, _ := s.Buffered(); n == 0 {
			break
		}
	}
	var shape []string
	for _, g := range got {
		var parts []string
		for _, e := range g {
			parts = append(parts, fmt.Sprint(len(e.GetLog().GetPayload())))
		}
		shape = append(shape, strings.Join(parts, "+"))
	}
	if want := "900 3500 100+100 5000 10"; strings.Join(shape, " ") != want {
		t.Errorf("batches %q, want %q", strings.Join(shape, " "), want)
	}
}

// TestSizeCoversDecodedHeap decodes many copies of envelopes of several
// shapes and checks that Size is at least the live heap each one holds, so
// that a limit in Size bounds memory.
func TestSizeCoversDecodedHeap(t *testing.T) {
	tags := func(n int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[fmt.Sprint("k", i)] = "v"
		}
		return m
	}
	dep := map[string]*loggregator_v2.Value{}
	for i := 0; i < 20; i++ {
		dep[fmt.Sprint("d", i)] = &loggregator_v2.Value{Data: &loggregator_v2.Value_Integer{Integer: int64(i)}}
	}
	metrics := map[string]*loggregator_v2.GaugeValue{}
	for i := 0; i < 20; i++ {
		metrics[fmt.Sprint("m", i)] = &loggregator_v2.GaugeValue{Unit: "u", Value: 1}
	}
	shapes := map[string]*loggregator_v2.Envelope{
		"empty":           {},
		"small log":       {SourceId: "app-guid", InstanceId: "0", Timestamp: 1, Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello")}}},
		"log with 3 tags": {SourceId: "app-guid", InstanceId: "0", Tags: tags(3), Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello")}}},
		"100 tiny tags":   {Tags: tags(100), Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "c"}}},
		"20 deprecated":   {DeprecatedTags: dep, Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "t"}}},
		"20 gauge values": {Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: metrics}}},
		"60 KB log":       bigLog(60 << 10),
		"33 KB log":       bigLog(33 << 10),
		"1 MiB log":       bigLog(1 << 20),
	}
	for name, e := range shapes {
		t.Run(name, func(t *testing.T) {
			b, err := proto.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			n := 2000
			if len(b) > 10000 {
				n = 50
			}
			keep := make([]*loggregator_v2.Envelope, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range keep {
				keep[i] = &loggregator_v2.Envelope{}
				if err := proto.Unmarshal(b, keep[i]); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perEnvelope := int(after.HeapAlloc-before.HeapAlloc) / n
			size := router.Size(keep[0])
			runtime.KeepAlive(keep)
			t.Logf("encoded %d, Size %d, heap %d per envelope", len(b), size, perEnvelope)
			if size < perEnvelope {
				t.Errorf("Size %d is below the %d bytes of heap the decoded envelope holds", size, perEnvelope)
			}
		})
	}
}

// FuzzSizeBoundsEncoding checks that Size is at least the protobuf
// encoding of the envelope and of its tag conversions, which egress relies
// on to keep messages under gRPC's limit.
func FuzzSizeBoundsEncoding(f *testing.F) {
	f.Add("src", "0", "k", "v", int64(-1), 1.5e-300, []byte("payload"), uint8(0))
	f.Add("", "", "", "", int64(0), 0.0, []byte{}, uint8(2))
	f.Fuzz(func(t *testing.T, src, inst, k, v string, i int64, d float64, payload []byte, kind uint8) {
		e := &loggregator_v2.Envelope{Timestamp: -1, SourceId: src, InstanceId: inst,
			Tags: map[string]string{k: v, k + "2": v},
			DeprecatedTags: map[string]*loggregator_v2.Value{
				"i" + k: {Data: &loggregator_v2.Value_Integer{Integer: i}},
				"d" + k: {Data: &loggregator_v2.Value_Decimal{Decimal: d}},
				"t" + k: {Data: &loggregator_v2.Value_Text{Text: v}},
			}}
		switch kind % 5 {
		case 0:
			e.Message = &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: payload, Type: loggregator_v2.Log_ERR}}
		case 1:
			e.Message = &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: k, Delta: ^uint64(0), Total: ^uint64(0)}}
		case 2:
			e.Message = &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{k: {Unit: v, Value: d}, v: {Unit: k, Value: d}}}}
		case 3:
			e.Message = &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: k, Start: i, Stop: -1}}
		case 4:
			e.Message = &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: k, Body: string(payload)}}
		}
		for _, c := range []*loggregator_v2.Envelope{e, router.ConvertTags(e, true), router.ConvertTags(e, false)} {
			if s, n := router.Size(c), proto.Size(c); s < n {
				t.Fatalf("Size %d < encoded %d for %v", s, n, c)
			}
		}
		if s, n := router.Size(e), proto.Size(router.ConvertTags(e, true)); s < n {
			t.Fatalf("Size %d of the original < encoded %d after conversion", s, n)
		}
	})
}
