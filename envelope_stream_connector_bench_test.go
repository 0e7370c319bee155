package loggregator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// benchBatch is 100 envelopes shaped like what a Reverse Log Proxy sends:
// app logs with the agent's tags, and some counters and gauges.
func benchBatch() []*loggregator_v2.Envelope {
	envs := make([]*loggregator_v2.Envelope, 100)
	for i := range envs {
		e := &loggregator_v2.Envelope{
			Timestamp:  1700000000000000000 + int64(i),
			SourceId:   "5b6a2c1e-2f0e-4a55-9d1c-0f7c1a3e9b42",
			InstanceId: fmt.Sprint(i % 4),
			Tags: map[string]string{
				"source_type": "APP/PROC/WEB",
				"origin":      "rep",
				"deployment":  "cf",
				"job":         "diego-cell",
				"index":       "0c3a4e6e-8f41-4c0b-a3a1-8a8e0c2f1d11",
				"ip":          "10.0.16.23",
			},
		}
		switch i % 10 {
		case 8:
			e.Message = &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "requests", Delta: 3, Total: uint64(1000 + i)}}
		case 9:
			e.Message = &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
				"cpu":    {Unit: "percentage", Value: 12.5},
				"memory": {Unit: "bytes", Value: 1 << 27},
			}}}
		default:
			e.Message = &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{
				Payload: []byte(fmt.Sprintf(`127.0.0.1 - - [24/Nov/2025:11:37:00 +0000] "GET /v2/items/%d HTTP/1.1" 200 512 "-" "curl/8.5.0"`, i)),
				Type:    loggregator_v2.Log_OUT,
			}}
		}
		envs[i] = e
	}
	return envs
}

// BenchmarkEgressThroughput compares, in one run, the envelopes per second
// a plain generated-client BatchedReceiver+Recv loop and an
// EnvelopeStreamConnector consume from the same kind of server. One op is
// one envelope.
func BenchmarkEgressThroughput(b *testing.B) {
	certs := testhelpers.NewCerts(b)
	batch := benchBatch()
	consumers := []struct {
		name    string
		consume func(ctx context.Context, b *testing.B, srv *testhelpers.EgressServer, n int)
	}{
		{"generated-client", func(ctx context.Context, b *testing.B, srv *testhelpers.EgressServer, n int) {
			conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(certs.ClientTLSConfig(loggregator.EgressServerName))))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			rx, err := loggregator_v2.NewEgressClient(conn).BatchedReceiver(ctx, &loggregator_v2.EgressBatchRequest{})
			if err != nil {
				b.Fatal(err)
			}
			for got := 0; got < n; {
				m, err := rx.Recv()
				if err != nil {
					b.Fatal(err)
				}
				got += len(m.Batch)
			}
		}},
		{"connector", func(ctx context.Context, b *testing.B, srv *testhelpers.EgressServer, n int) {
			s := loggregator.NewEnvelopeStreamConnector(srv.Addr(), certs.ClientTLSConfig(loggregator.EgressServerName)).
				Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			for got := 0; got < n; {
				m := s()
				if m == nil {
					b.Fatal("stream ended")
				}
				got += len(m)
			}
		}},
		{"connector-buffered", func(ctx context.Context, b *testing.B, srv *testhelpers.EgressServer, n int) {
			s := loggregator.NewEnvelopeStreamConnector(srv.Addr(), certs.ClientTLSConfig(loggregator.EgressServerName),
				loggregator.WithEnvelopeStreamBuffer(10000, nil)).
				Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			for got := 0; got < n; {
				m := s()
				if m == nil {
					b.Fatal("stream ended")
				}
				got += len(m)
			}
		}},
	}
	for _, c := range consumers {
		b.Run(c.name, func(b *testing.B) {
			srv, err := testhelpers.NewEgressServer(certs)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Stop()
			if err := srv.SendRepeated(batch, b.N/len(batch)+2); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			b.ReportAllocs()
			b.ResetTimer()
			c.consume(ctx, b, srv, b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "envelopes/s")
			cancel()
		})
	}
}

// BenchmarkEnvelopeStreamLatency measures the time from handing one
// envelope to the server until the stream returns it; it reports the
// median as p50-ns.
func BenchmarkEnvelopeStreamLatency(b *testing.B) {
	for _, mode := range streamModes {
		b.Run(mode.name, func(b *testing.B) {
			srv, certs := startEgress(b)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			s := newConnector(srv, certs, mode.opts...).Stream(ctx, &loggregator_v2.EgressBatchRequest{})
			b.ReportAllocs()
			b.ResetTimer()
			p50 := measureLatency(b, srv, s, max(b.N, 1))
			b.ReportMetric(float64(p50.Nanoseconds()), "p50-ns")
		})
	}
}
