package loggregator_test

import (
	"bufio"
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// benchStream builds SSE bytes as a gateway sends them (see
// GatewayBenchStream), with increasing timestamps and no heartbeats.
func benchStream(b *testing.B, frames int) ([]byte, int) {
	return loggregator.GatewayBenchStream(b, frames, func(n int) int64 { return 1700000000000000000 + int64(n) }, 0)
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
