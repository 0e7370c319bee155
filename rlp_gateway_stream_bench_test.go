package loggregator

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// GatewayBenchStream builds an event stream of frames of 10 envelopes
// (logs, counters and gauges with typical tags) as the gateway writes them:
// protojson with unpopulated fields emitted, a heartbeat after every
// heartbeatEvery frames (none if 0). Envelope n (from 1) gets timestamp
// stamp(n). It returns the bytes and the number of envelopes. It is
// exported to the package's external benchmarks, in tests only.
func GatewayBenchStream(b *testing.B, frames int, stamp func(n int) int64, heartbeatEvery int) ([]byte, int) {
	b.Helper()
	var buf bytes.Buffer
	n := 0
	for f := 0; f < frames; f++ {
		var batch loggregator_v2.EnvelopeBatch
		for i := 0; i < 10; i++ {
			n++
			e := &loggregator_v2.Envelope{
				Timestamp:  stamp(n),
				SourceId:   "11111111-2222-3333-4444-555555555555",
				InstanceId: fmt.Sprint(i % 3),
				Tags: map[string]string{
					"source_type": "APP/PROC/WEB", "deployment": "cf", "job": "diego-cell",
					"index": "0", "ip": "10.0.0.1", "origin": "rep",
				},
			}
			switch i % 5 {
			case 0, 1, 2:
				e.Message = &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(fmt.Sprintf("GET /v2/apps/%d 200 OK in 12ms", n))}}
			case 3:
				e.Message = &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "requests", Delta: 1, Total: uint64(n)}}
			case 4:
				e.Message = &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
					"cpu": {Unit: "percentage", Value: 12.5}, "memory": {Unit: "bytes", Value: 1048576},
				}}}
			}
			batch.Batch = append(batch.Batch, e)
		}
		js, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(&batch)
		if err != nil {
			b.Fatal(err)
		}
		buf.WriteString("data: ")
		buf.Write(js)
		buf.WriteString("\n\n")
		if heartbeatEvery > 0 && f%heartbeatEvery == heartbeatEvery-1 {
			buf.WriteString("event: heartbeat\ndata: 1700000000\n\n")
		}
	}
	return buf.Bytes(), n
}

// BenchmarkRLPGatewayReadDecode measures, client in isolation (no HTTP,
// no goroutine hand-off), the work a stream's connection goroutine does
// per event: SSE parsing, JSON decoding, queueing and statistics. Each
// iteration reads 200 data frames of 10 envelopes and 20 heartbeats from
// memory, then takes all envelopes from the queue in one call. Its
// allocations are deterministic, so it shows any allocation added to the
// per-event path.
func BenchmarkRLPGatewayReadDecode(b *testing.B) {
	now := time.Now().UnixNano()
	raw, n := GatewayBenchStream(b, 200, func(n int) int64 { return now - int64(n)*int64(time.Millisecond) }, 10)
	c := NewRLPGatewayClient("http://127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		q := newGatewayQueue(DefaultRLPGatewayBufferEnvelopes, DefaultRLPGatewayBufferBytes)
		s := &gatewayStream{c: c, q: q}
		s.read(ctx, bytes.NewReader(raw))
		if got := q.pop(ctx, n); len(got) != n {
			b.Fatalf("got %d envelopes, want %d", len(got), n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "envelopes/s")
}
