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

// This example registers a real emitter, an IngressClient sending to an
// in-process agent, and a real nozzle, an EnvelopeStreamConnector reading
// from an in-process egress server, with a Collector. The emitter sends
// five logs (one of them too large to send) and closes; the nozzle reads a
// batch of three envelopes stamped two seconds ago. The registry is then
// served the way a /metrics endpoint does, and some of the lines a scrape
// returns are printed.
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
	agent, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ingressTLS, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		log.Fatal(err)
	}
	emitter, err := loggregator.NewIngressClient(ingressTLS, loggregator.WithAddr(agent.Addr()))
	if err != nil {
		log.Fatal(err)
	}
	connector := loggregator.NewEnvelopeStreamConnector(egress.Addr(), certs.ClientTLSConfig(loggregator.EgressServerName))
	c, err := promcollector.New(promcollector.WithConstLabels(prometheus.Labels{"app": "billing"}))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.AddIngressClient("emitter", emitter); err != nil {
		log.Fatal(err)
	}
	if err := c.AddEnvelopeStreamConnector("firehose", connector); err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	for i := range 4 {
		emitter.EmitLog(fmt.Sprintf("log %d", i), loggregator.WithSourceInfo("app", "APP/PROC/WEB", "0"))
	}
	emitter.EmitLog(strings.Repeat("x", loggregator.MaxIngressEnvelopeSize)) // dropped as invalid
	if err := emitter.CloseSend(); err != nil {
		log.Fatal(err)
	}

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
		if strings.HasPrefix(line, "loggregator_ingress_envelopes_sent_total") ||
			strings.HasPrefix(line, `loggregator_ingress_envelopes_dropped_total{app="billing",cause="invalid"`) ||
			strings.HasPrefix(line, "loggregator_egress_envelopes_received_total") ||
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
	// loggregator_ingress_envelopes_dropped_total{app="billing",cause="invalid",client="emitter"} 1
	// loggregator_ingress_envelopes_sent_total{app="billing",client="emitter"} 4
}
