// Command runtime_stats emits statistics about the running Go process
// (heap, stack, last GC pause, goroutines) to Loggregator through a v2
// ingress client, for a few short intervals, then stops and exits 0.
//
// With CA_CERT_PATH, CERT_PATH and KEY_PATH set it sends to the agent's v2
// ingress at localhost:3458 (or INGRESS_ADDR). Without them it starts an
// in-process ingress server from testhelpers with throw-away certificates,
// sends to that and prints what the server received.
package main

import (
	"context"
	"fmt"
	"log"
	"maps"
	"os"
	"slices"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/runtimeemitter"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

const (
	interval = 200 * time.Millisecond
	ticks    = 3
)

func main() {
	log.SetFlags(0)
	caPath, certPath, keyPath := os.Getenv("CA_CERT_PATH"), os.Getenv("CERT_PATH"), os.Getenv("KEY_PATH")
	addr := os.Getenv("INGRESS_ADDR")

	var server *testhelpers.IngressServer
	if caPath == "" || certPath == "" || keyPath == "" {
		certs, cleanup, err := testhelpers.NewTempCerts()
		if err != nil {
			log.Fatalf("certificates: %v", err)
		}
		defer cleanup()
		server, err = testhelpers.NewIngressServer(certs)
		if err != nil {
			log.Fatalf("ingress server: %v", err)
		}
		defer server.Stop()
		caPath, certPath, keyPath = certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile
		addr = server.Addr()
		fmt.Printf("CA_CERT_PATH, CERT_PATH, KEY_PATH not set; using an in-process ingress server at %s\n", addr)
	}

	tlsConfig, err := loggregator.NewIngressTLSConfig(caPath, certPath, keyPath)
	if err != nil {
		log.Fatalf("TLS: %v", err)
	}
	opts := []loggregator.IngressOption{loggregator.WithLogger(log.New(os.Stderr, "ingress: ", 0))}
	if addr != "" {
		opts = append(opts, loggregator.WithAddr(addr))
	}
	client, err := loggregator.NewIngressClient(tlsConfig, opts...)
	if err != nil {
		log.Fatalf("ingress client: %v", err)
	}

	counted := &stopAfter{sender: client, n: ticks}
	emitter := runtimeemitter.New(counted, runtimeemitter.WithInterval(interval))
	counted.stop = emitter.Stop
	emitter.Run() // returns once stopAfter calls Stop

	if err := client.CloseSend(); err != nil {
		log.Printf("close: %v", err)
	}
	fmt.Printf("emitted runtime stats %d times, every %v\n", ticks, interval)

	if server == nil {
		return
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	envs, err := server.WaitForEnvelopes(wctx, ticks)
	if err != nil {
		log.Fatalf("server received %d of %d envelopes: %v", len(envs), ticks, err)
	}
	for _, e := range envs {
		metrics := e.GetGauge().GetMetrics()
		for _, name := range slices.Sorted(maps.Keys(metrics)) {
			fmt.Printf("  %s = %.0f %s\n", name, metrics[name].GetValue(), metrics[name].GetUnit())
		}
		fmt.Println("  --")
	}
}

// stopAfter passes gauges on to sender and calls stop after the n-th.
type stopAfter struct {
	sender runtimeemitter.Sender
	n      int
	stop   func()
}

func (s *stopAfter) EmitGauge(opts ...loggregator.EmitGaugeOption) {
	s.sender.EmitGauge(opts...)
	if s.n--; s.n == 0 {
		s.stop()
	}
}
