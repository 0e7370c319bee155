package loggregator_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// bearerDoer is a Doer that authenticates every request; a real one would
// fetch and refresh a UAA token.
type bearerDoer struct {
	token  string
	client *http.Client
}

func (d bearerDoer) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set("Authorization", "bearer "+d.token)
	return d.client.Do(r)
}

func ExampleRLPGatewayClient_Stream() {
	gw, err := testhelpers.NewGatewayServer(testhelpers.WithGatewayToken("my-token"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Close()
	hc := gw.HTTPClient()
	defer hc.CloseIdleConnections()

	client := loggregator.NewRLPGatewayClient(gw.URL(),
		loggregator.WithRLPGatewayHTTPClient(bearerDoer{token: "my-token", client: hc}),
	)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := client.Stream(ctx, &loggregator_v2.EgressBatchRequest{
		Selectors: []*loggregator_v2.Selector{{
			SourceId: "my-app",
			Message:  &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}},
		}},
	})

	_ = gw.Send(&loggregator_v2.Envelope{
		SourceId: "my-app",
		Message:  &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello")}},
	})
	for _, e := range stream() {
		fmt.Printf("%s: %s\n", e.GetSourceId(), e.GetLog().GetPayload())
	}
	fmt.Println(gw.Requests()[0].URL)
	// Output:
	// my-app: hello
	// /v2/read?source_id=my-app&log
}

func ExampleWithRLPGatewayErrChan() {
	gw, err := testhelpers.NewGatewayServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Close()
	hc := gw.HTTPClient()
	defer hc.CloseIdleConnections()
	gw.SetStatus(http.StatusNotFound) // as for a bad token

	errs := make(chan error, 10)
	client := loggregator.NewRLPGatewayClient(gw.URL(),
		loggregator.WithRLPGatewayHTTPClient(hc),
		loggregator.WithRLPGatewayErrChan(errs),
		loggregator.WithRLPGatewayMaxRetries(1),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := client.Stream(ctx, &loggregator_v2.EgressBatchRequest{
		Selectors: []*loggregator_v2.Selector{{Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}}},
	})

	fmt.Println(stream() == nil) // the client gave up after 2 attempts
	for len(errs) > 0 {
		err := <-errs
		// Only giving up is fatal; skipped events are reported too.
		fmt.Println(errors.Is(err, loggregator.ErrRLPGatewayMaxRetries), err)
	}
	fmt.Println(len(gw.Requests()))
	// Output:
	// true
	// true client connection attempts exceeded max retries -- giving up
	// 2
}
