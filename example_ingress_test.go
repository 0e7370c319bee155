package loggregator_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// ingressExampleServer starts an in-process agent and returns it, a client
// TLS configuration for it and a function that stops everything.
func ingressExampleServer() (*testhelpers.IngressServer, *tls.Config, func()) {
	certs, cleanup, err := testhelpers.NewTempCerts()
	if err != nil {
		log.Fatal(err)
	}
	srv, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		cleanup()
		log.Fatal(err)
	}
	tlsConfig, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		srv.Stop()
		cleanup()
		log.Fatal(err)
	}
	return srv, tlsConfig, func() { srv.Stop(); cleanup() }
}

// An IngressClient sending a log, a gauge and a counter to a Loggregator
// agent; here the in-process one from testhelpers stands in for it.
func ExampleIngressClient() {
	srv, tlsConfig, stop := ingressExampleServer()
	defer stop()

	client, err := loggregator.NewIngressClient(tlsConfig,
		loggregator.WithAddr(srv.Addr()),
		loggregator.WithTag("deployment", "example"),
	)
	if err != nil {
		log.Fatal(err)
	}
	client.EmitLog("hello", loggregator.WithSourceInfo("my-app", "APP/PROC/WEB", "0"))
	client.EmitGauge(loggregator.WithGaugeValue("cpu", 3, "percent"))
	client.EmitCounter("requests", loggregator.WithDelta(2))

	// CloseSend delivers what is buffered before it returns.
	if err := client.CloseSend(); err != nil {
		log.Fatal(err)
	}
	for _, e := range srv.Envelopes() {
		switch {
		case e.GetLog() != nil:
			fmt.Printf("log %q from %s, source_type %s\n", e.GetLog().GetPayload(), e.GetSourceId(), e.GetTags()["source_type"])
		case e.GetGauge() != nil:
			fmt.Printf("gauge cpu=%g\n", e.GetGauge().GetMetrics()["cpu"].GetValue())
		case e.GetCounter() != nil:
			fmt.Printf("counter %s delta=%d, deployment=%s\n", e.GetCounter().GetName(), e.GetCounter().GetDelta(), e.GetTags()["deployment"])
		}
	}
	// Output:
	// log "hello" from my-app, source_type APP/PROC/WEB
	// gauge cpu=3
	// counter requests delta=2, deployment=example
}

// EmitEvent is synchronous: it returns once the agent accepted the event.
func ExampleIngressClient_EmitEvent() {
	srv, tlsConfig, stop := ingressExampleServer()
	defer stop()
	client, err := loggregator.NewIngressClient(tlsConfig, loggregator.WithAddr(srv.Addr()))
	if err != nil {
		log.Fatal(err)
	}
	defer client.CloseSend()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.EmitEvent(ctx, "app crashed", "exit status 1", loggregator.WithEventSourceInfo("my-app", "2")); err != nil {
		log.Fatal(err)
	}
	r := srv.Records()[0]
	fmt.Println(r.RPC, r.Envelope.GetEvent().GetTitle(), r.Envelope.GetInstanceId())
	// Output: Send app crashed 2
}

// Emit sends an envelope built by the caller exactly as it is.
func ExampleIngressClient_Emit() {
	srv, tlsConfig, stop := ingressExampleServer()
	defer stop()
	client, err := loggregator.NewIngressClient(tlsConfig, loggregator.WithAddr(srv.Addr()), loggregator.WithTag("ignored", "by Emit"))
	if err != nil {
		log.Fatal(err)
	}
	client.Emit(&loggregator_v2.Envelope{
		Timestamp: 1700000000000000000,
		SourceId:  "forwarded",
		Message:   &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "db", Start: 1, Stop: 5}},
	})
	if err := client.CloseSend(); err != nil {
		log.Fatal(err)
	}
	e := srv.Envelopes()[0]
	fmt.Println(e.GetTimestamp(), e.GetSourceId(), e.GetTimer().GetName(), len(e.GetTags()))
	// Output: 1700000000000000000 forwarded db 0
}

// WithDropHandler learns about envelopes dropped because the buffer was
// full, the client was closed, or CloseSend gave up on them.
// WithDropWhenFull makes Emit drop at once instead of waiting for room.
func ExampleWithDropHandler() {
	var reported atomic.Int64 // the handler may be called more than once
	client, err := loggregator.NewIngressClient(nil,
		loggregator.WithAddr("127.0.0.1:1"), // nothing listens here
		loggregator.WithBufferSize(10),
		loggregator.WithDropWhenFull(),
		loggregator.WithCloseTimeout(100*time.Millisecond),
		loggregator.WithDropHandler(func(dropped int) { reported.Add(int64(dropped)) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 15; i++ {
		client.EmitLog("no room for the last five")
	}
	err = client.CloseSend() // gives up on the ten buffered, then reports all drops
	fmt.Println("undelivered:", err != nil)
	fmt.Println("dropped:", client.Dropped(), "reported:", reported.Load())
	// Output:
	// undelivered: true
	// dropped: 15 reported: 15
}
