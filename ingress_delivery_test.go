package loggregator_test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// loadTest reports whether the long load variants run (GO_LOGGREGATOR_LOAD=1).
func loadTest() bool { return os.Getenv("GO_LOGGREGATOR_LOAD") == "1" }

// seqOption tags an envelope with its sequence number and phase.
func seqOption(phase string, i int) loggregator.EmitLogOption {
	return loggregator.EmitLogOption(loggregator.WithEnvelopeTags(map[string]string{"seq": strconv.Itoa(i), "phase": phase}))
}

// uniqueByPhase counts the distinct sequence numbers the server received,
// per phase tag, and the total including duplicates.
func uniqueByPhase(srv *testhelpers.IngressServer) (map[string]int, int) {
	seen := map[string]bool{}
	out := map[string]int{}
	envs := srv.Envelopes()
	for _, e := range envs {
		k := e.GetTags()["phase"] + "/" + e.GetTags()["seq"]
		if !seen[k] {
			seen[k] = true
			out[e.GetTags()["phase"]]++
		}
	}
	return out, len(envs)
}

// countingListener stands in for a server that is down: it accepts TCP
// connections on the address and closes them at once, counting them.
type countingListener struct {
	lis      net.Listener
	attempts atomic.Int64
	done     chan struct{}
}

func listenCounting(t *testing.T, addr string) *countingListener {
	t.Helper()
	var lis net.Listener
	var err error
	for i := 0; i < 100; i++ {
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond) // the address is being released
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	l := &countingListener{lis: lis, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			l.attempts.Add(1)
			c.Close()
		}
	}()
	return l
}

func (l *countingListener) close() int {
	l.lis.Close()
	<-l.done
	return int(l.attempts.Load())
}

// TestIngressClientRecoversWithinASecond stops the server for 4 s and
// brings it back on the same address while a client emits 500 logs/s:
// data must arrive within 1 s of the return, in every repetition, and the
// client may try at most 3 connections per second while the server is
// away. It runs 10 repetitions with GO_LOGGREGATOR_LOAD=1, 2 otherwise.
func TestIngressClientRecoversWithinASecond(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10 s and more")
	}
	reps := 2
	if loadTest() {
		reps = 10
	}
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithCloseTimeout(10*time.Second))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				c.EmitLog("steady")
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()
	const outage = 4 * time.Second
	for r := 0; r < reps; r++ {
		ctx := testContext(t, 10*time.Second)
		if _, err := srv.WaitForCount(ctx, srv.Count()+10); err != nil {
			t.Fatalf("rep %d: before the outage: %v", r, err)
		}
		srv.Down()
		l := listenCounting(t, srv.Addr())
		time.Sleep(outage) // the outage
		attempts := l.close()
		before := srv.Count()
		if err := srv.Up(); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		if _, err := srv.WaitForCount(ctx, before+1); err != nil {
			t.Fatalf("rep %d: no data after the return: %v", r, err)
		}
		took := time.Since(back)
		perSec := float64(attempts) / outage.Seconds()
		t.Logf("rep %d: data again %v after the return; %d connection attempts in %v (%.2f/s)", r, took, attempts, outage, perSec)
		if took > time.Second {
			t.Errorf("rep %d: data again only after %v", r, took)
		}
		if perSec > 3 {
			t.Errorf("rep %d: %.2f connection attempts per second while down", r, perSec)
		}
	}
}

// TestIngressClientAgentLikeServerOutage emits a steady 2,000 logs/s to
// an agent-like server (10,000-envelope queue drained at 10,000/s) that
// goes away for 5 s and comes back with a 1 s start-up delay. Nothing
// emitted after its return may be lost; what was emitted during the
// outage is delivered or counted as dropped by the client; the server's
// queue never overruns.
func TestIngressClientAgentLikeServerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10 s")
	}
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs, testhelpers.WithIngressAgentQueue(testhelpers.AgentQueue{StartDelay: time.Second}))
	log := &testLogger{}
	c := newIngressClient(t, certs, srv.Addr(), loggregator.WithLogger(log), loggregator.WithCloseTimeout(20*time.Second))

	emitted := map[string]int{}
	phase := "before"
	emitFor := func(d time.Duration) {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		t0 := time.Now()
		for n := 0; time.Since(t0) < d; {
			<-tick.C
			// 2 per millisecond, catching up after a late tick.
			for want := int(time.Since(t0).Seconds() * 2000); n < want; n++ {
				c.EmitLog("agent-like", seqOption(phase, emitted[phase]))
				emitted[phase]++
			}
		}
	}
	emitFor(2 * time.Second)
	srv.Down()
	phase = "during"
	emitFor(5 * time.Second)
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	phase = "after"
	emitFor(4 * time.Second)
	droppedBeforeClose := c.Dropped()
	err := c.CloseSend()
	got, total := uniqueByPhase(srv)
	t.Logf("emitted before/during/after: %d/%d/%d", emitted["before"], emitted["during"], emitted["after"])
	t.Logf("received (unique) before/during/after: %d/%d/%d; received with duplicates %d",
		got["before"], got["during"], got["after"], total)
	t.Logf("client dropped %d (before CloseSend %d); server queue overruns %d; CloseSend: %v",
		c.Dropped(), droppedBeforeClose, srv.AgentDropped(), err)
	if err != nil {
		t.Errorf("CloseSend: %v", err)
	}
	if srv.AgentDropped() != 0 {
		t.Errorf("the agent-like server dropped %d envelopes", srv.AgentDropped())
	}
	if got["after"] != emitted["after"] {
		t.Errorf("%d of %d envelopes emitted after the return lost", emitted["after"]-got["after"], emitted["after"])
	}
	// The client drops the oldest envelopes while the server is away, so
	// drops may hit envelopes emitted before the outage too.
	if g, d, e := got["before"]+got["during"], int(c.Dropped()), emitted["before"]+emitted["during"]; g+d != e {
		t.Errorf("before and during the outage: emitted %d, received %d + dropped %d = %d", e, g, d, g+d)
	}
}

// TestIngressClientStreamAbortsAreCountedOrResent runs against a server
// that ends every stream with an error after N batches, while the client
// emits about 20,000 logs/s for a second: every envelope is received (at
// least once) or counted as dropped.
func TestIngressClientStreamAbortsAreCountedOrResent(t *testing.T) {
	for _, n := range []int{1, 10, 100} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			certs := testhelpers.NewCerts(t)
			srv := newIngressServer(t, certs, testhelpers.WithIngressAbortAfter(n))
			c := newIngressClient(t, certs, srv.Addr(), loggregator.WithCloseTimeout(30*time.Second))
			emitted := 0
			tick := time.NewTicker(time.Millisecond)
			t0 := time.Now()
			for time.Since(t0) < time.Second {
				<-tick.C
				for want := int(time.Since(t0).Seconds() * 20000); emitted < want; emitted++ {
					c.EmitLog("abort", seqOption("x", emitted))
				}
			}
			tick.Stop()
			err := c.CloseSend()
			got, total := uniqueByPhase(srv)
			t.Logf("N=%d: emitted %d, received %d unique (%d with duplicates), counted dropped %d, streams %d; CloseSend: %v",
				n, emitted, got["x"], total, c.Dropped(), srv.StreamCount(), err)
			if got["x"]+int(c.Dropped()) != emitted {
				t.Errorf("received %d + dropped %d != emitted %d", got["x"], c.Dropped(), emitted)
			}
			if err != nil && !strings.Contains(err.Error(), "not delivered") {
				t.Errorf("CloseSend error does not count what was not delivered: %v", err)
			}
		})
	}
}
