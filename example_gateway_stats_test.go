package loggregator_test

import (
	"context"
	"fmt"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func ExampleRLPGatewayClient_Stats() {
	gw, err := testhelpers.NewGatewayServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Close()
	hc := gw.HTTPClient()
	defer hc.CloseIdleConnections()

	client := loggregator.NewRLPGatewayClient(gw.URL(), loggregator.WithRLPGatewayHTTPClient(hc))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := client.Stream(ctx, &loggregator_v2.EgressBatchRequest{
		Selectors: []*loggregator_v2.Selector{{
			SourceId: "my-app",
			Message:  &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}},
		}},
	})

	// Two envelopes sent 3 s after their timestamp, a malformed event,
	// then one more envelope.
	stamp := time.Now().Add(-3 * time.Second).UnixNano()
	log := func(msg string) *loggregator_v2.Envelope {
		return &loggregator_v2.Envelope{
			SourceId:  "my-app",
			Timestamp: stamp,
			Message:   &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(msg)}},
		}
	}
	_ = gw.Send(log("one"), log("two"))
	_ = gw.SendRaw([]byte("data: not an envelope batch\n\n"))
	_ = gw.Send(log("three"))
	for n := 0; n < 3; {
		envs := stream()
		if envs == nil { // ctx is done
			fmt.Println("stream ended early")
			return
		}
		n += len(envs)
	}

	s := client.Stats()
	fmt.Println("envelopes:", s.Envelopes)
	fmt.Println("skipped as malformed:", s.Skipped.Malformed, "- SkippedEvents:", client.SkippedEvents())
	fmt.Println("requests:", s.Requests, "reconnects:", s.Reconnects.Total())
	bounds := loggregator.LagBucketBounds()
	for i, n := range s.Lag.Counts {
		if n > 0 {
			fmt.Printf("lag at most %v: %d envelopes\n", bounds[i], n)
		}
	}
	// Output:
	// envelopes: 3
	// skipped as malformed: 1 - SkippedEvents: 1
	// requests: 1 reconnects: 0
	// lag at most 5s: 3 envelopes
}
