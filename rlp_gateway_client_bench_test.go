package loggregator_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"

	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// benchStream builds SSE bytes as a gateway sends them: frames of 10
// envelopes (logs, counters and gauges with typical tags), protojson with
// unpopulated fields emitted.
func benchStream(b *testing.B, frames int) ([]byte, int) {
	b.Helper()
	var buf bytes.Buffer
	n := 0
	for f := 0; f < frames; f++ {
		var batch loggregator_v2.EnvelopeBatch
		for i := 0; i < 10; i++ {
			n++
			e := &loggregator_v2.Envelope{
				Timestamp:  int64(1700000000000000000 + n),
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
	}
	return buf.Bytes(), n
}

// BenchmarkRLPGatewayThroughput compares, over the same SSE bytes, the
// client (HTTP over loopback, SSE parsing, decoding, stream function) with
// a hand-written bufio + protojson.Unmarshal loop over the bytes in memory.
// Compare the envelopes/s metrics of one run.
func BenchmarkRLPGatewayThroughput(b *testing.B) {
	raw, perIter := benchStream(b, 200)

	b.Run("bufio+protojson", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			count := 0
			sc := bufio.NewScanner(bytes.NewReader(raw))
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
				if !ok {
					continue
				}
				var batch loggregator_v2.EnvelopeBatch
				if err := protojson.Unmarshal(line, &batch); err != nil {
					b.Fatal(err)
				}
				count += len(batch.Batch)
			}
			if count != perIter {
				b.Fatalf("decoded %d, want %d", count, perIter)
			}
		}
		b.ReportMetric(float64(perIter*b.N)/b.Elapsed().Seconds(), "envelopes/s")
	})

	b.Run("RLPGatewayClient", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		srv := newGateway(b)
		c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(b, srv)))
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		stream := c.Stream(sctx, logsRequest())
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		b.ResetTimer()
		next := int64(1700000000000000001)
		for i := 0; i < b.N; i++ {
			if err := srv.SendRaw(raw); err != nil {
				b.Fatal(err)
			}
			for got := 0; got < perIter; {
				envs := stream()
				if envs == nil {
					b.Fatal("stream ended")
				}
				for _, e := range envs {
					if e.GetTimestamp() != next {
						b.Fatalf("envelope %d out of order (want %d)", e.GetTimestamp(), next)
					}
					next++
					if next == int64(1700000000000000001+perIter) {
						next = 1700000000000000001
					}
				}
				got += len(envs)
			}
		}
		b.ReportMetric(float64(perIter*b.N)/b.Elapsed().Seconds(), "envelopes/s")
	})
}

// BenchmarkRLPGatewayLatency measures the time from handing one envelope to
// the gateway until the stream function returns it.
func BenchmarkRLPGatewayLatency(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := newGateway(b)
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(b, srv)))
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	stream := c.Stream(sctx, logsRequest())
	// Warm up the connection.
	if err := srv.Send(seqEnvelope(0)); err != nil {
		b.Fatal(err)
	}
	if got := collect(ctx, stream, 1); len(got) != 1 {
		b.Fatal("no warm-up envelope")
	}
	b.ReportAllocs()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := srv.Send(seqEnvelope(int64(i))); err != nil {
			b.Fatal(err)
		}
		if got := stream(); len(got) != 1 {
			b.Fatalf("got %d envelopes", len(got))
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
