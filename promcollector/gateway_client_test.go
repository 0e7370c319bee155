package promcollector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/promcollector"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// TestCollectorRealRLPGatewayClient registers a real RLPGatewayClient,
// streaming from an in-process gateway, and checks that a scrape shows
// what the client received and passes the linter.
func TestCollectorRealRLPGatewayClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gw, err := testhelpers.NewGatewayServer(testhelpers.WithGatewayHeartbeat(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	hc := gw.HTTPClient()
	defer hc.CloseIdleConnections()

	client := loggregator.NewRLPGatewayClient(gw.URL(), loggregator.WithRLPGatewayHTTPClient(hc))
	c, err := promcollector.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddRLPGatewayClient("nozzle", client); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}

	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	stream := client.Stream(sctx, &loggregator_v2.EgressBatchRequest{
		Selectors: []*loggregator_v2.Selector{{Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}}},
	})
	// 3 batches of 1, 10 and 14 envelopes stamped one second ago.
	stamp := time.Now().Add(-time.Second).UnixNano()
	sent := 0
	for _, n := range []int{1, 10, 14} {
		batch := make([]*loggregator_v2.Envelope, n)
		for i := range batch {
			batch[i] = &loggregator_v2.Envelope{
				SourceId: "app", Timestamp: stamp,
				Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(fmt.Sprint("line ", sent+i))}},
			}
		}
		if err := gw.Send(batch...); err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	received := 0
	for received < sent {
		envs := stream()
		if envs == nil {
			t.Fatalf("stream ended after %d of %d envelopes", received, sent)
		}
		received += len(envs)
	}

	want := fmt.Sprintf(`
# HELP loggregator_rlp_gateway_envelopes_received_total Envelopes an RLPGatewayClient decoded from data events.
# TYPE loggregator_rlp_gateway_envelopes_received_total counter
loggregator_rlp_gateway_envelopes_received_total{client="nozzle"} %d
# HELP loggregator_rlp_gateway_events_received_total Server-sent events of every kind an RLPGatewayClient read.
# TYPE loggregator_rlp_gateway_events_received_total counter
loggregator_rlp_gateway_events_received_total{client="nozzle"} 3
# HELP loggregator_rlp_gateway_requests_total HTTP stream requests an RLPGatewayClient made.
# TYPE loggregator_rlp_gateway_requests_total counter
loggregator_rlp_gateway_requests_total{client="nozzle"} %d
# HELP loggregator_rlp_gateway_received_bytes_total Response body bytes an RLPGatewayClient read.
# TYPE loggregator_rlp_gateway_received_bytes_total counter
loggregator_rlp_gateway_received_bytes_total{client="nozzle"} %d
`, received, len(gw.Requests()), client.Stats().BytesRead)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"loggregator_rlp_gateway_envelopes_received_total",
		"loggregator_rlp_gateway_events_received_total",
		"loggregator_rlp_gateway_requests_total",
		"loggregator_rlp_gateway_received_bytes_total",
	); err != nil {
		t.Fatal(err)
	}
	if received != 25 {
		t.Fatalf("received %d envelopes, want 25", received)
	}
	if client.Stats().BytesRead == 0 {
		t.Fatal("no bytes counted")
	}
	// Every envelope is about 1 s late: all in the (500ms, 1s] or (1s, 5s]
	// bucket, so the 5 s bucket of the scrape holds them all.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "loggregator_rlp_gateway_lag_seconds" {
			continue
		}
		found = true
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 25 {
			t.Errorf("lag histogram count %d, want 25", h.GetSampleCount())
		}
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == 5 && b.GetCumulativeCount() != 25 {
				t.Errorf("lag bucket le=5: %d, want 25", b.GetCumulativeCount())
			}
		}
	}
	if !found {
		t.Error("no lag histogram in the scrape")
	}

	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}

	scancel()
	for stream() != nil {
	}
}
