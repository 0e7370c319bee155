package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

const (
	s3Rate     = 2000
	s3Duration = 24 * time.Second
	s3StopAt   = 5500 * time.Millisecond // 27k of the 48k emitted after the restart, as in the original's measurement
	s3Down     = 5 * time.Second
	s3Prefix   = "interop-restart-"
	refPrefix  = "interop-ref-"
	refMax     = 1000
	// Targets from the issue, to be met once the restart work lands.
	s3TargetLag  = time.Second
	s3TargetLost = 18800 // the original's best run in the same scenario
)

// referenceProber measures when a server forwards again: every 50 ms it
// opens a fresh connection to the agent and sends one log with the unary
// Send RPC (generated code, no library client), numbered from 0.
type referenceProber struct {
	mu     sync.Mutex
	sentAt []time.Time
}

func (p *referenceProber) run(ctx context.Context, addr, sourceID string, cfg *tls.Config) {
	for i := 0; i < refMax && ctx.Err() == nil; i++ {
		p.mu.Lock()
		p.sentAt = append(p.sentAt, time.Now())
		p.mu.Unlock()
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			_, _ = loggregator_v2.NewIngressClient(conn).Send(cctx, &loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{{
				Timestamp: time.Now().UnixNano(), SourceId: sourceID,
				Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(fmt.Sprintf("%s%d", refPrefix, i))}},
			}}})
			cancel()
			conn.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func scenarioAgentRestart(ctx context.Context, e *env) result {
	sid := newGUID()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec := newSeqRecorder()
	n := int(s3Rate * s3Duration / time.Second)
	rec.register(s3Prefix, n)
	rec.register(refPrefix, refMax)
	conn, err := e.newConnector(nil, nil)
	if err != nil {
		return result{false, err.Error()}
	}
	req := logRequest(sid)
	done := collect(conn.Stream(sctx, req), rec.add)
	defer func() { cancel(); <-done }()

	ingLog := &captureLogger{}
	client, err := e.newIngress(ingLog)
	if err != nil {
		return result{false, err.Error()}
	}
	closed := false
	defer func() {
		if !closed {
			_ = client.CloseSend()
		}
	}()
	opt := loggregator.WithSourceInfo(sid, "INTEROP", "0")
	if !waitForProbes(sctx, 20*time.Second, func() { client.EmitLog(probeText, opt) }, rec.probeCount) {
		return result{false, "the subscription never delivered a probe"}
	}
	refCfg, err := e.ingressTLS()
	if err != nil {
		return result{false, err.Error()}
	}

	offsets := e.c.logOffsets()
	var stopped, started time.Time
	var restartErr error
	prober := &referenceProber{}
	proberCtx, stopProber := context.WithCancel(sctx)
	defer stopProber()
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		select {
		case <-sctx.Done():
			return
		case <-time.After(s3StopAt):
		}
		stopped, started, restartErr = restart(sctx, e.c.agent, s3Down)
		if restartErr == nil {
			go prober.run(proberCtx, e.c.agentAddr, sid, refCfg)
		}
	}()

	emitAt := make([]time.Time, n)
	stalls := startStallMeter()
	t0 := time.Now()
	lat := pace(sctx, s3Rate, n, 0, func(i int) {
		emitAt[i] = time.Now()
		client.EmitLog(fmt.Sprintf("%s%06d", s3Prefix, i), opt)
	})
	emitDur := time.Since(t0)
	stallMax := stalls.end()
	<-restarted
	closeStart := time.Now()
	closeErr := client.CloseSend()
	closeDur := time.Since(closeStart)
	closed = true
	waitQuiet(sctx, 2*time.Second, 15*time.Second, rec.count)
	stopProber()
	if restartErr != nil {
		return result{false, "restarting the agent: " + restartErr.Error()}
	}

	s := rec.snapshot(s3Prefix)
	var lostBefore, lostDuring, lostAfter, emittedDuring, emittedAfter int
	for i, at := range emitAt[:len(lat)] {
		switch {
		case at.Before(stopped):
			if s.arrived[i].IsZero() {
				lostBefore++
			}
		case at.Before(started):
			emittedDuring++
			if s.arrived[i].IsZero() {
				lostDuring++
			}
		default:
			emittedAfter++
			if s.arrived[i].IsZero() {
				lostAfter++
			}
		}
	}
	lost := lostBefore + lostDuring + lostAfter
	libFirst := s.firstArrivalAfter(started)
	ref := rec.snapshot(refPrefix)
	refFirst := ref.firstArrivalAfter(started)
	agentDropped, dropLines := e.c.agent.droppedSince(offsets.agent)
	drops := e.c.dropsSince(offsets, req.ShardId)
	maxLat, p999 := latencyStats(lat)

	var b strings.Builder
	lag := time.Duration(-1)
	if !libFirst.IsZero() && !refFirst.IsZero() {
		lag = libFirst.Sub(refFirst)
	}
	fmt.Fprintf(&b, "emitted %d at %.0f/s over %s, agent down %s; data flows %s after the restart (fresh-connection reference %s, lag %s, target <= %s); ",
		len(lat), float64(len(lat))/emitDur.Seconds(), secs(emitDur), secs(started.Sub(stopped)),
		sinceOr(libFirst, started), sinceOr(refFirst, started), secs(lag), secs(s3TargetLag))
	fmt.Fprintf(&b, "lost %d (target < %d): %d before the stop, %d of %d emitted during the outage, %d of %d emitted after it; dup %d; ",
		lost, s3TargetLost, lostBefore, lostDuring, emittedDuring, lostAfter, emittedAfter, s.dup)
	fmt.Fprintf(&b, "client Dropped() %d; agent logged %d Dropped line(s) totalling %d; router logged drops ingress %d, egress to this subscriber %d; Emit max %s p99.9 %s (scheduler stall max %s); CloseSend %s err=%v",
		client.Dropped(), dropLines, agentDropped, drops.routerIngress, drops.routerEgress, us(maxLat), us(p999), us(stallMax), ms(closeDur), closeErr)
	pass := !libFirst.IsZero() && !refFirst.IsZero() && lag <= s3TargetLag && lost < s3TargetLost
	return result{pass, b.String()}
}

// sinceOr formats at-from, or "never" for a zero at.
func sinceOr(at, from time.Time) string {
	if at.IsZero() {
		return "never"
	}
	return secs(at.Sub(from))
}
