package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
	"github.com/cloudfoundry/dropsonde"
)

const (
	s2Origin = "interop-v1"
	s2Each   = 50 // logs, counters, value metrics and container metrics each
)

// v1Tags are the tags every v1 envelope gets on its way to v2: the envelope
// fields (origin from dropsonde, the rest from the agent's configuration)
// and the v1 event type (conversion rules, ToV2 step 3).
func v1Tags(eventType string, extra map[string]string) map[string]string {
	t := map[string]string{
		"origin": s2Origin, "deployment": agentDeployment, "job": agentJob,
		"index": agentIndex, "ip": agentIP, "__v1_type": eventType,
	}
	for k, v := range extra {
		t[k] = v
	}
	return t
}

func scenarioV1(ctx context.Context, e *env) result {
	sid := newGUID()
	if err := dropsonde.Initialize(e.c.agentUDP, s2Origin); err != nil {
		return result{false, "dropsonde.Initialize: " + err.Error()}
	}
	clientLog := &captureLogger{}
	client, err := v1.NewClient(v1.WithLogger(clientLog))
	if err != nil {
		return result{false, err.Error()}
	}

	// Expected v2 envelopes, written from the conversion rules
	// (conversion-rules.md, ToV2 with preferred tags, as the router does).
	want := map[string]*loggregator_v2.Envelope{}
	add := func(env *loggregator_v2.Envelope) { want[envelopeKey(env)] = env }
	var sends []func()
	for k := range s2Each {
		msg := fmt.Sprintf("interop-v1-log-%03d", k)
		typ := loggregator_v2.Log_OUT
		if k%2 == 1 {
			typ = loggregator_v2.Log_ERR
		}
		add(&loggregator_v2.Envelope{SourceId: sid, InstanceId: "7",
			Tags:    v1Tags("LogMessage", map[string]string{"source_type": "INTEROP-V1"}),
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(msg), Type: typ}}})
		opts := []loggregator.EmitLogOption{loggregator.WithSourceInfo(sid, "INTEROP-V1", "7")}
		if typ == loggregator_v2.Log_OUT {
			opts = append(opts, loggregator.WithStdout())
		}

		cname := fmt.Sprintf("interop-v1-counter-%03d", k)
		// The agent adds up the deltas per counter into the total.
		add(&loggregator_v2.Envelope{SourceId: sid, InstanceId: "8",
			Tags:    v1Tags("CounterEvent", nil),
			Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: cname, Delta: uint64(k + 1), Total: uint64(k + 1)}}})

		gname := fmt.Sprintf("interop-v1-gauge-%03d", k)
		gval := float64(k) + 0.5
		// A ValueMetric keeps its instance_id tag.
		add(&loggregator_v2.Envelope{SourceId: sid, InstanceId: "9",
			Tags: v1Tags("ValueMetric", map[string]string{"instance_id": "9"}),
			Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
				gname: {Unit: "ms", Value: gval}}}}})

		// Container metrics: told apart by the cpu value, which keys them.
		cpu := 100 + float64(k)
		cm := &loggregator_v2.Envelope{SourceId: sid, InstanceId: fmt.Sprint(k),
			Tags: v1Tags("ContainerMetric", map[string]string{"instance_id": fmt.Sprint(k)}),
			Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
				"cpu":          {Unit: "percentage", Value: cpu},
				"memory":       {Unit: "bytes", Value: float64(1000 + k)},
				"disk":         {Unit: "bytes", Value: float64(2000 + k)},
				"memory_quota": {Unit: "bytes", Value: float64(3000 + k)},
				"disk_quota":   {Unit: "bytes", Value: float64(4000 + k)},
			}}}}
		want[containerKey(cm)] = cm

		sends = append(sends, func() {
			client.EmitLog(msg, opts...)
			client.EmitCounter(cname, loggregator.WithDelta(uint64(k+1)), loggregator.WithCounterSourceInfo(sid, "8"))
			client.EmitGauge(loggregator.WithGaugeValue(gname, gval, "ms"), loggregator.WithGaugeSourceInfo(sid, "9"))
			client.EmitGauge(
				loggregator.WithGaugeValue("cpu", cpu, "percentage"),
				loggregator.WithGaugeValue("memory", float64(1000+k), "bytes"),
				loggregator.WithGaugeValue("disk", float64(2000+k), "bytes"),
				loggregator.WithGaugeValue("memory_quota", float64(3000+k), "bytes"),
				loggregator.WithGaugeValue("disk_quota", float64(4000+k), "bytes"),
				loggregator.WithGaugeSourceInfo(sid, fmt.Sprint(k)))
		})
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := e.newConnector(nil, nil)
	if err != nil {
		return result{false, err.Error()}
	}
	t := newTally(want)
	t.key = func(env *loggregator_v2.Envelope) string {
		if _, ok := env.GetGauge().GetMetrics()["cpu"]; ok {
			return containerKey(env)
		}
		return envelopeKey(env)
	}
	done := collect(conn.Stream(sctx, sourceRequest(sid)), t.add)
	defer func() { cancel(); <-done }()

	if !waitForProbes(sctx, 20*time.Second, func() {
		client.EmitLog(probeText, loggregator.WithSourceInfo(sid, "INTEROP-V1", "7"))
	}, t.probeCount) {
		return result{false, "the subscription never delivered a v1 probe log; client log: " + clientLog.first()}
	}
	t0 := time.Now()
	// UDP has no flow control: 200 datagrams/s keeps the agent's reader far
	// from its limits.
	pace(sctx, 50, len(sends), 0, func(i int) { sends[i]() })
	emitDur := time.Since(t0)
	waitUntil(sctx, 10*time.Second, func() bool { return t.uniqueCount() >= len(want) })
	waitQuiet(sctx, 500*time.Millisecond, 2*time.Second, t.uniqueCount)
	f := t.figures()
	pass := f.missing == 0 && f.mismatches == 0 && f.unexpected == 0 && f.dup == 0 && client.Dropped() == 0
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d arrived through the RLP as the conversion rules say (logs, counters, value metrics, container metrics %d each; missing %d, differing %d, dup %d, unexpected %d), sent over UDP in %s, client dropped %d",
		f.unique-f.mismatches, len(want), s2Each, f.missing, f.mismatches, f.dup, f.unexpected, secs(emitDur), client.Dropped())
	if f.firstDiff != "" {
		fmt.Fprintf(&b, "; first difference: %s", short(f.firstDiff, 500))
	}
	return result{pass, b.String()}
}

// containerKey keys a container metric by its cpu value.
func containerKey(env *loggregator_v2.Envelope) string {
	return fmt.Sprintf("container:%g", env.GetGauge().GetMetrics()["cpu"].GetValue())
}
