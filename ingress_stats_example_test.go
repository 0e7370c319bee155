package loggregator_test

import (
	"fmt"
	"log"
	"strings"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

// Stats tells what became of the envelopes given to a client. Once
// CloseSend has returned, every accepted envelope was either sent
// (confirmed by the agent) or dropped, and Dropped splits the drops by
// cause.
func ExampleIngressClient_Stats() {
	srv, tlsConfig, stop := ingressExampleServer()
	defer stop()

	client, err := loggregator.NewIngressClient(tlsConfig, loggregator.WithAddr(srv.Addr()))
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		client.EmitLog("hello", loggregator.WithSourceInfo("my-app", "APP/PROC/WEB", "0"))
	}
	// Larger than the agent accepts: dropped at once, as invalid.
	client.EmitLog(strings.Repeat("x", loggregator.MaxIngressEnvelopeSize))
	if err := client.CloseSend(); err != nil {
		log.Fatal(err)
	}
	client.EmitLog("too late") // dropped: the client is closed

	s := client.Stats()
	fmt.Printf("accepted %d, sent %d, buffered %d, agent received %d\n", s.Accepted, s.Sent, s.Buffered, srv.Count())
	fmt.Printf("dropped %d (= Dropped() %d): invalid %d, after close %d\n",
		s.Dropped.Total(), client.Dropped(), s.Dropped.Invalid, s.Dropped.AfterClose)
	fmt.Printf("Accepted == Sent + Evicted + BrokenStream: %v\n", s.Accepted == s.Sent+s.Evicted+s.Dropped.BrokenStream)
	fmt.Printf("last error: %v\n", s.LastError)
	// Output:
	// accepted 3, sent 3, buffered 0, agent received 3
	// dropped 2 (= Dropped() 2): invalid 1, after close 1
	// Accepted == Sent + Evicted + BrokenStream: true
	// last error: <nil>
}
