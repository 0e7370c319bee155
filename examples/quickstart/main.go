// Command quickstart shows the v2 IngressClient end to end without a Cloud
// Foundry deployment: it starts an in-process Loggregator agent
// (testhelpers.IngressServer) with throw-away certificates, emits one
// envelope of every kind, closes the client and prints what the server
// received. It exits 0 when everything arrived.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func main() {
	log.SetFlags(0)
	if err := run(); err != nil {
		log.Fatalf("quickstart: %v", err)
	}
}

func run() error {
	certs, cleanup, err := testhelpers.NewTempCerts()
	if err != nil {
		return err
	}
	defer cleanup()
	server, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		return err
	}
	defer server.Stop()

	tlsConfig, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		return err
	}
	client, err := loggregator.NewIngressClient(tlsConfig,
		loggregator.WithAddr(server.Addr()),
		loggregator.WithTag("origin", "quickstart"),
		loggregator.WithLogger(log.New(os.Stderr, "ingress: ", 0)),
	)
	if err != nil {
		return err
	}

	// EmitEvent is synchronous; the others are batched and never block.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.EmitEvent(ctx, "deployed", "version 2 is live", loggregator.WithEventSourceInfo("my-app", "0")); err != nil {
		return fmt.Errorf("EmitEvent: %w", err)
	}
	client.EmitLog("hello from the quickstart", loggregator.WithSourceInfo("my-app", "APP/PROC/WEB", "0"), loggregator.WithStdout())
	client.EmitGauge(loggregator.WithGaugeValue("cpu", 12.5, "percent"), loggregator.WithGaugeSourceInfo("my-app", "0"))
	client.EmitCounter("requests", loggregator.WithDelta(3), loggregator.WithCounterSourceInfo("my-app", "0"))
	start := time.Now()
	client.EmitTimer("http", start.Add(-15*time.Millisecond), start, loggregator.WithTimerSourceInfo("my-app", "0"))
	client.Emit(&loggregator_v2.Envelope{
		Timestamp: start.UnixNano(),
		SourceId:  "my-app",
		Message:   &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("a hand-made envelope")}},
	})

	// CloseSend delivers everything buffered before it returns.
	if err := client.CloseSend(); err != nil {
		return fmt.Errorf("CloseSend: %w", err)
	}

	records := server.Records()
	fmt.Printf("the server received %d envelopes:\n", len(records))
	for _, r := range records {
		fmt.Printf("  via %-11s %s\n", r.RPC, describe(r.Envelope))
	}
	if len(records) != 6 {
		return fmt.Errorf("expected 6 envelopes, got %d", len(records))
	}
	return nil
}

// describe renders an envelope on one line, without its timestamp.
func describe(e *loggregator_v2.Envelope) string {
	var b strings.Builder
	fmt.Fprintf(&b, "source=%q instance=%q", e.GetSourceId(), e.GetInstanceId())
	switch m := e.GetMessage().(type) {
	case *loggregator_v2.Envelope_Log:
		fmt.Fprintf(&b, " log(%s)=%q", m.Log.GetType(), m.Log.GetPayload())
	case *loggregator_v2.Envelope_Gauge:
		names := make([]string, 0, len(m.Gauge.GetMetrics()))
		for n := range m.Gauge.GetMetrics() {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString(" gauge")
		for _, n := range names {
			v := m.Gauge.Metrics[n]
			fmt.Fprintf(&b, " %s=%g%s", n, v.GetValue(), v.GetUnit())
		}
	case *loggregator_v2.Envelope_Counter:
		fmt.Fprintf(&b, " counter %s delta=%d total=%d", m.Counter.GetName(), m.Counter.GetDelta(), m.Counter.GetTotal())
	case *loggregator_v2.Envelope_Timer:
		fmt.Fprintf(&b, " timer %s took %v", m.Timer.GetName(), time.Duration(m.Timer.GetStop()-m.Timer.GetStart()))
	case *loggregator_v2.Envelope_Event:
		fmt.Fprintf(&b, " event %q: %q", m.Event.GetTitle(), m.Event.GetBody())
	}
	keys := make([]string, 0, len(e.GetTags()))
	for k := range e.GetTags() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, e.Tags[k])
	}
	return b.String()
}
