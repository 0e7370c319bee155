package promcollector_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/promcollector"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// TestCollectorWithRealIngressClient registers a real IngressClient,
// sending to an in-process agent, and checks that the sent and dropped
// metrics match what the agent received and what the client dropped,
// and that the exposition passes the Prometheus lint.
func TestCollectorWithRealIngressClient(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	tlsConfig, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	client, err := loggregator.NewIngressClient(tlsConfig, loggregator.WithAddr(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.CloseSend() }()

	c, err := promcollector.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddIngressClient("emitter", client); err != nil {
		t.Fatal(err)
	}

	const n = 1234
	for i := 0; i < n; i++ {
		client.EmitLog("scraped", loggregator.WithSourceInfo("app", "APP/PROC/WEB", "0"))
	}
	client.EmitLog(strings.Repeat("x", loggregator.MaxIngressEnvelopeSize)) // invalid
	if err := client.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	client.EmitCounter("too late") // after close

	received := srv.Count()
	if received != n {
		t.Fatalf("server received %d envelopes, want %d", received, n)
	}
	want := fmt.Sprintf(`
# HELP loggregator_ingress_envelopes_sent_total Envelopes an IngressClient sent and the agent confirmed (each counted once).
# TYPE loggregator_ingress_envelopes_sent_total counter
loggregator_ingress_envelopes_sent_total{client="emitter"} %d
# HELP loggregator_ingress_envelopes_accepted_total Envelopes an IngressClient's Emit calls put into its buffer.
# TYPE loggregator_ingress_envelopes_accepted_total counter
loggregator_ingress_envelopes_accepted_total{client="emitter"} %d
# HELP loggregator_ingress_envelopes_dropped_total Envelopes an IngressClient dropped, by cause.
# TYPE loggregator_ingress_envelopes_dropped_total counter
loggregator_ingress_envelopes_dropped_total{cause="after_close",client="emitter"} 1
loggregator_ingress_envelopes_dropped_total{cause="agent_unavailable",client="emitter"} 0
loggregator_ingress_envelopes_dropped_total{cause="broken_stream",client="emitter"} 0
loggregator_ingress_envelopes_dropped_total{cause="buffer_full",client="emitter"} 0
loggregator_ingress_envelopes_dropped_total{cause="invalid",client="emitter"} 1
# HELP loggregator_ingress_buffered_envelopes Envelopes an IngressClient holds in its buffer now, including a batch in flight.
# TYPE loggregator_ingress_buffered_envelopes gauge
loggregator_ingress_buffered_envelopes{client="emitter"} 0
`, received, n)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"loggregator_ingress_envelopes_sent_total", "loggregator_ingress_envelopes_accepted_total",
		"loggregator_ingress_envelopes_dropped_total", "loggregator_ingress_buffered_envelopes"); err != nil {
		t.Error(err)
	}
	if d := client.Dropped(); d != 2 {
		t.Errorf("Dropped() = %d, want 2 (the sum of the dropped metric)", d)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	// Every ingress metric is there: 10 names, dropped with 5 causes.
	if got := testutil.CollectAndCount(c); got != 14 {
		t.Errorf("%d metrics collected, want 14", got)
	}
}
