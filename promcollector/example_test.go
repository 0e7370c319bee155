package promcollector_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/promcollector"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// This example registers a real nozzle, an EnvelopeStreamConnector
// reading from an in-process egress server, with a Collector, reads a
// batch of three envelopes stamped two seconds ago, and serves the
// registry the way a /metrics endpoint does, printing some of the lines a
// scrape returns.
func ExampleCollector() {
	certs, cleanup, err := testhelpers.NewTempCerts()
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()
	egress, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		log.Fatal(err)
	}
	defer egress.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	connector := loggregator.NewEnvelopeStreamConnector(egress.Addr(), certs.ClientTLSConfig(loggregator.EgressServerName))
	c, err := promcollector.New(promcollector.WithConstLabels(prometheus.Labels{"app": "billing"}))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.AddEnvelopeStreamConnector("firehose", connector); err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	stream := connector.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
	stamp := time.Now().Add(-2 * time.Second).UnixNano()
	egress.Send(
		&loggregator_v2.Envelope{SourceId: "app", Timestamp: stamp, Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("a")}}},
		&loggregator_v2.Envelope{SourceId: "app", Timestamp: stamp, Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("b")}}},
		&loggregator_v2.Envelope{SourceId: "app", Timestamp: stamp, Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("c")}}},
	)
	for n := 0; n < 3 && ctx.Err() == nil; {
		n += len(stream())
	}

	// In a program: http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))

	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "loggregator_egress_envelopes_received_total") ||
			strings.HasPrefix(line, "loggregator_egress_batches_received_total") ||
			strings.HasPrefix(line, `loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="1"}`) ||
			strings.HasPrefix(line, `loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="5"}`) ||
			strings.HasPrefix(line, "loggregator_egress_lag_seconds_count") {
			fmt.Println(line)
		}
	}
	// Output:
	// loggregator_egress_batches_received_total{app="billing",client="firehose"} 1
	// loggregator_egress_envelopes_received_total{app="billing",client="firehose"} 3
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="1"} 0
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="5"} 3
	// loggregator_egress_lag_seconds_count{app="billing",client="firehose"} 3
}
