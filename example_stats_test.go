package loggregator_test

import (
	"context"
	"fmt"
	"log"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// A nozzle checks how much it has received and how far behind the sources
// it is. Here the in-process egress server sends two batches of logs
// stamped two seconds ago, then restarts once.
func ExampleEnvelopeStreamConnector_Stats() {
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

	connector := loggregator.NewEnvelopeStreamConnector(srv.Addr(), certs.ClientTLSConfig(loggregator.EgressServerName))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := connector.Stream(ctx, &loggregator_v2.EgressBatchRequest{ShardId: "my-nozzle"})

	logAt := func(ts time.Time) *loggregator_v2.Envelope {
		return &loggregator_v2.Envelope{SourceId: "app", Timestamp: ts.UnixNano(),
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello")}}}
	}
	twoSecondsAgo := time.Now().Add(-2 * time.Second)
	srv.Send(logAt(twoSecondsAgo), logAt(twoSecondsAgo), logAt(twoSecondsAgo))
	srv.Send(logAt(twoSecondsAgo), logAt(twoSecondsAgo))
	for read := 0; read < 5; {
		read += len(stream())
	}
	if err := srv.Restart(); err != nil {
		log.Fatal(err)
	}
	srv.Send(logAt(time.Now().Add(-2 * time.Second)))
	stream() // received on the new stream

	st := connector.Stats()
	fmt.Println("envelopes:", st.Envelopes, "batches:", st.Batches)
	fmt.Println("dropped:", st.Dropped, "reconnects:", st.Reconnects)
	fmt.Println("had an error:", st.LastError != nil)

	// Cumulative counts, as Prometheus reports them.
	bounds := loggregator.LagBucketBounds()
	cum := st.Lag.Cumulative()
	for i, le := range bounds[:len(bounds)-1] {
		if le == time.Second || le == 5*time.Second {
			fmt.Printf("lag <= %v: %d\n", le, cum[i])
		}
	}
	fmt.Println("lag observed:", st.Lag.Count)
	// Output:
	// envelopes: 6 batches: 3
	// dropped: 0 reconnects: 1
	// had an error: true
	// lag <= 1s: 0
	// lag <= 5s: 6
	// lag observed: 6
}
