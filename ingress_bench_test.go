package loggregator_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

const benchLogLine = "2024-01-01T00:00:00Z INFO request served path=/api/v1/items status=200 duration=1.2ms"

// BenchmarkIngressClientEmitLog measures one EmitLog with two options in
// the default configuration, as the CLIENT IN ISOLATION: the server only
// counts envelopes and does not decode them, so ns/op is the client's own
// cost and allocs/op its own allocations (0). What an agent-like server
// takes is measured by BenchmarkIngressClientEmitLogDecodingServer and
// TestIngressThroughputVersusRawStream.
func BenchmarkIngressClientEmitLog(b *testing.B) {
	benchmarkEmitLog(b, testhelpers.WithIngressCountOnly())
}

// BenchmarkIngressClientEmitLogDecodingServer is EmitLog in the default
// configuration against the default testhelpers server, which decodes
// every envelope as the agent does. The server runs in the same process:
// its decoding allocations count in allocs/op, and when it is the
// bottleneck EmitLog waits for room, so ns/op includes that wait.
func BenchmarkIngressClientEmitLogDecodingServer(b *testing.B) {
	benchmarkEmitLog(b)
}

func benchmarkEmitLog(b *testing.B, opts ...testhelpers.IngressServerOption) {
	certs := testhelpers.NewCerts(b)
	srv, err := testhelpers.NewIngressServer(certs, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	c := newIngressClient(b, certs, srv.Addr(), loggregator.WithTag("deployment", "cf"))
	b.ReportAllocs()
	for b.Loop() {
		c.EmitLog(benchLogLine, loggregator.WithSourceInfo("app-guid", "APP/PROC/WEB", "0"), loggregator.WithEnvelopeTag("k", "v"))
	}
	b.StopTimer()
	if err := c.CloseSend(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(c.Dropped()), "dropped")
}

// BenchmarkIngressClientEmitLogParallel is EmitLog from GOMAXPROCS
// goroutines, default configuration, decoding server (its allocations
// count in allocs/op).
func BenchmarkIngressClientEmitLogParallel(b *testing.B) {
	certs := testhelpers.NewCerts(b)
	srv, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	c := newIngressClient(b, certs, srv.Addr())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.EmitLog(benchLogLine, loggregator.WithSourceInfo("app-guid", "APP/PROC/WEB", "0"))
		}
	})
	b.StopTimer()
	if err := c.CloseSend(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(c.Dropped()), "dropped")
}

// rawBatchSenderLoop sends n logs like the IngressClient's in batches of
// 100 with the generated code on one BatchSender stream and returns how
// long it took until the server answered the closed stream.
func rawBatchSenderLoop(t *testing.T, certs *testhelpers.Certs, addr string, n int) time.Duration {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(certs.ClientTLSConfig("metron"))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := loggregator_v2.NewIngressClient(conn).BatchSender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	batch := make([]*loggregator_v2.Envelope, 0, 100)
	for i := 0; i < n; i++ {
		batch = append(batch, &loggregator_v2.Envelope{
			Timestamp:  time.Now().UnixNano(),
			SourceId:   "app-guid",
			InstanceId: "0",
			Tags:       map[string]string{"source_type": "APP/PROC/WEB", "k": "v"},
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{
				Payload: []byte(benchLogLine),
				Type:    loggregator_v2.Log_ERR,
			}},
		})
		if len(batch) == 100 {
			if err := stream.Send(&loggregator_v2.EnvelopeBatch{Batch: batch}); err != nil {
				t.Fatal(err)
			}
			batch = make([]*loggregator_v2.Envelope, 0, 100)
		}
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	return time.Since(t0)
}

// TestIngressThroughputVersusRawStream delivers 200 000 logs emitted in a
// tight loop through an IngressClient with the DEFAULT configuration and,
// in the same run, through a hand-written loop that builds the same
// envelopes with the generated types and sends them on a raw BatchSender
// stream in batches of 100. Both go to the default testhelpers server,
// which decodes every envelope as the agent does (and, as the agent,
// does not keep them: WithIngressDiscard). It requires that
// nothing is lost and reports the ratio of delivered envelopes per second.
// With GO_LOGGREGATOR_LOAD=1 the two loops alternate three times, in
// alternating order (the machine is shared, so single runs are noisy),
// the best time of each is compared, and with one emitter the client must
// reach 1.3 times the raw loop. Subtests run the burst from 1 and from 64
// goroutines; the 64-goroutine figure is reported, not required.
func TestIngressThroughputVersusRawStream(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("load test: skipped with -short and -race")
	}
	const n = 200_000
	rounds := 1
	if loadTest() {
		rounds = 3
	}
	for _, emitters := range []int{1, 64} {
		t.Run(fmt.Sprintf("emitters=%d", emitters), func(t *testing.T) {
			certs := testhelpers.NewCerts(t)
			var bestRaw, bestClient time.Duration
			for r := 0; r < rounds; r++ {
				srv := newIngressServer(t, certs, testhelpers.WithIngressDiscard())
				var rawTime time.Duration
				raw := func() {
					before := srv.Count()
					rawTime = rawBatchSenderLoop(t, certs, srv.Addr(), n)
					if got := srv.Count() - before; got != n {
						t.Fatalf("raw loop: server counted %d, want %d", got, n)
					}
				}
				if r%2 == 0 {
					raw()
				}
				base := srv.Count()

				log := &testLogger{}
				c := newIngressClient(t, certs, srv.Addr(), loggregator.WithLogger(log))
				t0 := time.Now()
				var wg sync.WaitGroup
				for g := 0; g < emitters; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := g; i < n; i += emitters {
							c.EmitLog(benchLogLine, loggregator.WithSourceInfo("app-guid", "APP/PROC/WEB", "0"), loggregator.WithEnvelopeTag("k", "v"))
						}
					}()
				}
				wg.Wait()
				emitTime := time.Since(t0)
				if err := c.CloseSend(); err != nil {
					t.Fatal(err)
				}
				clientTime := time.Since(t0)
				received := srv.Count() - base
				lost := n - received
				if r%2 == 1 {
					raw()
				}
				srv.Stop()
				t.Logf("round %d: raw BatchSender loop: %d envelopes in %v (%.0f/s)", r, n, rawTime, n/rawTime.Seconds())
				t.Logf("round %d: IngressClient (default options, %d emitters): %d envelopes in %v incl. CloseSend (%.0f/s; Emit loop alone %v), received %d, lost %d, dropped %d",
					r, emitters, n, clientTime, n/clientTime.Seconds(), emitTime, received, lost, c.Dropped())
				if lost != 0 || c.Dropped() != 0 {
					t.Errorf("%d envelopes lost, %d dropped; log:\n%s", lost, c.Dropped(), log)
				}
				if r == 0 || rawTime < bestRaw {
					bestRaw = rawTime
				}
				if r == 0 || clientTime < bestClient {
					bestClient = clientTime
				}
			}
			ratio := bestRaw.Seconds() / bestClient.Seconds()
			t.Logf("throughput ratio IngressClient/raw = %.2f (best of %d: raw %v, client %v)", ratio, rounds, bestRaw, bestClient)
			if loadTest() && emitters == 1 && ratio < 1.3 {
				t.Errorf("ratio %.2f < 1.3", ratio)
			}
		})
	}
}
