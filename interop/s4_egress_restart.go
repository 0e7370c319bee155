package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

const (
	s4Rate    = 1000
	s4Down    = 4 * time.Second
	s4Prefix  = "interop-egress-"
	s4Max     = s4Rate * 120
	s4MaxRate = 10.0 // requests/s while a server is down above this are a hot loop
)

// egressProbe is one consumer being watched across a restart.
type egressProbe struct {
	name     string
	rec      *seqRecorder
	requests func() int64 // connection attempts so far
}

func scenarioEgressRestart(ctx context.Context, e *env) result {
	sid := newGUID()
	e.stubs.allow(sid)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()

	connLog := &captureLogger{}
	dials := &dialCounter{}
	conn, err := e.newConnector(connLog, dials)
	if err != nil {
		return result{false, err.Error()}
	}
	rlpRec := newSeqRecorder()
	rlpRec.register(s4Prefix, s4Max)
	rlpDone := collect(conn.Stream(sctx, logRequest(sid)), rlpRec.add)

	doer, err := e.gatewayDoer(e.k.ca.caFile, userToken)
	if err != nil {
		return result{false, err.Error()}
	}
	gwRec := newSeqRecorder()
	gwRec.register(s4Prefix, s4Max)
	gwDone := collect(e.newGatewayClient(doer, nil, nil).Stream(sctx, logRequest(sid)), gwRec.add)
	defer func() { cancel(); <-rlpDone; <-gwDone }()

	client, err := e.newIngress(nil)
	if err != nil {
		return result{false, err.Error()}
	}
	opt := loggregator.WithSourceInfo(sid, "INTEROP", "0")
	if !waitForProbes(sctx, 20*time.Second, func() { client.EmitLog(probeText, opt) }, rlpRec.probeCount, gwRec.probeCount) {
		_ = client.CloseSend()
		return result{false, "the subscriptions never delivered a probe"}
	}
	emitCtx, stopEmit := context.WithCancel(sctx)
	emitted := make(chan int, 1)
	go func() {
		lat := pace(emitCtx, s4Rate, s4Max, 0, func(i int) { client.EmitLog(fmt.Sprintf("%s%06d", s4Prefix, i), opt) })
		emitted <- len(lat)
	}()
	var emittedN int
	var closeErr error
	stopOnce := sync.Once{}
	stopEmission := func() {
		stopOnce.Do(func() {
			stopEmit()
			emittedN = <-emitted
			closeErr = client.CloseSend()
		})
	}
	defer stopEmission()

	connector := egressProbe{"connector", rlpRec, func() int64 { return dials.n.Load() }}
	connectorLogged := egressProbe{"connector (logged failures)", rlpRec, func() int64 { return int64(len(connLog.snapshot())) }}
	gateway := egressProbe{"gateway client", gwRec, func() int64 { return doer.requests.Load() }}

	var b strings.Builder
	pass := true
	freshConnector := func(ctx context.Context) loggregator.EnvelopeStream {
		c, err := e.newConnector(nil, nil)
		if err != nil {
			return func() []*loggregator_v2.Envelope { return nil }
		}
		return c.Stream(ctx, logRequest(sid))
	}
	freshGateway := func(ctx context.Context) loggregator.EnvelopeStream {
		d, err := e.gatewayDoer(e.k.ca.caFile, userToken)
		if err != nil {
			return func() []*loggregator_v2.Envelope { return nil }
		}
		return e.newGatewayClient(d, nil, nil).Stream(ctx, logRequest(sid))
	}
	// Each watched consumer is compared with a fresh subscription along
	// its own path: when the RLP restarts, the gateway forwards again
	// only once its own gRPC connection to the RLP is back, so the
	// gateway client's reference is a fresh gateway subscription.
	for _, phase := range []struct {
		srv   *server
		watch []egressProbe
		fresh map[string]func(context.Context) loggregator.EnvelopeStream
	}{
		{e.c.rlp, []egressProbe{connector, connectorLogged, gateway}, map[string]func(context.Context) loggregator.EnvelopeStream{
			connector.name: freshConnector, connectorLogged.name: freshConnector, gateway.name: freshGateway,
		}},
		{e.c.gateway, []egressProbe{gateway}, map[string]func(context.Context) loggregator.EnvelopeStream{
			gateway.name: freshGateway,
		}},
	} {
		if !sleepCtx(sctx, 2*time.Second) {
			return result{false, "interrupted"}
		}
		before := make([]int64, len(phase.watch))
		for i, w := range phase.watch {
			before[i] = w.requests()
		}
		stopped, started, err := restart(sctx, phase.srv, s4Down)
		if err != nil {
			return result{false, "restarting " + phase.srv.name + ": " + err.Error()}
		}
		down := started.Sub(stopped)
		during := make([]int64, len(phase.watch))
		for i, w := range phase.watch {
			during[i] = w.requests() - before[i]
		}
		// Reference: fresh subscriptions opened as soon as the server
		// listens again show when the servers themselves forward.
		refAts := map[string]time.Time{}
		if err := phase.srv.waitReady(sctx, 20*time.Second); err == nil {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for name, fresh := range phase.fresh {
				if name == connectorLogged.name {
					continue // shares the connector's reference
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					refRec := newSeqRecorder()
					refRec.register(s4Prefix, s4Max)
					rctx, rcancel := context.WithCancel(sctx)
					rdone := collect(fresh(rctx), refRec.add)
					waitUntil(sctx, 20*time.Second, func() bool { return refRec.count() > 0 })
					mu.Lock()
					refAts[name] = refRec.snapshot(s4Prefix).first
					mu.Unlock()
					rcancel()
					<-rdone
				}()
			}
			wg.Wait()
			refAts[connectorLogged.name] = refAts[connector.name]
		}
		waitUntil(sctx, 20*time.Second, func() bool {
			for _, w := range phase.watch {
				if w.rec.snapshot(s4Prefix).last.Before(started) {
					return false
				}
			}
			return true
		})
		fmt.Fprintf(&b, "%s down %s: ", phase.srv.name, secs(down))
		for i, w := range phase.watch {
			s := w.rec.snapshot(s4Prefix)
			first := s.firstArrivalAfter(started)
			perSec := float64(during[i]) / down.Seconds()
			lag := time.Duration(-1)
			refAt := refAts[w.name]
			if !first.IsZero() && !refAt.IsZero() {
				lag = first.Sub(refAt)
			}
			if w.name != connectorLogged.name {
				fmt.Fprintf(&b, "%s flows %s after restart (fresh subscription %s, lag %s), %.1f req/s while down; ",
					w.name, sinceOr(first, started), sinceOr(refAt, started), secs(lag), perSec)
				pass = pass && !first.IsZero() && !refAt.IsZero() && lag <= time.Second && perSec <= s4MaxRate
			} else {
				fmt.Fprintf(&b, "%s %.1f/s while down; ", w.name, perSec)
			}
		}
	}
	stopEmission()
	waitQuiet(sctx, time.Second, 5*time.Second, func() int { return rlpRec.count() + gwRec.count() })
	fmt.Fprintf(&b, "emitted %d at %d/s: connector got %d, gateway client got %d (close err=%v); targets: lag <= 1s, <= %.0f req/s while down",
		emittedN, s4Rate, rlpRec.unique(s4Prefix), gwRec.unique(s4Prefix), closeErr, s4MaxRate)
	return result{pass, b.String()}
}

// sleepCtx sleeps d unless ctx ends first; it reports whether it slept fully.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
