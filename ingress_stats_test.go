package loggregator_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// refusedAtEmit returns the envelopes an IngressClient refused at Emit, never
// accepting them.
func refusedAtEmit(s loggregator.IngressClientStats) uint64 {
	return s.Dropped.Total() - s.Evicted - s.Dropped.BrokenStream
}

// checkIdentities checks the accounting identities documented on
// IngressClientStats for a client whose sending has stopped and that was
// given emitted envelopes, and that Dropped agrees with the snapshot.
func checkIdentities(t *testing.T, c *loggregator.IngressClient, emitted uint64) loggregator.IngressClientStats {
	t.Helper()
	s := c.Stats()
	if s.Buffered != 0 {
		t.Errorf("Buffered = %d after sending stopped", s.Buffered)
	}
	if got := s.Sent + s.Evicted + s.Dropped.BrokenStream; s.Accepted != got {
		t.Errorf("Accepted %d != Sent %d + Evicted %d + BrokenStream %d", s.Accepted, s.Sent, s.Evicted, s.Dropped.BrokenStream)
	}
	if got := s.Sent + s.Dropped.Total(); got != emitted {
		t.Errorf("Sent %d + Dropped %d = %d, emitted %d", s.Sent, s.Dropped.Total(), got, emitted)
	}
	if got := s.Accepted + refusedAtEmit(s); got != emitted {
		t.Errorf("Accepted %d + refused %d = %d, emitted %d", s.Accepted, refusedAtEmit(s), got, emitted)
	}
	if d := c.Dropped(); d != s.Dropped.Total() {
		t.Errorf("Dropped() = %d, Stats().Dropped.Total() = %d", d, s.Dropped.Total())
	}
	if s.Evicted > s.Dropped.AgentUnavailable {
		t.Errorf("Evicted %d > AgentUnavailable %d", s.Evicted, s.Dropped.AgentUnavailable)
	}
	return s
}

// TestIngressClientStatsAcceptedAndSent: against a healthy server, every
// envelope is accepted and, after CloseSend, sent; nothing else counts.
func TestIngressClientStatsAcceptedAndSent(t *testing.T) {
	const n = 1000
	tests := []struct {
		name        string
		batchSize   uint
		minBatches  uint64
		maxBatches  uint64
		description string
	}{
		// With batches of one envelope the batch count is exact.
		{"batches of 1", 1, n, n, "one batch per envelope"},
		// A partial batch may go whenever the sender wakes up for another
		// reason, so only the range is fixed.
		{"default batches", 0, n / loggregator.DefaultBatchMaxSize, n, "full batches, and partial ones"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certs := testhelpers.NewCerts(t)
			srv := newIngressServer(t, certs)
			var opts []loggregator.IngressOption
			if tc.batchSize > 0 {
				opts = append(opts, loggregator.WithBatchMaxSize(tc.batchSize))
			}
			c := newIngressClient(t, certs, srv.Addr(), opts...)
			if s := c.Stats(); s != (loggregator.IngressClientStats{}) {
				t.Fatalf("new client: Stats = %+v, want zero", s)
			}
			for i := 0; i < n; i++ {
				c.EmitLog("counted", loggregator.WithSourceInfo("src", "APP", "0"))
			}
			if s := c.Stats(); s.Accepted != n || s.Dropped.Total() != 0 || s.Sent+s.Buffered > n {
				t.Errorf("after %d emits: %+v", n, s)
			}
			if err := c.CloseSend(); err != nil {
				t.Fatalf("CloseSend: %v", err)
			}
			s := checkIdentities(t, c, n)
			want := loggregator.IngressClientStats{Accepted: n, Sent: n, BatchesSent: s.BatchesSent}
			if s != want {
				t.Errorf("Stats:\n got %+v\nwant %+v", s, want)
			}
			if s.BatchesSent < tc.minBatches || s.BatchesSent > tc.maxBatches {
				t.Errorf("BatchesSent = %d, want %d..%d (%s)", s.BatchesSent, tc.minBatches, tc.maxBatches, tc.description)
			}
			if got := srv.Count(); uint64(got) != s.Sent {
				t.Errorf("server received %d, Sent %d", got, s.Sent)
			}
		})
	}
}

// TestIngressClientStatsStalledServer: a server that never reads. The
// first Emit that finds the buffer full waits WithMaxEmitWait in vain
// (BufferFull); then the client knows the agent is stalled and drops at
// once (AgentUnavailable), evicting the oldest batches. CloseSend gives
// up on what it holds (BrokenStream). Every envelope is accounted for.
func TestIngressClientStatsStalledServer(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	srv.Stall(true)
	const (
		n           = 20_000
		maxEmitWait = 50 * time.Millisecond
		// A waiting Emit gives up a little early (5 ms), so that the
		// whole call stays within the bound.
		minTimedOutWait = 45 * time.Millisecond
	)
	var handled atomic.Int64
	// The buffer (50 batches) is much larger than what gRPC flow control
	// lets the sender write to a stream nobody reads (about 64 KiB, a few
	// batches), so batches that were never written wait in it and can
	// be evicted.
	const bufferSize = 5000
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithBufferSize(bufferSize),
		loggregator.WithMaxEmitWait(maxEmitWait), loggregator.WithCloseTimeout(500*time.Millisecond),
		loggregator.WithDropHandler(func(d int) { handled.Add(int64(d)) }))
	for i := 0; i < n; i++ {
		c.EmitLog("never read", loggregator.WithSourceInfo("src", "APP", "0"))
	}
	before := c.Dropped()
	s := c.Stats()
	after := c.Dropped()
	t.Logf("stalled server, after %d emits: %+v", n, s)
	// All Emit calls returned: what they refused and accepted is final,
	// while the sender may still be counting later drops.
	if got := s.Accepted + refusedAtEmit(s); got != n {
		t.Errorf("Accepted %d + refused %d = %d, emitted %d", s.Accepted, refusedAtEmit(s), got, n)
	}
	if s.Dropped.Total() < before || s.Dropped.Total() > after {
		t.Errorf("Stats().Dropped.Total() = %d outside Dropped() before %d and after %d", s.Dropped.Total(), before, after)
	}
	if s.Dropped.BufferFull == 0 || s.Dropped.AgentUnavailable == 0 || s.Evicted == 0 {
		t.Errorf("want drops both after waiting and while the agent was stalled (with evictions): %+v", s.Dropped)
	}
	if s.Dropped.AfterClose != 0 || s.Dropped.Invalid != 0 {
		t.Errorf("unexpected causes: %+v", s.Dropped)
	}
	if s.Buffered == 0 || s.Buffered > bufferSize {
		t.Errorf("Buffered = %d, want 1..%d", s.Buffered, bufferSize)
	}
	// Each BufferFull drop waited for its timer; the waits are bounded.
	if s.EmitWaits < s.Dropped.BufferFull {
		t.Errorf("EmitWaits %d < BufferFull %d", s.EmitWaits, s.Dropped.BufferFull)
	}
	if least := time.Duration(s.Dropped.BufferFull) * minTimedOutWait; s.EmitWaitTotal < least {
		t.Errorf("EmitWaitTotal %v < %d timed-out waits of %v", s.EmitWaitTotal, s.Dropped.BufferFull, minTimedOutWait)
	}
	if s.EmitWaitMax < minTimedOutWait || s.EmitWaitMax > s.EmitWaitTotal {
		t.Errorf("EmitWaitMax %v, want at least %v and at most the total %v", s.EmitWaitMax, minTimedOutWait, s.EmitWaitTotal)
	}
	if limit := maxEmitWait + 500*time.Millisecond; s.EmitWaitMax > limit { // scheduling on a loaded machine
		t.Errorf("EmitWaitMax %v beyond the bound %v", s.EmitWaitMax, maxEmitWait)
	}

	if err := c.CloseSend(); err == nil {
		t.Error("CloseSend = nil although nothing was read")
	}
	s = checkIdentities(t, c, n)
	t.Logf("stalled server, after CloseSend: %+v", s)
	if s.Sent != 0 || srv.Count() != 0 {
		t.Errorf("Sent %d, server received %d: a stalled server confirms nothing", s.Sent, srv.Count())
	}
	if s.Dropped.BrokenStream == 0 {
		t.Error("nothing counted as lost at close")
	}
	if got := uint64(handled.Load()); got != s.Dropped.Total() {
		t.Errorf("drop handler told %d, Dropped %d", got, s.Dropped.Total())
	}
}

// TestIngressClientStatsEmitWaitsWhileAccepting: a buffer of one batch
// against a healthy server: Emit calls wait for room, find it, and
// nothing is dropped.
func TestIngressClientStatsEmitWaitsWhileAccepting(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs, testhelpers.WithIngressDiscard())
	const n, maxEmitWait = 5000, 5 * time.Second
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithBufferSize(100), loggregator.WithMaxEmitWait(maxEmitWait))
	for i := 0; i < n; i++ {
		c.EmitLog("waits for room")
	}
	if err := c.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	s := checkIdentities(t, c, n)
	t.Logf("small buffer: %+v", s)
	if s.Sent != n || s.Dropped.Total() != 0 || uint64(srv.Count()) != n {
		t.Errorf("Sent %d, dropped %d, server received %d; want %d, 0, %d", s.Sent, s.Dropped.Total(), srv.Count(), n, n)
	}
	if s.EmitWaits == 0 || s.EmitWaitTotal <= 0 || s.EmitWaitMax <= 0 {
		t.Errorf("no Emit wait counted with a buffer of %d for %d envelopes: %+v", 100, n, s)
	}
	if s.EmitWaitMax > s.EmitWaitTotal || s.EmitWaitMax >= maxEmitWait {
		t.Errorf("EmitWaitMax %v, total %v, bound %v", s.EmitWaitMax, s.EmitWaitTotal, maxEmitWait)
	}
}

// TestIngressClientStatsAfterClose: every Emit method called after
// CloseSend counts one AfterClose drop.
func TestIngressClientStatsAfterClose(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr())
	c.EmitLog("before")
	if err := c.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	emits := []struct {
		name string
		emit func()
	}{
		{"EmitLog", func() { c.EmitLog("after") }},
		{"EmitCounter", func() { c.EmitCounter("after") }},
		{"EmitGauge", func() { c.EmitGauge(loggregator.WithGaugeValue("g", 1, "u")) }},
		{"EmitTimer", func() { c.EmitTimer("after", time.Now(), time.Now()) }},
		{"Emit", func() { c.Emit(&loggregator_v2.Envelope{SourceId: "after"}) }},
	}
	for i, e := range emits {
		t.Run(e.name, func(t *testing.T) {
			e.emit()
			s := c.Stats()
			if s.Dropped.AfterClose != uint64(i+1) || s.Dropped.Total() != uint64(i+1) || c.Dropped() != uint64(i+1) {
				t.Errorf("after %d calls: Dropped() %d, %+v", i+1, c.Dropped(), s.Dropped)
			}
		})
	}
	s := checkIdentities(t, c, uint64(1+len(emits)))
	if s.Accepted != 1 || s.Sent != 1 {
		t.Errorf("Accepted %d, Sent %d, want 1, 1", s.Accepted, s.Sent)
	}
}

// TestIngressClientStatsInvalid: envelopes that cannot be sent count one
// Invalid drop each, at Emit, and the ordinary envelope beside them is
// sent.
func TestIngressClientStatsInvalid(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	tests := []struct {
		name string
		emit func(c *loggregator.IngressClient)
	}{
		{"oversized", func(c *loggregator.IngressClient) {
			c.EmitLog(strings.Repeat("z", loggregator.MaxIngressEnvelopeSize))
		}},
		{"nil envelope", func(c *loggregator.IngressClient) { c.Emit(nil) }},
		{"invalid UTF-8", func(c *loggregator.IngressClient) {
			c.EmitLog("bad source", loggregator.WithSourceInfo("src\xff", "APP", "0"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newIngressServer(t, certs)
			c := newIngressClient(t, certs, srv.Addr())
			c.EmitLog("ordinary")
			tc.emit(c)
			if s := c.Stats(); s.Dropped.Invalid != 1 || s.Dropped.Total() != 1 || s.Accepted != 1 {
				t.Errorf("right after the Emit: %+v", s)
			}
			if err := c.CloseSend(); err != nil {
				t.Fatalf("CloseSend: %v", err)
			}
			s := checkIdentities(t, c, 2)
			if s.Dropped != (loggregator.IngressDrops{Invalid: 1}) || s.Sent != 1 || srv.Count() != 1 {
				t.Errorf("Stats %+v, server received %d", s, srv.Count())
			}
		})
	}
}

// waitForPhase waits until the server has received all n envelopes
// tagged with phase by seqOption (some may have come twice).
func waitForPhase(ctx context.Context, t *testing.T, srv *testhelpers.IngressServer, phase string, n int) {
	t.Helper()
	for want := 1; ; {
		envs, err := srv.WaitForEnvelopes(ctx, want)
		if err != nil {
			t.Fatalf("phase %s: %v", phase, err)
		}
		seen := map[string]bool{}
		for _, e := range envs {
			if e.GetTags()["phase"] == phase {
				seen[e.GetTags()["seq"]] = true
			}
		}
		if len(seen) == n {
			return
		}
		want = len(envs) + 1
	}
}

// TestIngressClientStatsReconnects restarts the server three times, each
// time once the client has delivered what it was given: each restart
// counts one reconnect, and nothing is lost.
func TestIngressClientStatsReconnects(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithCloseTimeout(10*time.Second))
	ctx := testContext(t, 30*time.Second)
	// Fewer than a batch per phase: the batch leaves on the flush
	// interval, not the moment it is emitted.
	const restarts, per = 3, 50
	emitPhase := func(r int) {
		phase := fmt.Sprint("p", r)
		for i := 0; i < per; i++ {
			c.EmitLog("across restarts", seqOption(phase, i))
		}
		// The phase's envelopes were emitted after the restart, so once
		// the server has them all a stream opened after the restart
		// brought them.
		waitForPhase(ctx, t, srv, phase, per)
	}
	emitPhase(0)
	if s := c.Stats(); s.Reconnects != 0 {
		t.Fatalf("Reconnects = %d before any restart", s.Reconnects)
	}
	for r := 1; r <= restarts; r++ {
		if err := srv.Restart(); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		emitPhase(r)
		if s := c.Stats(); s.Reconnects != uint64(r) {
			t.Errorf("after restart %d: Reconnects = %d, want %d (%+v)", r, s.Reconnects, r, s)
		}
	}
	if err := c.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	const emitted = (restarts + 1) * per
	s := checkIdentities(t, c, emitted)
	got, total := uniqueByPhase(srv)
	t.Logf("restarts: %+v; server received %d (%v distinct per phase)", s, total, got)
	if s.Reconnects != restarts || s.Sent != emitted {
		t.Errorf("Reconnects %d, Sent %d; want %d, %d", s.Reconnects, s.Sent, restarts, emitted)
	}
	for r := 0; r <= restarts; r++ {
		if n := got[fmt.Sprint("p", r)]; n != per {
			t.Errorf("phase %d: server received %d distinct envelopes, want %d", r, n, per)
		}
	}
}

// TestIngressClientStatsLastErrorRefused: with nothing listening, the
// connection is refused; the last error says so, with its time, and
// CloseSend counts what it could not deliver.
func TestIngressClientStatsLastErrorRefused(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	t0 := time.Now()
	c := newIngressClient(t, certs, closedAddr(t), loggregator.WithCloseTimeout(5*time.Second))
	c.EmitLog("nobody listens")
	err := c.CloseSend()
	t1 := time.Now()
	if err == nil {
		t.Fatal("CloseSend = nil with nothing listening")
	}
	s := checkIdentities(t, c, 1)
	t.Logf("refused: CloseSend: %v; %+v", err, s)
	if s.LastError == nil || !strings.Contains(s.LastError.Error(), "refused") {
		t.Errorf("LastError = %v, want a refused connection", s.LastError)
	}
	if s.LastErrorTime.Before(t0) || s.LastErrorTime.After(t1) {
		t.Errorf("LastErrorTime %v outside [%v, %v]", s.LastErrorTime, t0, t1)
	}
	if s.Accepted != 1 || s.Dropped != (loggregator.IngressDrops{BrokenStream: 1}) || s.Reconnects != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

// TestIngressClientStatsConcurrentSafe takes snapshots while emitters
// and the sender count: no counter goes backwards, and the final counts
// are exact.
func TestIngressClientStatsConcurrentSafe(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs, testhelpers.WithIngressDiscard())
	c := newIngressClient(t, certs, srv.Addr())
	const emitters, each = 8, 2000
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		var last loggregator.IngressClientStats
		for {
			s := c.Stats()
			if s.Accepted < last.Accepted || s.Sent < last.Sent || s.BatchesSent < last.BatchesSent ||
				s.Dropped.Total() < last.Dropped.Total() || s.EmitWaits < last.EmitWaits {
				readerDone <- fmt.Errorf("counts went backwards: %+v then %+v", last, s)
				return
			}
			last = s
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < emitters; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				c.EmitLog("concurrent")
			}
		}()
	}
	wg.Wait()
	if err := c.CloseSend(); err != nil {
		t.Errorf("CloseSend: %v", err)
	}
	close(stop)
	if err := <-readerDone; err != nil {
		t.Error(err)
	}
	s := checkIdentities(t, c, emitters*each)
	if s.Accepted != emitters*each || s.Sent != emitters*each || srv.Count() != emitters*each {
		t.Errorf("Stats %+v, server received %d", s, srv.Count())
	}
}

// BenchmarkIngressClientStats measures one snapshot.
func BenchmarkIngressClientStats(b *testing.B) {
	certs := testhelpers.NewCerts(b)
	srv, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	c := newIngressClient(b, certs, srv.Addr())
	c.EmitLog("one")
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Stats()
	}
}
