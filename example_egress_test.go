package loggregator_test

import (
	"context"
	"fmt"
	"log"
	"time"

	gendiodes "code.cloudfoundry.org/go-diodes"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// An EnvelopeStreamConnector reading logs from an egress server; here the
// in-process one from testhelpers stands in for the Reverse Log Proxy.
func ExampleEnvelopeStreamConnector() {
	certs, cleanup, err := testhelpers.NewTempCerts()
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()
	srv, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	tlsConfig, err := loggregator.NewEgressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		log.Fatal(err)
	}
	connector := loggregator.NewEnvelopeStreamConnector(srv.Addr(), tlsConfig)

	// The stream lives as long as ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := connector.Stream(ctx, &loggregator_v2.EgressBatchRequest{
		ShardId:          "my-nozzle",
		UsePreferredTags: true,
		Selectors: []*loggregator_v2.Selector{
			{Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}},
		},
	})

	srv.Send(
		&loggregator_v2.Envelope{SourceId: "app-1", Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("first")}}},
		&loggregator_v2.Envelope{SourceId: "app-2", Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("second")}}},
	)
	for _, e := range stream() {
		fmt.Printf("%s: %s\n", e.GetSourceId(), e.GetLog().GetPayload())
	}
	fmt.Println("shard:", srv.Requests()[0].GetShardId())

	cancel()
	fmt.Println("after cancel:", stream())
	// Output:
	// app-1: first
	// app-2: second
	// shard: my-nozzle
	// after cancel: []
}

// With a buffer, a goroutine keeps reading while the caller is busy; when
// the caller falls behind, the oldest batches are dropped and the alerter
// is told how many batches were lost.
func ExampleWithEnvelopeStreamBuffer() {
	certs, cleanup, err := testhelpers.NewTempCerts()
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()
	srv, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	connector := loggregator.NewEnvelopeStreamConnector(srv.Addr(),
		certs.ClientTLSConfig(loggregator.EgressServerName),
		loggregator.WithEnvelopeStreamBuffer(1000, func(missed int) {
			log.Printf("dropped %d batches", missed)
		}),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := connector.Stream(ctx, &loggregator_v2.EgressBatchRequest{})

	srv.Send(&loggregator_v2.Envelope{SourceId: "app", Message: &loggregator_v2.Envelope_Counter{
		Counter: &loggregator_v2.Counter{Name: "requests", Delta: 1, Total: 10},
	}})
	for _, e := range stream() {
		fmt.Println(e.GetCounter().GetName(), e.GetCounter().GetTotal())
	}
	// Output:
	// requests 10
}

// A OneToOneEnvelopeBatch never blocks its writer: when the reader falls
// behind, the writer overwrites unread batches and the reader's alerter
// learns how many it skipped.
func ExampleOneToOneEnvelopeBatch() {
	d := loggregator.NewOneToOneEnvelopeBatch(2, gendiodes.AlertFunc(func(missed int) {
		fmt.Println("missed", missed, "batches")
	}))
	for _, id := range []string{"a", "b", "c"} {
		d.Set([]*loggregator_v2.Envelope{{SourceId: id}})
	}
	for {
		batch, ok := d.TryNext()
		if !ok {
			break
		}
		fmt.Println("read", batch[0].GetSourceId())
	}
	// Output:
	// missed 2 batches
	// read c
}
