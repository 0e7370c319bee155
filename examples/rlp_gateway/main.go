// Command rlp_gateway reads envelopes from the RLP gateway (the
// log-stream endpoint of Cloud Foundry) with an RLPGatewayClient and prints
// them.
//
// Environment:
//
//	LOG_STREAM_ADDR  gateway base URL, e.g. https://log-stream.sys.example.com
//	CF_TOKEN         OAuth token as printed by `cf oauth-token`
//	                 ("bearer eyJ..."; a bare token gets "bearer " prepended)
//	SOURCE_ID        optional source id (app GUID) to filter on; without it
//	                 the token needs doppler.firehose or logs.admin scope
//
// With LOG_STREAM_ADDR set it streams logs, counters, gauges, timers and
// events until interrupted. Without it, it starts the testhelpers gateway
// in-process, feeds it a few envelopes, prints what the stream delivered
// and exits 0 (1 if something is missing after ten seconds).
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/prototext"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// tokenDoer adds the Authorization header to every request. A real program
// would refresh the token here when it expires.
type tokenDoer struct {
	token string
	c     *http.Client
}

func (d tokenDoer) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set("Authorization", d.token)
	return d.c.Do(r)
}

func bearer(token string) string {
	if strings.HasPrefix(token, "bearer ") || strings.HasPrefix(token, "Bearer ") {
		return "bearer " + strings.TrimSpace(token[len("bearer "):])
	}
	return "bearer " + token
}

func request(sourceID string) *loggregator_v2.EgressBatchRequest {
	return &loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{
		{SourceId: sourceID, Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}},
		{SourceId: sourceID, Message: &loggregator_v2.Selector_Counter{Counter: &loggregator_v2.CounterSelector{}}},
		{SourceId: sourceID, Message: &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{}}},
		{SourceId: sourceID, Message: &loggregator_v2.Selector_Timer{Timer: &loggregator_v2.TimerSelector{}}},
		{SourceId: sourceID, Message: &loggregator_v2.Selector_Event{Event: &loggregator_v2.EventSelector{}}},
	}}
}

func main() {
	log.SetFlags(0)
	addr := os.Getenv("LOG_STREAM_ADDR")
	if addr == "" {
		if err := demo(); err != nil {
			log.Fatal(err)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := loggregator.NewRLPGatewayClient(addr,
		loggregator.WithRLPGatewayHTTPClient(tokenDoer{token: bearer(os.Getenv("CF_TOKEN")), c: http.DefaultClient}),
		loggregator.WithRLPGatewayClientLogger(log.New(os.Stderr, "rlp-gateway: ", log.LstdFlags)),
	)
	stream := c.Stream(ctx, request(os.Getenv("SOURCE_ID")))
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

// demo runs against an in-process gateway that requires a token.
func demo() error {
	const token = "demo-token"
	srv, err := testhelpers.NewGatewayServer(testhelpers.WithGatewayToken(token))
	if err != nil {
		return err
	}
	defer srv.Close()
	hc := srv.HTTPClient()
	defer hc.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := loggregator.NewRLPGatewayClient(srv.URL(),
		loggregator.WithRLPGatewayHTTPClient(tokenDoer{token: bearer(token), c: hc}))
	stream := c.Stream(ctx, request("demo-app"))

	sent := []*loggregator_v2.Envelope{
		{SourceId: "demo-app", Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello from the gateway")}}},
		{SourceId: "demo-app", Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "requests", Delta: 1, Total: 42}}},
		{SourceId: "demo-app", Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{"cpu": {Unit: "percentage", Value: 12.5}}}}},
	}
	if err := srv.Send(sent...); err != nil {
		return err
	}
	got := 0
	for got < len(sent) {
		batch := stream()
		if batch == nil {
			return fmt.Errorf("received %d of %d envelopes before the deadline", got, len(sent))
		}
		for _, e := range batch {
			fmt.Println(prototext.MarshalOptions{}.Format(e))
		}
		got += len(batch)
	}
	fmt.Printf("received %d envelopes via %s%s\n", got, srv.URL(), srv.Requests()[0].URL)
	return nil
}
