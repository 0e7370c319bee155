// Command v2_ingress emits envelopes to a Loggregator agent over the v2
// (gRPC) API with the IngressClient.
//
// Environment:
//
//	CA_CERT_PATH, CERT_PATH, KEY_PATH  the agent's CA and a client key pair
//	INGRESS_ADDR                       optional; default localhost:3458
//
// When the three paths are not set it starts an in-process agent
// (testhelpers.IngressServer) with throw-away certificates, sends to it and
// prints how many envelopes it received. It runs to completion and exits
// 0, or 1 on error.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func main() {
	log.SetFlags(0)
	if err := run(); err != nil {
		log.Fatalf("v2_ingress: %v", err)
	}
}

func run() error {
	ca, cert, key := os.Getenv("CA_CERT_PATH"), os.Getenv("CERT_PATH"), os.Getenv("KEY_PATH")
	addr := os.Getenv("INGRESS_ADDR")
	var server *testhelpers.IngressServer
	if ca == "" || cert == "" || key == "" {
		certs, cleanup, err := testhelpers.NewTempCerts()
		if err != nil {
			return err
		}
		defer cleanup()
		server, err = testhelpers.NewIngressServer(certs)
		if err != nil {
			return err
		}
		defer server.Stop()
		ca, cert, key, addr = certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile, server.Addr()
		fmt.Printf("CA_CERT_PATH, CERT_PATH or KEY_PATH not set; using an in-process agent at %s\n", addr)
	}

	tlsConfig, err := loggregator.NewIngressTLSConfig(ca, cert, key)
	if err != nil {
		return err
	}
	opts := []loggregator.IngressOption{
		loggregator.WithTag("origin", "v2-ingress-example"),
		loggregator.WithLogger(log.New(os.Stderr, "ingress: ", 0)),
	}
	if addr != "" {
		opts = append(opts, loggregator.WithAddr(addr))
	}
	client, err := loggregator.NewIngressClient(tlsConfig, opts...)
	if err != nil {
		return err
	}

	const rounds = 5
	for i := 0; i < rounds; i++ {
		client.EmitLog(fmt.Sprintf("log message %d", i), loggregator.WithSourceInfo("v2-example", "APP", "0"))
		client.EmitCounter("example.count", loggregator.WithCounterSourceInfo("v2-example", "0"))
		client.EmitGauge(loggregator.WithGaugeValue("example.gauge", float64(i), "items"), loggregator.WithGaugeSourceInfo("v2-example", "0"))
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.EmitEvent(ctx, "example done", "sent all rounds", loggregator.WithEventSourceInfo("v2-example", "0")); err != nil {
		log.Printf("EmitEvent: %v", err)
	}
	if err := client.CloseSend(); err != nil {
		return fmt.Errorf("CloseSend: %w", err)
	}
	fmt.Printf("sent %d envelopes (%d dropped)\n", 3*rounds+1, client.Dropped())
	if server != nil {
		fmt.Printf("the in-process agent received %d envelopes\n", server.Count())
	}
	return nil
}
