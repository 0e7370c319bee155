package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

const (
	s6Step         = 3 * time.Second // per rate; shortened to keep the whole run short
	s6UnlimitedMax = 2_000_000       // cap on the unlimited step's envelopes
	s6MinShare     = 0.95            // the connector must get this share of what the reference subscriber gets,
	s6Slack        = 1000            // or this many fewer: the router drops for a subscriber a whole buffer (1,000) at a time
)

var s6Rates = []int{5000, 10000, 20000, 40000, 80000, 160000, 0}

func scenarioThroughput(ctx context.Context, e *env) result {
	sid := newGUID()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec := newSeqRecorder()
	conn, err := e.newConnector(nil, nil)
	if err != nil {
		return result{false, err.Error()}
	}
	connReq, refReq := logRequest(sid), logRequest(sid)
	done := collect(conn.Stream(sctx, connReq), rec.add)
	defer func() { cancel(); <-done }()
	// A second subscriber made of generated code only, in its own shard:
	// what it misses, the servers (or the machine) lost, not the library.
	refRec := newSeqRecorder()
	raw, err := e.rawStream(sctx, refReq)
	if err != nil {
		return result{false, "reference subscriber: " + err.Error()}
	}
	refDone := collect(raw, refRec.add)
	defer func() { cancel(); <-refDone }()

	opt := loggregator.WithSourceInfo(sid, "INTEROP", "0")
	warm, err := e.newIngress(nil)
	if err != nil {
		return result{false, err.Error()}
	}
	ok := waitForProbes(sctx, 20*time.Second, func() { warm.EmitLog(probeText, opt) }, rec.probeCount, refRec.probeCount)
	_ = warm.CloseSend()
	if !ok {
		return result{false, "the subscription never delivered a probe"}
	}

	var b strings.Builder
	pass := true
	for _, rate := range s6Rates {
		label := fmt.Sprintf("%dk", rate/1000)
		n := rate * int(s6Step/time.Millisecond) / 1000
		if rate == 0 {
			label, n = "unlimited", s6UnlimitedMax
		}
		prefix := "interop-s6-" + label + "-"
		rec.register(prefix, n)
		refRec.register(prefix, n)
		client, err := e.newIngress(nil)
		if err != nil {
			return result{false, err.Error()}
		}
		offsets := e.c.logOffsets()
		stalls := startStallMeter()
		t0 := time.Now()
		lat := pace(sctx, rate, n, s6Step, func(i int) { client.EmitLog(fmt.Sprintf("%s%07d", prefix, i), opt) })
		emitDur := time.Since(t0)
		stallMax := stalls.end()
		closeStart := time.Now()
		_ = client.CloseSend()
		closeDur := time.Since(closeStart)
		waitQuiet(sctx, time.Second, 10*time.Second, func() int { return rec.unique(prefix) + refRec.unique(prefix) })
		if sctx.Err() != nil {
			return result{false, "interrupted"}
		}
		got := rec.unique(prefix)
		drops := e.c.dropsSince(offsets, connReq.ShardId)
		refDrops := e.c.dropsSince(offsets, refReq.ShardId)
		maxLat, p999 := latencyStats(lat)
		fmt.Fprintf(&b, "%s: emitted %.0f/s, connector received %.0f/s (%d of %d; reference subscriber %d), client drops %d, agent drops %d, router drops ingress %d egress %d (reference %d), Emit p99.9 %s max %s (stall max %s), CloseSend %s; ",
			label, float64(len(lat))/emitDur.Seconds(), float64(got)/emitDur.Seconds(), got, len(lat), refRec.unique(prefix),
			client.Dropped(), drops.agent, drops.routerIngress, drops.routerEgress, refDrops.routerEgress, us(p999), us(maxLat), us(stallMax), ms(closeDur))
		// The router drops for each subscriber on its own, a whole
		// buffer at a time, so the two subscribers' counts differ by
		// such blocks. What matters is that the library lost nothing
		// itself: every envelope emitted and not received is one the
		// client, the agent or the router counted as dropped for this
		// subscriber. The reference share is still checked, loosely.
		unaccounted := int64(len(lat)) - int64(got) - int64(client.Dropped()) - int64(drops.agent) - int64(drops.routerIngress) - int64(drops.routerEgress)
		if unaccounted > 0 {
			fmt.Fprintf(&b, "%d unaccounted for; ", unaccounted)
			pass = false
		}
		if ref := refRec.unique(prefix); float64(got) < s6MinShare*float64(ref) && got+s6Slack < ref {
			fmt.Fprintf(&b, "(below %.0f%% of the reference: the router's drop blocks fell unevenly) ", s6MinShare*100)
		}
	}
	fmt.Fprintf(&b, "%s per step; target: every envelope not received is counted as dropped by the client, the agent or the router", secs(s6Step))
	return result{pass, b.String()}
}
