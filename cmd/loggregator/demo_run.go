package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/internal/certs"
	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// demoSource is the source id of everything the demo emits.
const demoSource = "demo-app"

// demoExpected is the number of envelopes the demo emits: one of each kind
// over v2 gRPC and a log and a value metric over v1 UDP.
const demoExpected = 7

// demo subscribes through both egress paths, emits over both ingress paths
// and prints what each egress path delivered.
func demo(ctx context.Context, s *devserver.Server, stdout io.Writer) error {
	set := s.Certs()
	a := s.Addrs()
	fmt.Fprintf(stdout, "dev server: v2 ingress %s, v1 UDP %s, gRPC egress %s, gateway %s\n\n", a.Ingress, a.UDP, a.Egress, a.GatewayURL)

	req, _ := tailRequest(tailOptions{sourceIDs: listFlag{demoSource}})
	egressTLS, err := loggregator.NewEgressTLSConfig(set.Path(certs.CAFile), set.Path(certs.ClientCertFile), set.Path(certs.ClientKeyFile))
	if err != nil {
		return err
	}
	grpcReq := proto.Clone(req).(*loggregator_v2.EgressBatchRequest)
	grpcReq.UsePreferredTags = true
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()

	type path struct {
		name   string
		stream loggregator.EnvelopeStream
		got    []*loggregator_v2.Envelope
	}
	paths := []*path{{name: "gRPC egress (EnvelopeStreamConnector)", stream: loggregator.NewEnvelopeStreamConnector(a.Egress, egressTLS).Stream(streamCtx, grpcReq)}}
	if gw, err := gatewayStream(streamCtx, tailOptions{gateway: a.GatewayURL, ca: set.Path(certs.CAFile)}, req, io.Discard); err == nil {
		paths = append(paths, &path{name: "RLP gateway SSE (RLPGatewayClient)", stream: gw})
	} else {
		fmt.Fprintf(stdout, "(gateway path skipped: %v)\n\n", err)
	}

	// Wait until the subscriptions exist so that nothing emitted is missed.
	for s.Stats().Subscribers < len(paths) {
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return fmt.Errorf("egress subscriptions did not connect: %w", err)
		}
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				n := len(p.got)
				mu.Unlock()
				if n >= demoExpected {
					return
				}
				envs := p.stream()
				if envs == nil && streamCtx.Err() != nil {
					return
				}
				mu.Lock()
				p.got = append(p.got, envs...)
				mu.Unlock()
			}
		}()
	}

	if err := demoEmitV2(ctx, set, a.Ingress); err != nil {
		return err
	}
	if err := demoEmitV1(a.UDP); err != nil {
		return err
	}

	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		stopStreams()
		<-done
	}

	mu.Lock()
	defer mu.Unlock()
	var line []byte
	missing := false
	for _, p := range paths {
		sort.SliceStable(p.got, func(i, j int) bool { return p.got[i].GetTimestamp() < p.got[j].GetTimestamp() })
		fmt.Fprintf(stdout, "via %s: %d envelopes\n", p.name, len(p.got))
		for _, e := range p.got {
			line = appendReadable(append(line[:0], "  "...), e)
			_, _ = stdout.Write(line)
		}
		fmt.Fprintln(stdout)
		if len(p.got) < demoExpected {
			missing = true
		}
	}
	if missing {
		return fmt.Errorf("not every envelope came back within the time limit")
	}
	fmt.Fprintln(stdout, "Next: run `go run ./cmd/loggregator dev` in one terminal, `go run ./cmd/loggregator tail` in a second and `go run ./cmd/loggregator emit log --message hi` in a third.")
	return nil
}

func demoEmitV2(ctx context.Context, set *certs.Set, addr string) error {
	tlsConf, err := loggregator.NewIngressTLSConfig(set.Path(certs.CAFile), set.Path(certs.ClientCertFile), set.Path(certs.ClientKeyFile))
	if err != nil {
		return err
	}
	c, err := loggregator.NewIngressClient(tlsConf, loggregator.WithAddr(addr), loggregator.WithBatchFlushInterval(10*time.Millisecond))
	if err != nil {
		return err
	}
	c.EmitLog("hello from the v2 ingress client", loggregator.WithSourceInfo(demoSource, "APP/PROC/WEB", "0"), loggregator.WithStdout(), loggregator.WithEnvelopeTag("demo", "v2"))
	c.EmitCounter("requests", loggregator.WithCounterSourceInfo(demoSource, "0"), loggregator.WithDelta(3), loggregator.WithEnvelopeTag("demo", "v2"))
	c.EmitGauge(loggregator.WithGaugeSourceInfo(demoSource, "0"), loggregator.WithGaugeValue("cpu", 12.5, "percentage"), loggregator.WithGaugeValue("memory", 1048576, "bytes"), loggregator.WithEnvelopeTag("demo", "v2"))
	stop := time.Now()
	c.EmitTimer("http", stop.Add(-12*time.Millisecond), stop, loggregator.WithTimerSourceInfo(demoSource, "0"), loggregator.WithEnvelopeTag("demo", "v2"))
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.EmitEvent(ectx, "deployed", "demo-app was deployed", loggregator.WithEventSourceInfo(demoSource, "0"), loggregator.WithEnvelopeTag("demo", "v2")); err != nil {
		_ = c.CloseSend()
		return fmt.Errorf("EmitEvent: %w", err)
	}
	return c.CloseSend()
}

// demoEmitV1 writes two dropsonde envelopes as UDP datagrams, as a v1
// client (dropsonde) does.
func demoEmitV1(addr string) error {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	now := time.Now().UnixNano()
	envs := []*events.Envelope{
		{
			Origin: proto.String("demo-origin"), EventType: events.Envelope_LogMessage.Enum(), Timestamp: proto.Int64(now),
			Tags: map[string]string{"demo": "v1"},
			LogMessage: &events.LogMessage{Message: []byte("hello over v1 UDP"), MessageType: events.LogMessage_ERR.Enum(), Timestamp: proto.Int64(now),
				AppId: proto.String(demoSource), SourceType: proto.String("APP/PROC/WEB"), SourceInstance: proto.String("1")},
		},
		{
			Origin: proto.String("demo-origin"), EventType: events.Envelope_ValueMetric.Enum(), Timestamp: proto.Int64(now + 1),
			Tags:        map[string]string{"demo": "v1", "source_id": demoSource},
			ValueMetric: &events.ValueMetric{Name: proto.String("queue_depth"), Value: proto.Float64(4), Unit: proto.String("items")},
		},
	}
	for _, e := range envs {
		b, err := proto.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := conn.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
