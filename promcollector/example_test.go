package promcollector_test

import (
	"bufio"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/promcollector"
)

// exampleNozzle stands in for a *loggregator.EnvelopeStreamConnector:
// anything with a Stats method returning loggregator.EnvelopeStreamStats
// can be collected.
type exampleNozzle struct{}

func (exampleNozzle) Stats() loggregator.EnvelopeStreamStats {
	return loggregator.EnvelopeStreamStats{
		Envelopes: 1200, Batches: 12, Dropped: 3,
		Lag: loggregator.LagHistogram{
			// 1000 envelopes within 1ms, 150 within 50ms, 50 within 1s.
			Counts:     [loggregator.NumLagBuckets]uint64{0: 1000, 3: 150, 6: 50},
			Count:      1200,
			SumSeconds: 9.5,
		},
	}
}

// exampleEmitter stands in for a *loggregator.IngressClient.
type exampleEmitter struct{}

func (exampleEmitter) Stats() loggregator.IngressClientStats {
	return loggregator.IngressClientStats{
		Accepted: 500, Sent: 480, Buffered: 20,
		Dropped:       loggregator.IngressDrops{BufferFull: 7},
		EmitWaitTotal: 40 * time.Millisecond,
	}
}

// This example registers a nozzle and an emitter with a Collector and
// serves the registry the way a /metrics endpoint does, printing some of
// the lines a scrape returns.
func ExampleCollector() {
	c, err := promcollector.New(promcollector.WithConstLabels(prometheus.Labels{"app": "billing"}))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.AddEnvelopeStreamConnector("firehose", exampleNozzle{}); err != nil {
		log.Fatal(err)
	}
	if err := c.AddIngressClient("emitter", exampleEmitter{}); err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	// In a program: http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))

	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "loggregator_egress_lag_seconds") ||
			strings.HasPrefix(line, "loggregator_ingress_envelopes_dropped_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="0.001"} 1000
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="0.005"} 1000
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="0.01"} 1000
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="0.05"} 1150
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="0.1"} 1150
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="0.5"} 1150
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="1"} 1200
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="5"} 1200
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="10"} 1200
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="30"} 1200
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="60"} 1200
	// loggregator_egress_lag_seconds_bucket{app="billing",client="firehose",le="+Inf"} 1200
	// loggregator_egress_lag_seconds_sum{app="billing",client="firehose"} 9.5
	// loggregator_egress_lag_seconds_count{app="billing",client="firehose"} 1200
	// loggregator_ingress_envelopes_dropped_total{app="billing",cause="after_close",client="emitter"} 0
	// loggregator_ingress_envelopes_dropped_total{app="billing",cause="agent_unavailable",client="emitter"} 0
	// loggregator_ingress_envelopes_dropped_total{app="billing",cause="broken_stream",client="emitter"} 0
	// loggregator_ingress_envelopes_dropped_total{app="billing",cause="buffer_full",client="emitter"} 7
	// loggregator_ingress_envelopes_dropped_total{app="billing",cause="invalid",client="emitter"} 0
}
