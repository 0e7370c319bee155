package devserver_test

import (
	"context"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

const mib = 1 << 20

// stalledGateway opens GET /v2/read?log on a raw connection with a small
// receive buffer and never reads the response.
func stalledGateway(t *testing.T, s *devserver.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addrs().Gateway)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	if _, err := io.WriteString(conn, "GET /v2/read?log HTTP/1.1\r\nHost: dev\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// stalledGRPC opens a BatchedReceiver stream of logs on its own connection
// and never calls Recv. Its windows are fixed at 64 KiB (no BDP growth) so
// that the client side, which lives in the same process, holds little.
func stalledGRPC(t *testing.T, ctx context.Context, s *devserver.Server) {
	t.Helper()
	cc, err := grpc.NewClient(s.Addrs().Egress,
		grpc.WithTransportCredentials(credentials.NewTLS(s.Certs().ClientTLSConfig("reverselogproxy"))),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	if _, err := loggregator_v2.NewEgressClient(cc).BatchedReceiver(ctx, sub{kinds: []string{"log"}}.request()); err != nil {
		t.Fatal(err)
	}
}

// feeder sends 60 KB logs over one v2 ingress stream.
type feeder struct {
	stream loggregator_v2.Ingress_BatchSenderClient
	batch  []*loggregator_v2.Envelope
	sent   int
}

func newFeeder(t *testing.T, ctx context.Context, s *devserver.Server) *feeder {
	t.Helper()
	stream, err := loggregator_v2.NewIngressClient(dial(t, s, s.Addrs().Ingress, "metron")).BatchSender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := sizedLog(60_000, 'x')
	e.SourceId = "app-1"
	f := &feeder{stream: stream}
	for i := 0; i < 20; i++ { // 1.2 MB messages
		f.batch = append(f.batch, e)
	}
	t.Cleanup(func() { _, _ = stream.CloseAndRecv() })
	return f
}

// round sends n logs (a multiple of 20).
func (f *feeder) round(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i += len(f.batch) {
		if err := f.stream.Send(&loggregator_v2.EnvelopeBatch{Batch: f.batch}); err != nil {
			t.Fatal(err)
		}
	}
	f.sent += n
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// peakRSS returns the process's peak resident set (VmHWM), or "" where
// /proc is unavailable.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return ""
}

// Per-subscriber memory bounds documented on Config.BufferBytes, for
// envelopes up to 1 MiB: the buffer, plus for gRPC one taken batch and two
// encoded messages (3 MiB), for the gateway one taken chunk of 256 KiB and
// its JSON (7 x 256 KiB).
const (
	grpcSubscriberBound    = devserver.DefaultBufferBytes + 3*mib
	gatewaySubscriberBound = devserver.DefaultBufferBytes + 7*256<<10
	// ingressBound covers one v2 ingress stream's message being decoded
	// and the test's own feeder (each at most gRPC's 4 MiB limit).
	ingressBound = 2 * 4 * mib
)

// TestStalledSubscribersMemoryBounded is issue 13 point 7: four gateway
// and three gRPC subscribers that never read, fed 3,000 logs of 60 KB
// (180 MB, more than the old unbounded buffers needed to pass the bound)
// with default options. The live heap of the process (dev plus
// the test's clients, measured with runtime.MemStats.HeapAlloc after a GC
// after every round of 100 logs) must stay under the documented bound: the
// heap before subscribing, plus for each of the nine subscribers its
// per-subscriber bound (DefaultBufferBytes plus one batch in flight), plus
// ingress's message in flight. A healthy gRPC and a healthy gateway
// subscriber must receive every log meanwhile.
func TestStalledSubscribersMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const rounds, perRound = 30, 100
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	f := newFeeder(t, ctx, s)
	base := liveHeap()

	healthyGRPC := subscribeGRPC(t, ctx, s, sub{kinds: []string{"log"}, preferred: true}.request())
	healthyGRPC.countOnly()
	healthyGateway := subscribeGateway(t, ctx, s, "log")
	healthyGateway.countOnly()
	for i := 0; i < 4; i++ {
		stalledGateway(t, s)
	}
	for i := 0; i < 3; i++ {
		stalledGRPC(t, ctx, s)
	}
	waitSubscribers(t, s, 9)
	bound := base + ingressBound + 4*grpcSubscriberBound + 5*gatewaySubscriberBound

	var peak uint64
	for r := 0; r < rounds; r++ {
		f.round(t, perRound)
		if !healthyGRPC.waitLen(ctx, f.sent) || !healthyGateway.waitLen(ctx, f.sent) {
			t.Fatalf("round %d: healthy subscribers got %d (gRPC) and %d (gateway) of %d", r, healthyGRPC.Len(), healthyGateway.Len(), f.sent)
		}
		if h := liveHeap(); h > peak {
			peak = h
		}
		if peak > bound {
			break
		}
	}
	st := s.Stats()
	t.Logf("fed %d logs of 60 KB (%d MB); live heap: before subscribing %.1f MiB, peak %.1f MiB, bound %.1f MiB; peak RSS of the whole test process %s (with -race, the detector's shadow memory too); stats %+v",
		f.sent, f.sent*60/1000, mibs(base), mibs(peak), mibs(bound), peakRSS(), st)
	if peak > bound {
		t.Errorf("peak live heap %.1f MiB exceeds the documented bound %.1f MiB", mibs(peak), mibs(bound))
	}
	if healthyGRPC.Len() != f.sent || healthyGateway.Len() != f.sent {
		t.Errorf("healthy subscribers got %d (gRPC) and %d (gateway) of %d", healthyGRPC.Len(), healthyGateway.Len(), f.sent)
	}
	if st.Dropped == 0 {
		t.Error("stalled subscribers dropped nothing")
	}
}

func mibs(b uint64) float64 { return float64(b) / mib }

// TestGatewayDeadReaderDropped: a gateway subscriber that stops reading is
// disconnected once a write takes longer than GatewayWriteTimeout, and
// counted; a healthy subscriber keeps receiving everything.
func TestGatewayDeadReaderDropped(t *testing.T) {
	s := startServer(t, func(c *devserver.Config) { c.GatewayWriteTimeout = 300 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := newFeeder(t, ctx, s)
	healthy := subscribeGateway(t, ctx, s, "log")
	healthy.countOnly()
	stalledGateway(t, s)
	waitSubscribers(t, s, 2)
	for s.Stats().GatewayWriteTimeouts == 0 {
		if ctx.Err() != nil {
			t.Fatalf("no write timeout after %d logs; stats %+v", f.sent, s.Stats())
		}
		f.round(t, 40)
		if !healthy.waitLen(ctx, f.sent) {
			t.Fatalf("healthy subscriber got %d of %d", healthy.Len(), f.sent)
		}
	}
	// The handler returned: its subscription is gone. (The kernel may
	// still hold the response's tail in the closed socket's send queue,
	// outside the process.)
	waitSubscribers(t, s, 1)
	f.round(t, 40)
	if !healthy.waitLen(ctx, f.sent) {
		t.Fatalf("healthy subscriber got %d of %d after the drop", healthy.Len(), f.sent)
	}
	if st := s.Stats(); st.GatewayWriteTimeouts != 1 {
		t.Errorf("GatewayWriteTimeouts %d, want 1", st.GatewayWriteTimeouts)
	}
	t.Logf("dead reader dropped after %d logs of 60 KB; stats %+v", f.sent, s.Stats())
}
