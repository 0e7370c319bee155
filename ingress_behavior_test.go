package loggregator_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// latencyLimit is the p99.9 Emit latency the non-blocking tests accept;
// the race detector slows everything down several times.
func latencyLimit() time.Duration {
	if raceEnabled {
		return 20 * time.Millisecond
	}
	return time.Millisecond
}

// measureEmits calls emit n times and returns the p99.9 and the maximum
// duration of one call.
func measureEmits(n int, emit func(i int)) (p999, worst time.Duration) {
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		emit(i)
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	return lat[n*999/1000], lat[n-1]
}

func TestIngressClientDeliversEverythingConcurrentSafe(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithBufferSize(100_000))
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				c.EmitLog("concurrent", loggregator.WithSourceInfo("s", "t", "i"))
				c.EmitCounter("c")
				c.EmitGauge(loggregator.WithGaugeValue("g", float64(i), "u"))
			}
		}()
	}
	wg.Wait()
	if err := c.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	if got, want := srv.Count(), goroutines*each*3; got != want {
		t.Fatalf("server received %d envelopes, want %d (dropped %d)", got, want, c.Dropped())
	}
	if d := c.Dropped(); d != 0 {
		t.Fatalf("Dropped = %d", d)
	}
}

// TestIngressClientStalledServerNeverWaitsLongerThanTheBound: a server
// that accepts the stream and never reads. Emit calls wait at most
// DefaultIngressMaxEmitWait, and only until the client has found the
// server stalled; then they drop at once (counted).
func TestIngressClientStalledServerNeverWaitsLongerThanTheBound(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	srv.Stall(true)
	var handled atomic.Int64
	const closeTimeout = time.Second
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithCloseTimeout(closeTimeout),
		loggregator.WithDropHandler(func(n int) { handled.Add(int64(n)) }))
	const n = 100_000
	p999, worst := measureEmits(n, func(int) {
		c.EmitLog("a log line that a stalled server never reads", loggregator.WithSourceInfo("src", "APP", "0"))
	})
	t.Logf("stalled server: %d EmitLog calls, p99.9 %v, max %v, dropped %d", n, p999, worst, c.Dropped())
	if p999 > latencyLimit() {
		t.Errorf("p99.9 EmitLog latency %v > %v", p999, latencyLimit())
	}
	// The bound is a timer; allow for scheduling on a loaded machine.
	if limit := loggregator.DefaultIngressMaxEmitWait + 250*time.Millisecond; worst > limit {
		t.Errorf("an EmitLog call waited %v, bound %v", worst, loggregator.DefaultIngressMaxEmitWait)
	}
	if c.Dropped() == 0 {
		t.Error("nothing dropped although the server never read")
	}
	t0 := time.Now()
	err := c.CloseSend()
	took := time.Since(t0)
	t.Logf("stalled server: CloseSend took %v: %v", took, err)
	if err == nil {
		t.Error("CloseSend = nil although envelopes were not delivered")
	}
	if took > closeTimeout+2*time.Second {
		t.Errorf("CloseSend took %v, bound is %v", took, closeTimeout)
	}
	if got, want := uint64(handled.Load()), c.Dropped(); got != want {
		t.Errorf("drop handler told %d, Dropped %d", got, want)
	}
}

func TestIngressClientNoServer(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	log := &testLogger{}
	const closeTimeout = 500 * time.Millisecond
	c := newIngressClient(t, certs, addr, loggregator.WithCloseTimeout(closeTimeout), loggregator.WithLogger(log))
	const n = 100_000
	p999, worst := measureEmits(n, func(int) { c.EmitLog("nobody listens", loggregator.WithSourceInfo("src", "APP", "0")) })
	t.Logf("no server: %d EmitLog calls, p99.9 %v, max %v, dropped %d", n, p999, worst, c.Dropped())
	if p999 > latencyLimit() {
		t.Errorf("p99.9 EmitLog latency %v > %v", p999, latencyLimit())
	}
	// The bound is a timer; allow for scheduling on a loaded machine.
	if limit := loggregator.DefaultIngressMaxEmitWait + 250*time.Millisecond; worst > limit {
		t.Errorf("an EmitLog call waited %v, bound %v", worst, loggregator.DefaultIngressMaxEmitWait)
	}
	t0 := time.Now()
	err = c.CloseSend()
	took := time.Since(t0)
	t.Logf("no server: CloseSend took %v: %v", took, err)
	if err == nil || !strings.Contains(err.Error(), "not delivered") {
		t.Errorf("CloseSend = %v, want a not-delivered error", err)
	}
	if took > closeTimeout+2*time.Second {
		t.Errorf("CloseSend took %v, bound is %v", took, closeTimeout)
	}
	if !log.contains("Error while flushing") {
		t.Errorf("nothing logged about failed sends:\n%s", log)
	}
}

func TestIngressClientReconnectsAfterServerRestart(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithCloseTimeout(10*time.Second),
		loggregator.WithBatchFlushInterval(10*time.Millisecond))
	const n = 20_000
	for i := 0; i < n; i++ {
		if i == n/2 {
			if err := srv.Restart(); err != nil {
				t.Fatalf("Restart: %v", err)
			}
		}
		c.EmitLog("across a restart", seqOption("x", i))
		if i%100 == 99 {
			time.Sleep(time.Millisecond)
		}
	}
	if err := c.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	got, total := uniqueByPhase(srv)
	t.Logf("restart: emitted %d, received %d unique (%d with duplicates), dropped (counted) %d, streams opened %d",
		n, got["x"], total, c.Dropped(), srv.StreamCount())
	if srv.StreamCount() < 2 {
		t.Errorf("client did not reconnect: %d streams", srv.StreamCount())
	}
	// Batches the broken stream may have lost are sent again: every
	// envelope is received or counted.
	if got["x"]+int(c.Dropped()) != n {
		t.Errorf("received %d + dropped %d != emitted %d", got["x"], c.Dropped(), n)
	}
}

func TestIngressClientCreateCloseCyclesLeaveNoGoroutines(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs, testhelpers.WithIngressCountOnly())
	ignore := goleak.IgnoreCurrent()
	tlsConf, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	const cycles = 100
	for i := 0; i < cycles; i++ {
		c, err := loggregator.NewIngressClient(tlsConf, loggregator.WithAddr(srv.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 10; j++ {
			c.EmitLog("cycle")
		}
		if err := c.CloseSend(); err != nil {
			t.Fatalf("cycle %d: CloseSend: %v", i, err)
		}
	}
	if got := srv.Count(); got != cycles*10 {
		t.Errorf("server received %d envelopes, want %d", got, cycles*10)
	}
	goleak.VerifyNone(t, ignore)
}

func TestIngressClientAfterCloseSend(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr())
	c.EmitLog("before")
	if err := c.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	if srv.Count() != 1 {
		t.Fatalf("server has %d envelopes after CloseSend, want 1", srv.Count())
	}
	if err := c.CloseSend(); !errors.Is(err, loggregator.ErrIngressClientClosed) {
		t.Errorf("second CloseSend = %v", err)
	}
	c.EmitLog("after")
	c.EmitCounter("after")
	c.EmitGauge()
	c.EmitTimer("after", time.Now(), time.Now())
	c.Emit(nil)
	if d := c.Dropped(); d != 5 {
		t.Errorf("Dropped = %d, want 5", d)
	}
	ctx := testContext(t, 10*time.Second)
	if err := c.EmitEvent(ctx, "after", "close"); err != nil {
		t.Fatalf("EmitEvent after CloseSend: %v", err)
	}
	recs := srv.Records()
	if len(recs) != 2 || recs[1].RPC != testhelpers.IngressRPCSend || recs[1].Envelope.GetEvent().GetTitle() != "after" {
		t.Errorf("records = %v", recs)
	}
}

func TestIngressClientBadOptionValuesAreClamped(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	var nilContext context.Context // bad input under test
	tests := []struct {
		name string
		opts []loggregator.IngressOption
	}{
		{"zero batch size", []loggregator.IngressOption{loggregator.WithBatchMaxSize(0)}},
		{"batch size above buffer", []loggregator.IngressOption{loggregator.WithBatchMaxSize(1 << 30), loggregator.WithBufferSize(5)}},
		{"zero flush interval", []loggregator.IngressOption{loggregator.WithBatchFlushInterval(0)}},
		{"negative flush interval", []loggregator.IngressOption{loggregator.WithBatchFlushInterval(-time.Second)}},
		{"nanosecond flush interval", []loggregator.IngressOption{loggregator.WithBatchFlushInterval(time.Nanosecond)}},
		{"zero buffer and close timeout", []loggregator.IngressOption{loggregator.WithBufferSize(0), loggregator.WithCloseTimeout(0)}},
		{"zero byte bound, emit wait and send timeout", []loggregator.IngressOption{loggregator.WithBufferBytes(0), loggregator.WithMaxEmitWait(0), loggregator.WithSendTimeout(0)}},
		{"tiny byte bound, negative emit wait and send timeout", []loggregator.IngressOption{loggregator.WithBufferBytes(1), loggregator.WithMaxEmitWait(-time.Second), loggregator.WithSendTimeout(-time.Second)}},
		{"nil logger, context and handler", []loggregator.IngressOption{loggregator.WithLogger(nil), loggregator.WithContext(nilContext), loggregator.WithDropHandler(nil)}},
		{"empty address", []loggregator.IngressOption{loggregator.WithAddr(srv.Addr()), loggregator.WithAddr("")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Count()
			opts := append([]loggregator.IngressOption{loggregator.WithAddr(srv.Addr())}, tc.opts...)
			if tc.name == "empty address" {
				// The default address has no server; only check construction.
				c, err := loggregator.NewIngressClient(nil, tc.opts...)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.CloseSend(); err != nil {
					t.Fatal(err)
				}
				return
			}
			c := newIngressClient(t, certs, srv.Addr(), opts...)
			for i := 0; i < 5; i++ {
				c.EmitLog("clamped")
			}
			ctx := testContext(t, 10*time.Second)
			if _, err := srv.WaitForCount(ctx, before+5); err != nil {
				t.Fatalf("before CloseSend: %v", err)
			}
			if err := c.CloseSend(); err != nil {
				t.Fatalf("CloseSend: %v", err)
			}
		})
	}
}

func TestIngressClientWithContextEnded(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	srv.Stall(true)
	ctx, cancel := context.WithCancel(context.Background())
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithContext(ctx), loggregator.WithCloseTimeout(time.Minute))
	for i := 0; i < 10_000; i++ {
		c.EmitLog("pending")
	}
	cancel()
	t0 := time.Now()
	err := c.CloseSend()
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("CloseSend took %v after the context ended", took)
	}
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("CloseSend = %v, want an error wrapping context.Canceled", err)
	}
}

func TestIngressTLSConfigErrorsNameTheFile(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	noCerts := filepath.Join(dir, "empty-ca.pem")
	if err := os.WriteFile(noCerts, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := t.TempDir() // a directory cannot be read as a file, even by root
	tests := []struct {
		name, ca, cert, key, wantInErr string
	}{
		{"missing cert", certs.CAFile, missing, certs.ClientKeyFile, missing},
		{"missing key", certs.CAFile, certs.ClientCertFile, missing, missing},
		{"missing ca", missing, certs.ClientCertFile, certs.ClientKeyFile, missing},
		{"unreadable ca", unreadable, certs.ClientCertFile, certs.ClientKeyFile, unreadable},
		{"unreadable cert", certs.CAFile, unreadable, certs.ClientKeyFile, unreadable},
		{"ca without certificates", noCerts, certs.ClientCertFile, certs.ClientKeyFile, noCerts},
		{"key is not a key", certs.CAFile, certs.ClientCertFile, noCerts, noCerts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []func(string, string, string) (interface{}, error){
				func(a, b, c string) (interface{}, error) { return loggregator.NewIngressTLSConfig(a, b, c) },
				func(a, b, c string) (interface{}, error) { return loggregator.NewEgressTLSConfig(a, b, c) },
			} {
				_, err := f(tc.ca, tc.cert, tc.key)
				if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
					t.Errorf("error %v does not name %s", err, tc.wantInErr)
				}
			}
		})
	}
}

func TestIngressClientServerFromAnotherCA(t *testing.T) {
	serverCerts := testhelpers.NewCerts(t)
	clientCerts := testhelpers.NewCerts(t) // a different CA
	srv := newIngressServer(t, serverCerts)
	log := &testLogger{}
	c := newIngressClient(t, clientCerts, srv.Addr(), loggregator.WithLogger(log)) // default close timeout (5 s)
	p999, worst := measureEmits(10_000, func(int) { c.EmitLog("untrusted") })
	t.Logf("bad certificate: 10000 EmitLog calls, p99.9 %v, max %v", p999, worst)
	if p999 > latencyLimit() {
		t.Errorf("p99.9 EmitLog latency %v > %v", p999, latencyLimit())
	}
	t0 := time.Now()
	err := c.CloseSend()
	took := time.Since(t0)
	t.Logf("bad certificate: CloseSend took %v: %v", took, err)
	if err == nil || !strings.Contains(err.Error(), "authentication handshake failed") || !strings.Contains(err.Error(), "not delivered") {
		t.Errorf("CloseSend = %v, want the TLS failure and the count not delivered", err)
	}
	if took > time.Second {
		t.Errorf("CloseSend took %v, want at most 1 s", took)
	}
	if srv.Count() != 0 {
		t.Errorf("server received %d envelopes", srv.Count())
	}
	if log.panics != 0 {
		t.Errorf("Panicf called %d times", log.panics)
	}
}
