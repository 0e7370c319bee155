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

var _ promcollector.EnvelopeStreamSource = (*loggregator.EnvelopeStreamConnector)(nil)

// TestCollectorRealEnvelopeStreamConnector registers a real connector,
// reading from the in-process egress server, and checks that the scraped
// counters are what the nozzle received: 3 batches of 4, 1 and 7
// envelopes stamped 2 s ago, all in the lag bucket le="5".
func TestCollectorRealEnvelopeStreamConnector(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	connector := loggregator.NewEnvelopeStreamConnector(srv.Addr(), certs.ClientTLSConfig(loggregator.EgressServerName))
	c, err := promcollector.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddEnvelopeStreamConnector("nozzle", connector); err != nil {
		t.Fatal(err)
	}

	stream := connector.Stream(ctx, &loggregator_v2.EgressBatchRequest{})
	ts := time.Now().Add(-2 * time.Second).UnixNano()
	sizes := []int{4, 1, 7}
	total := 0
	for _, n := range sizes {
		envs := make([]*loggregator_v2.Envelope, n)
		for i := range envs {
			envs[i] = &loggregator_v2.Envelope{SourceId: "app", Timestamp: ts,
				Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "c", Total: uint64(i)}}}
		}
		srv.SendBatch(envs)
		total += n
	}
	received := 0
	for received < total {
		b := stream()
		if b == nil {
			t.Fatalf("stream ended after %d envelopes", received)
		}
		received += len(b)
	}
	if received != total {
		t.Fatalf("received %d envelopes, sent %d", received, total)
	}

	// The connector's own count, through the collector, equals what the
	// nozzle received.
	want := fmt.Sprintf(`
# HELP loggregator_egress_envelopes_received_total Envelopes an EnvelopeStreamConnector received over all its streams.
# TYPE loggregator_egress_envelopes_received_total counter
loggregator_egress_envelopes_received_total{client="nozzle"} %d
# HELP loggregator_egress_batches_received_total Batches an EnvelopeStreamConnector received over all its streams.
# TYPE loggregator_egress_batches_received_total counter
loggregator_egress_batches_received_total{client="nozzle"} %d
# HELP loggregator_egress_envelopes_dropped_total Envelopes an EnvelopeStreamConnector's optional buffer dropped because the consumer did not keep up.
# TYPE loggregator_egress_envelopes_dropped_total counter
loggregator_egress_envelopes_dropped_total{client="nozzle"} 0
# HELP loggregator_egress_reconnects_total Streams an EnvelopeStreamConnector opened after its first one ended, cleanly or not.
# TYPE loggregator_egress_reconnects_total counter
loggregator_egress_reconnects_total{client="nozzle"} 0
`, received, len(sizes))
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"loggregator_egress_envelopes_received_total", "loggregator_egress_batches_received_total",
		"loggregator_egress_envelopes_dropped_total", "loggregator_egress_reconnects_total"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.CollectAndCount(c, "loggregator_egress_lag_seconds"); got != 1 {
		t.Fatalf("%d lag histograms, want 1", got)
	}

	// The lag histogram: every envelope in le="5" and above, none below.
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for i < len(mfs) && mfs[i].GetName() != "loggregator_egress_lag_seconds" {
		i++
	}
	if i == len(mfs) || len(mfs[i].GetMetric()) != 1 {
		t.Fatal("lag histogram missing from the scrape")
	}
	h := mfs[i].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != uint64(total) {
		t.Fatalf("lag sample count %d, want %d", h.GetSampleCount(), total)
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 5 {
			want = uint64(total)
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}

	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	cancel()
}
