// Command envelope_stream_connector reads envelopes from the Loggregator
// API (the Reverse Log Proxy) with an EnvelopeStreamConnector and prints
// them.
//
// With CA_CERT_PATH, CERT_PATH, KEY_PATH, LOGS_API_ADDR and SHARD_ID set it
// streams every log, counter, gauge, timer and event from LOGS_API_ADDR
// until interrupted. Without them it starts the testhelpers egress server
// in-process (with throw-away certificates), feeds it a few envelopes,
// prints what the stream delivered and exits 0 (1 if something is missing
// after ten seconds).
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"google.golang.org/protobuf/encoding/prototext"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func main() {
	log.SetFlags(0)
	addr := os.Getenv("LOGS_API_ADDR")
	if addr == "" {
		if err := demo(); err != nil {
			log.Fatal(err)
		}
		return
	}

	tlsConfig, err := loggregator.NewEgressTLSConfig(
		os.Getenv("CA_CERT_PATH"),
		os.Getenv("CERT_PATH"),
		os.Getenv("KEY_PATH"),
	)
	if err != nil {
		log.Fatalf("tls: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	stream := connector(addr, tlsConfig).Stream(ctx, request(os.Getenv("SHARD_ID")))
	for {
		batch := stream()
		if batch == nil {
			return // interrupted
		}
		for _, e := range batch {
			fmt.Println(prototext.MarshalOptions{}.Format(e))
		}
	}
}

func connector(addr string, tlsConfig *tls.Config) *loggregator.EnvelopeStreamConnector {
	return loggregator.NewEnvelopeStreamConnector(addr, tlsConfig,
		loggregator.WithEnvelopeStreamLogger(log.New(os.Stderr, "stream: ", log.LstdFlags)),
	)
}

// request selects every kind of envelope from every source.
func request(shardID string) *loggregator_v2.EgressBatchRequest {
	return &loggregator_v2.EgressBatchRequest{
		ShardId:          shardID,
		UsePreferredTags: true,
		Selectors: []*loggregator_v2.Selector{
			{Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}},
			{Message: &loggregator_v2.Selector_Counter{Counter: &loggregator_v2.CounterSelector{}}},
			{Message: &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{}}},
			{Message: &loggregator_v2.Selector_Timer{Timer: &loggregator_v2.TimerSelector{}}},
			{Message: &loggregator_v2.Selector_Event{Event: &loggregator_v2.EventSelector{}}},
		},
	}
}

// demo runs the example against an in-process egress server.
func demo() error {
	certs, cleanup, err := testhelpers.NewTempCerts()
	if err != nil {
		return err
	}
	defer cleanup()
	srv, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("LOGS_API_ADDR not set; serving egress in-process on %s\n", srv.Addr())

	tlsConfig, err := loggregator.NewEgressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := connector(srv.Addr(), tlsConfig).Stream(ctx, request("example-shard"))

	sent := []*loggregator_v2.Envelope{
		{SourceId: "example-app", InstanceId: "0", Tags: map[string]string{"source_type": "APP/PROC/WEB"},
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello from the egress example")}}},
		{SourceId: "example-app", InstanceId: "0",
			Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "requests", Delta: 3, Total: 42}}},
		{SourceId: "example-app", InstanceId: "0",
			Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
				"cpu": {Unit: "percentage", Value: 12.5}}}}},
		{SourceId: "example-app",
			Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "deployed", Body: "version 2"}}},
	}
	srv.Send(sent[:2]...)
	srv.Send(sent[2:]...)

	received := 0
	for received < len(sent) {
		batch := stream()
		if batch == nil {
			return fmt.Errorf("received %d of %d envelopes before the deadline", received, len(sent))
		}
		for _, e := range batch {
			fmt.Printf("received: %s\n", prototext.MarshalOptions{}.Format(e))
		}
		received += len(batch)
	}
	fmt.Printf("received all %d envelopes; request seen by the server: %s\n",
		received, prototext.MarshalOptions{}.Format(srv.Requests()[0]))
	return nil
}
