package main

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"google.golang.org/protobuf/proto"
)

const (
	s1Logs     = 20000
	s1Rate     = 5000
	s1Metrics  = 100 // counters, gauges and timers each
	s1Events   = 10
	probeText  = "interop-probe"
	logPrefix  = "interop-log-"
	s1Expected = s1Logs + 3*s1Metrics + s1Events
)

// tally checks what one egress path received against what was sent.
type tally struct {
	mu         sync.Mutex
	want       map[string]*loggregator_v2.Envelope // key -> expected envelope (timestamp ignored)
	got        map[string]int
	mismatches int
	firstDiff  string
	unexpected int
	probes     int
	inversions int // adjacent log pairs out of sequence order within one batch
	maxChains  int // most in-order sequences one batch needs (longest decreasing run of sequence numbers)
	batches    int
	last       time.Time
	key        func(*loggregator_v2.Envelope) string // default envelopeKey
}

func newTally(want map[string]*loggregator_v2.Envelope) *tally {
	return &tally{want: want, got: map[string]int{}}
}

// envelopeKey identifies a sent envelope by its content's name.
func envelopeKey(e *loggregator_v2.Envelope) string {
	switch m := e.Message.(type) {
	case *loggregator_v2.Envelope_Log:
		return "log:" + string(m.Log.GetPayload())
	case *loggregator_v2.Envelope_Counter:
		return "counter:" + m.Counter.GetName()
	case *loggregator_v2.Envelope_Gauge:
		for name := range m.Gauge.GetMetrics() {
			return "gauge:" + name
		}
		return "gauge:"
	case *loggregator_v2.Envelope_Timer:
		return "timer:" + m.Timer.GetName()
	case *loggregator_v2.Envelope_Event:
		return "event:" + m.Event.GetTitle()
	}
	return "other"
}

func (t *tally) add(at time.Time, batch []*loggregator_v2.Envelope) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.batches++
	prev := -1
	var seqs []int
	for _, e := range batch {
		if l := e.GetLog(); l != nil && string(l.GetPayload()) == probeText {
			t.probes++
			continue
		}
		keyOf := envelopeKey
		if t.key != nil {
			keyOf = t.key
		}
		key := keyOf(e)
		want, ok := t.want[key]
		if !ok {
			t.unexpected++
			if t.firstDiff == "" {
				t.firstDiff = "unexpected " + short(e.String(), 200)
			}
			continue
		}
		t.last = at
		t.got[key]++
		if d := diffEnvelope(want, e); d != "" {
			t.mismatches++
			if t.firstDiff == "" {
				t.firstDiff = key + ": " + d
			}
		}
		if seq, ok := strings.CutPrefix(key, "log:"+logPrefix); ok {
			n, _ := strconv.Atoi(seq)
			if n < prev {
				t.inversions++
			}
			prev = n
			seqs = append(seqs, n)
		}
	}
	t.maxChains = max(t.maxChains, longestDecreasing(seqs))
}

// agentRouterConns is the number of router connections the agent sends on
// (five connection managers in its v2 app). Each keeps its batches in order,
// so the logs of one received batch must merge at most this many in-order
// sequences: their longest strictly decreasing subsequence is at most this
// long (Dilworth).
const agentRouterConns = 5

// longestDecreasing returns the length of the longest strictly decreasing
// subsequence of a.
func longestDecreasing(a []int) int {
	var tails []int // tails[k]: largest last value of a decreasing run of length k+1
	for _, v := range a {
		lo, hi := 0, len(tails)
		for lo < hi {
			mid := (lo + hi) / 2
			if tails[mid] > v {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo == len(tails) {
			tails = append(tails, v)
		} else {
			tails[lo] = v
		}
	}
	return len(tails)
}

// diffEnvelope compares everything but the timestamp, which must be set.
func diffEnvelope(want, got *loggregator_v2.Envelope) string {
	if got.GetTimestamp() == 0 {
		return "timestamp not set"
	}
	w := proto.Clone(want).(*loggregator_v2.Envelope)
	g := proto.Clone(got).(*loggregator_v2.Envelope)
	w.Timestamp, g.Timestamp = 0, 0
	if len(g.DeprecatedTags) == 0 {
		g.DeprecatedTags = nil
	}
	if len(g.Tags) == 0 {
		g.Tags = nil
	}
	if len(w.Tags) == 0 {
		w.Tags = nil
	}
	if !proto.Equal(w, g) {
		return fmt.Sprintf("want %s got %s", short(w.String(), 220), short(g.String(), 220))
	}
	return ""
}

type tallyFigures struct {
	unique, dup, missing, mismatches, unexpected, inversions, batches, maxChains int
	firstDiff                                                                    string
	last                                                                         time.Time
}

func (t *tally) figures() tallyFigures {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := tallyFigures{mismatches: t.mismatches, unexpected: t.unexpected, inversions: t.inversions, maxChains: t.maxChains,
		batches: t.batches, firstDiff: t.firstDiff, last: t.last}
	for k := range t.want {
		n := t.got[k]
		if n == 0 {
			f.missing++
			if f.firstDiff == "" {
				f.firstDiff = "missing " + k
			}
			continue
		}
		f.unique++
		f.dup += n - 1
	}
	return f
}

func (t *tally) uniqueCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.got)
}

func (t *tally) probeCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.probes
}

// s1Attempts bounds the runs of scenario 1: a run is repeated only when
// every missing envelope is covered by drops the servers logged (the router
// drops for a subscriber that falls behind, which happens when the machine
// is overloaded); any other failure ends the scenario at once.
const s1Attempts = 3

func scenarioIngress(ctx context.Context, e *env) result {
	var earlier []string
	for attempt := 1; ; attempt++ {
		r, serverLoss := scenarioIngressOnce(ctx, e)
		if r.pass || !serverLoss || attempt == s1Attempts || ctx.Err() != nil {
			if len(earlier) > 0 {
				r.figures = fmt.Sprintf("attempt %d of %d; %s; earlier attempts lost envelopes the servers logged as dropped: %s",
					attempt, s1Attempts, r.figures, strings.Join(earlier, " | "))
			}
			return r
		}
		earlier = append(earlier, short(r.figures, 700))
	}
}

// scenarioIngressOnce runs scenario 1 once; serverLoss reports a failure
// that consists only of envelopes missing that the servers logged as
// dropped.
func scenarioIngressOnce(ctx context.Context, e *env) (res result, serverLoss bool) {
	sid := newGUID()
	e.stubs.allow(sid)
	want := map[string]*loggregator_v2.Envelope{}
	logs := make([]*loggregator_v2.Envelope, s1Logs)
	for i := range logs {
		typ := loggregator_v2.Log_OUT
		if i%2 == 1 {
			typ = loggregator_v2.Log_ERR
		}
		logs[i] = &loggregator_v2.Envelope{
			SourceId: sid, InstanceId: "0",
			Tags:    map[string]string{"source_type": "INTEROP", "kind": "log", "seq": strconv.Itoa(i)},
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(fmt.Sprintf("%s%06d", logPrefix, i)), Type: typ}},
		}
		want[envelopeKey(logs[i])] = logs[i]
	}
	base := time.Now()
	type metricSet struct {
		counter, gauge, timer *loggregator_v2.Envelope
	}
	metrics := make([]metricSet, s1Metrics)
	for k := range metrics {
		start := base.Add(time.Duration(k) * time.Millisecond)
		stop := start.Add(time.Duration(k+1) * time.Microsecond)
		tags := map[string]string{"kind": "metric", "k": strconv.Itoa(k)}
		metrics[k] = metricSet{
			counter: &loggregator_v2.Envelope{SourceId: sid, InstanceId: "1", Tags: maps.Clone(tags),
				Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{
					Name: fmt.Sprintf("interop-counter-%03d", k), Delta: uint64(k + 1), Total: uint64(k + 1)}}},
			gauge: &loggregator_v2.Envelope{SourceId: sid, InstanceId: "2", Tags: maps.Clone(tags),
				Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
					fmt.Sprintf("interop-gauge-%03d", k): {Unit: "ms", Value: float64(k) + 0.25}}}}},
			timer: &loggregator_v2.Envelope{SourceId: sid, InstanceId: "3", Tags: maps.Clone(tags),
				Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{
					Name: fmt.Sprintf("interop-timer-%03d", k), Start: start.UnixNano(), Stop: stop.UnixNano()}}},
		}
		want[envelopeKey(metrics[k].counter)] = metrics[k].counter
		want[envelopeKey(metrics[k].gauge)] = metrics[k].gauge
		want[envelopeKey(metrics[k].timer)] = metrics[k].timer
	}
	events := make([]*loggregator_v2.Envelope, s1Events)
	for k := range events {
		events[k] = &loggregator_v2.Envelope{SourceId: sid, InstanceId: "4",
			Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{
				Title: fmt.Sprintf("interop-event-%02d", k), Body: fmt.Sprintf("body of event %d", k)}}}
		want[envelopeKey(events[k])] = events[k]
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	connLog := &captureLogger{}
	conn, err := e.newConnector(connLog, nil)
	if err != nil {
		return result{false, err.Error()}, false
	}
	offsets := e.c.logOffsets()
	rlpReq, gwReq := sourceRequest(sid), sourceRequest(sid)
	rlpT := newTally(want)
	rlpDone := collect(conn.Stream(sctx, rlpReq), rlpT.add)
	doer, err := e.gatewayDoer(e.k.ca.caFile, userToken)
	if err != nil {
		return result{false, err.Error()}, false
	}
	gwLog := &lineWriter{}
	gw := e.newGatewayClient(doer, logWriter(gwLog), nil)
	gwT := newTally(want)
	gwDone := collect(gw.Stream(sctx, gwReq), gwT.add)
	defer func() { cancel(); <-rlpDone; <-gwDone }()

	ingLog := &captureLogger{}
	client, err := e.newIngress(ingLog)
	if err != nil {
		return result{false, err.Error()}, false
	}
	closed := false
	defer func() {
		if !closed {
			_ = client.CloseSend()
		}
	}()
	probeOpts := []loggregator.EmitLogOption{loggregator.WithSourceInfo(sid, "INTEROP", "0")}
	if !waitForProbes(sctx, 20*time.Second, func() { client.EmitLog(probeText, probeOpts...) }, rlpT.probeCount, gwT.probeCount) {
		return result{false, fmt.Sprintf("subscriptions never delivered a probe (rlp %d, gateway %d probes; connector log: %s; gateway log: %s)",
			rlpT.probeCount(), gwT.probeCount(), short(connLog.first(), 160), short(gwLog.first(), 160))}, false
	}

	stalls := startStallMeter()
	t0 := time.Now()
	var eventErr error
	lat := pace(sctx, s1Rate, s1Logs, 0, func(i int) {
		l := logs[i]
		opts := []loggregator.EmitLogOption{
			loggregator.WithSourceInfo(sid, "INTEROP", "0"),
			loggregator.WithEnvelopeTag("kind", "log"),
			loggregator.WithEnvelopeTag("seq", l.Tags["seq"]),
		}
		if l.GetLog().GetType() == loggregator_v2.Log_OUT {
			opts = append(opts, loggregator.WithStdout())
		}
		client.EmitLog(string(l.GetLog().GetPayload()), opts...)
		if i%(s1Logs/s1Metrics) == 0 {
			k := i / (s1Logs / s1Metrics)
			m := metrics[k]
			tag := loggregator.WithEnvelopeTags(m.counter.Tags)
			client.EmitCounter(m.counter.GetCounter().GetName(),
				loggregator.WithDelta(m.counter.GetCounter().GetDelta()),
				loggregator.WithCounterSourceInfo(sid, "1"), tag)
			for name, v := range m.gauge.GetGauge().GetMetrics() {
				client.EmitGauge(loggregator.WithGaugeValue(name, v.Value, v.Unit),
					loggregator.WithGaugeSourceInfo(sid, "2"), tag)
			}
			tm := m.timer.GetTimer()
			client.EmitTimer(tm.Name, time.Unix(0, tm.Start), time.Unix(0, tm.Stop),
				loggregator.WithTimerSourceInfo(sid, "3"), tag)
			if k%(s1Metrics/s1Events) == 0 {
				ev := events[k/(s1Metrics/s1Events)].GetEvent()
				ectx, ecancel := context.WithTimeout(sctx, 5*time.Second)
				if err := client.EmitEvent(ectx, ev.Title, ev.Body, loggregator.WithEventSourceInfo(sid, "4")); err != nil && eventErr == nil {
					eventErr = err
				}
				ecancel()
			}
		}
	})
	emitDur := time.Since(t0)
	stallMax := stalls.end()
	closeStart := time.Now()
	closeErr := client.CloseSend()
	closeDur := time.Since(closeStart)
	closed = true
	// Wait for everything, or until nothing new arrived for 3 s.
	lastN, lastChange := -1, time.Now()
	waitUntil(sctx, 20*time.Second, func() bool {
		r, g := rlpT.uniqueCount(), gwT.uniqueCount()
		if r+g != lastN {
			lastN, lastChange = r+g, time.Now()
		}
		return (r >= s1Expected && g >= s1Expected) || time.Since(lastChange) > 3*time.Second
	})
	waitQuiet(sctx, 500*time.Millisecond, 3*time.Second, func() int { return rlpT.uniqueCount() + gwT.uniqueCount() })
	maxLat, p999 := latencyStats(lat)
	rf, gf := rlpT.figures(), gwT.figures()
	end := t0.Add(emitDur)

	pass := eventErr == nil && client.Dropped() == 0
	onlyMissing := pass
	var b strings.Builder
	for _, p := range []struct {
		name string
		f    tallyFigures
	}{{"rlp", rf}, {"gateway", gf}} {
		ok := p.f.missing == 0 && p.f.mismatches == 0 && p.f.dup == 0 && p.f.unexpected == 0 && p.f.maxChains <= agentRouterConns
		pass = pass && ok
		onlyMissing = onlyMissing && p.f.mismatches == 0 && p.f.dup == 0 && p.f.unexpected == 0 && p.f.maxChains <= agentRouterConns
		fmt.Fprintf(&b, "%s %d/%d equal (missing %d, differing %d, dup %d, unexpected %d, in-batch order: %d adjacent inversions in %d batches, at most %d interleaved in-order runs per batch (limit %d), last %s after emit end); ",
			p.name, p.f.unique-p.f.mismatches, s1Expected, p.f.missing, p.f.mismatches, p.f.dup, p.f.unexpected,
			p.f.inversions, p.f.batches, p.f.maxChains, agentRouterConns, secs(p.f.last.Sub(end)))
	}
	fmt.Fprintf(&b, "emitted %d logs in %s (%.0f/s), client dropped %d, Emit max %s p99.9 %s (scheduler stall max %s), CloseSend %s err=%v",
		s1Logs, secs(emitDur), float64(len(lat))/emitDur.Seconds(), client.Dropped(), us(maxLat), us(p999), us(stallMax), ms(closeDur), closeErr)
	if eventErr != nil {
		fmt.Fprintf(&b, "; EmitEvent error: %v", eventErr)
	}
	if rf.missing > 0 || gf.missing > 0 {
		d := e.c.dropsSince(offsets, rlpReq.ShardId, gwReq.ShardId)
		both := missingBoth(rlpT, gwT)
		fmt.Fprintf(&b, "; %d missing on both paths; %s", both, d)
		// An envelope the agent or the router's ingress dropped is missing
		// on both paths; one the router's egress buffer dropped, on one.
		covered := uint64(rf.missing+gf.missing) <= d.routerEgress+2*(d.agent+d.routerIngress)
		onlyMissing = onlyMissing && covered
	} else {
		onlyMissing = false
	}
	for _, f := range []tallyFigures{rf, gf} {
		if f.firstDiff != "" {
			fmt.Fprintf(&b, "; first difference: %s", short(f.firstDiff, 400))
			break
		}
	}
	return result{pass, b.String()}, !pass && onlyMissing
}

// waitForProbes emits a probe every 100 ms until every counter has seen one.
func waitForProbes(ctx context.Context, timeout time.Duration, emit func(), counts ...func() int) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for _, c := range counts {
			if c() == 0 {
				all = false
			}
		}
		if all {
			return true
		}
		emit()
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// missingBoth counts the expected envelopes neither path received: lost
// before the router fans out to subscribers.
func missingBoth(a, b *tally) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for k := range a.want {
		if a.got[k] == 0 && b.got[k] == 0 {
			n++
		}
	}
	return n
}
