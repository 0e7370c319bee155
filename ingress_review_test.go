package loggregator_test

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestIngressClientBufferStaysWithinByteBound emits with no server at all
// and measures the heap the buffer holds: it must stay within
// DefaultIngressBufferBytes (plus a small allowance per envelope for the
// batch bookkeeping), whatever the batch size and envelope size.
func TestIngressClientBufferStaysWithinByteBound(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	addr := closedAddr(t)
	small := strings.Repeat("x", 100)
	big := strings.Repeat("y", 64<<10)
	tests := []struct {
		name      string
		batchSize uint
		msg       string
		n         int
	}{
		{"batch size 1", 1, small, 20_000},
		{"batch size 10", 10, small, 20_000},
		{"batch size 100", 100, small, 20_000},
		{"64 KiB logs", 100, big, 2_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := heapInUse()
			c := newIngressClient(t, certs, addr, loggregator.WithBatchMaxSize(tc.batchSize),
				loggregator.WithDropWhenFull(), loggregator.WithCloseTimeout(100*time.Millisecond))
			for i := 0; i < tc.n; i++ {
				c.EmitLog(tc.msg)
			}
			grew := int64(heapInUse()) - int64(before)
			bound := int64(loggregator.DefaultIngressBufferBytes) + int64(loggregator.DefaultIngressBufferSize)*64 + 2<<20
			t.Logf("%s: heap grew by %.2f MiB with the agent down (bound %.2f MiB), dropped %d",
				tc.name, float64(grew)/(1<<20), float64(bound)/(1<<20), c.Dropped())
			if grew > bound {
				t.Errorf("heap grew by %d bytes, bound %d", grew, bound)
			}
			_ = c.CloseSend()
			runtime.KeepAlive(c)
		})
	}
}

// TestIngressClientOversizedEnvelopeIsInvalid emits an envelope above
// MaxIngressEnvelopeSize between two ordinary batches: it is counted as
// dropped at Emit and the batches around it are delivered.
func TestIngressClientOversizedEnvelopeIsInvalid(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr())
	for i := 0; i < 150; i++ {
		c.EmitLog("before")
	}
	c.EmitLog(strings.Repeat("z", loggregator.MaxIngressEnvelopeSize))
	if d := c.Dropped(); d != 1 {
		t.Errorf("Dropped = %d right after the oversized Emit, want 1", d)
	}
	for i := 0; i < 150; i++ {
		c.EmitLog("after")
	}
	if err := c.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	if got := srv.Count(); got != 300 {
		t.Errorf("server received %d envelopes, want 300", got)
	}
}

// TestIngressClientLeavesOptionMemoryAlone uses options that install
// their own payload slice and unknown fields: the client must not write
// into the slice later, and unknown fields must not carry over.
func TestIngressClientLeavesOptionMemoryAlone(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr())
	mine := []byte("user-owned-bytes")
	ownPayload := func(m proto.Message) {
		if e, ok := m.(*loggregator_v2.Envelope); ok && e.GetLog() != nil {
			e.GetLog().Payload = mine
		}
	}
	unknown := func(m proto.Message) {
		m.ProtoReflect().SetUnknown(protoreflect.RawFields{0xf8, 0x07, 0x01}) // field 127, varint 1
	}
	c.EmitLog("first", ownPayload, unknown)
	c.EmitLog("CLOBBERned-bytes")
	c.EmitLog("third")
	if err := c.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if string(mine) != "user-owned-bytes" {
		t.Errorf("the option's slice was changed to %q", mine)
	}
	envs := srv.Envelopes()
	if len(envs) != 3 {
		t.Fatalf("got %d envelopes", len(envs))
	}
	wantPayloads := []string{"user-owned-bytes", "CLOBBERned-bytes", "third"}
	for i, e := range envs {
		if !bytes.Equal(e.GetLog().GetPayload(), []byte(wantPayloads[i])) {
			t.Errorf("envelope %d payload %q, want %q", i, e.GetLog().GetPayload(), wantPayloads[i])
		}
	}
	if len(envs[0].ProtoReflect().GetUnknown()) == 0 {
		t.Error("the first envelope lost the option's unknown field")
	}
	for _, e := range envs[1:] {
		if len(e.ProtoReflect().GetUnknown()) != 0 {
			t.Errorf("unknown fields carried over to %q", e.GetLog().GetPayload())
		}
	}
}

// TestIngressClientReplacesAStalledStream: the server stops reading the
// open stream (it stays open) but serves new ones. The client must give
// the stalled stream up within its send deadline and deliver everything
// on a new stream.
func TestIngressClientReplacesAStalledStream(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	const sendTimeout = 500 * time.Millisecond
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithSendTimeout(sendTimeout))
	ctx := testContext(t, 20*time.Second)
	c.EmitLog("first")
	if _, err := srv.WaitForCount(ctx, 1); err != nil {
		t.Fatal(err)
	}
	streams := srv.StreamCount()
	srv.StallOpenStreams()
	t0 := time.Now()
	const n = 5000
	for i := 0; i < n; i++ {
		c.EmitLog("after the stall", seqOption("x", i))
	}
	if _, err := srv.WaitForCount(ctx, 1+n); err != nil {
		t.Fatalf("after the stall: %v", err)
	}
	took := time.Since(t0)
	t.Logf("stalled stream replaced: %d envelopes delivered %v after the stall on %d new streams (send deadline %v)",
		n, took, srv.StreamCount()-streams, sendTimeout)
	if took > sendTimeout+2*time.Second {
		t.Errorf("delivery took %v, send deadline %v", took, sendTimeout)
	}
	if err := c.CloseSend(); err != nil {
		t.Errorf("CloseSend: %v", err)
	}
	if got, _ := uniqueByPhase(srv); got["x"] != n {
		t.Errorf("%d of %d delivered", got["x"], n)
	}
}

// TestNewIngressClientHonoursWithBlock: WithBlock and WithTimeout make the
// constructor wait for the connection and fail after about the timeout.
func TestNewIngressClientHonoursWithBlock(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	tlsConf, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the deprecated options are what callers pass; the test checks they are honoured.
	block, timeout := grpc.WithBlock(), grpc.WithTimeout(time.Second)
	t0 := time.Now()
	c, err := loggregator.NewIngressClient(tlsConf, loggregator.WithAddr(closedAddr(t)), loggregator.WithDialOptions(block, timeout))
	took := time.Since(t0)
	t.Logf("NewIngressClient with WithBlock, WithTimeout(1s) to a closed port: %v after %v", err, took)
	if err == nil {
		_ = c.CloseSend()
		t.Fatal("no error")
	}
	if took < 900*time.Millisecond || took > 3*time.Second {
		t.Errorf("returned after %v, want about 1 s", took)
	}
}

// TestWithDialOptionsIgnoresNil: a nil grpc.DialOption does not panic.
func TestWithDialOptionsIgnoresNil(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	var none grpc.DialOption
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithDialOptions(nil), loggregator.WithDialOptions(none, grpc.WithUserAgent("test")))
	c.EmitLog("with nil dial options")
	if err := c.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if srv.Count() != 1 {
		t.Errorf("server received %d", srv.Count())
	}
}

// TestIngressClientDropHandlerMayCloseTheClient: a drop handler that calls
// CloseSend returns, and a slow handler does not hold CloseSend up.
func TestIngressClientDropHandlerMayCloseTheClient(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	t.Run("handler calls CloseSend", func(t *testing.T) {
		var c *loggregator.IngressClient
		returned := make(chan error, 1)
		var once atomic.Bool
		c = newIngressClient(t, certs, closedAddr(t), loggregator.WithBufferSize(10), loggregator.WithDropWhenFull(),
			loggregator.WithCloseTimeout(200*time.Millisecond),
			loggregator.WithDropHandler(func(int) {
				if once.CompareAndSwap(false, true) {
					returned <- c.CloseSend()
				}
			}))
		for i := 0; i < 20; i++ {
			c.EmitLog("drop me")
		}
		select {
		case err := <-returned:
			t.Logf("CloseSend from the drop handler returned %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("CloseSend called from the drop handler did not return")
		}
		if err := c.CloseSend(); !errors.Is(err, loggregator.ErrIngressClientClosed) {
			t.Errorf("second CloseSend = %v", err)
		}
	})
	t.Run("slow handler", func(t *testing.T) {
		release := make(chan struct{})
		c := newIngressClient(t, certs, closedAddr(t), loggregator.WithBufferSize(10), loggregator.WithDropWhenFull(),
			loggregator.WithCloseTimeout(200*time.Millisecond),
			loggregator.WithDropHandler(func(int) { <-release }))
		for i := 0; i < 20; i++ {
			c.EmitLog("drop me")
		}
		t0 := time.Now()
		_ = c.CloseSend()
		took := time.Since(t0)
		close(release)
		if limit := 200*time.Millisecond + loggregator.DropReportInterval + 2*time.Second; took > limit {
			t.Errorf("CloseSend took %v with a stuck drop handler", took)
		}
	})
}

// TestIngressClientCleanCloseAgainstAgent: the agent answers every closed
// stream with Unknown "EOF"; CloseSend returns nil and logs nothing.
func TestIngressClientCleanCloseAgainstAgent(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs, testhelpers.WithIngressAgentQueue(testhelpers.AgentQueue{}))
	log := &testLogger{}
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithLogger(log))
	for i := 0; i < 1000; i++ {
		c.EmitLog("clean")
	}
	if err := c.CloseSend(); err != nil {
		t.Errorf("CloseSend = %v", err)
	}
	if s := log.String(); s != "" {
		t.Errorf("logged:\n%s", s)
	}
	if srv.Count() != 1000 {
		t.Errorf("server received %d", srv.Count())
	}
}
