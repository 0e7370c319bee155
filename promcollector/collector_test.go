package promcollector_test

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/promcollector"
)

// Test sources returning fixed snapshots stand in for the clients, whose
// Stats methods are the subject of the clients' own tests.
type fixedIngress loggregator.IngressClientStats

func (f fixedIngress) Stats() loggregator.IngressClientStats {
	return loggregator.IngressClientStats(f)
}

type fixedStream loggregator.EnvelopeStreamStats

func (f fixedStream) Stats() loggregator.EnvelopeStreamStats {
	return loggregator.EnvelopeStreamStats(f)
}

type fixedGateway loggregator.RLPGatewayStats

func (f fixedGateway) Stats() loggregator.RLPGatewayStats { return loggregator.RLPGatewayStats(f) }

var (
	ingressStats = loggregator.IngressClientStats{
		Accepted: 101, Sent: 90,
		Dropped:     loggregator.IngressDrops{BufferFull: 2, AgentUnavailable: 3, AfterClose: 4, Invalid: 5, BrokenStream: 6},
		BatchesSent: 9, BatchesRetried: 7, Reconnects: 8, Buffered: 5,
		EmitWaitTotal: 1500 * time.Millisecond, EmitWaitMax: 250 * time.Millisecond,
		LastError: errors.New("stream broke"), LastErrorTime: time.Unix(1764417600, 500_000_000),
	}
	streamStats = loggregator.EnvelopeStreamStats{
		Envelopes: 1000, Batches: 11, Dropped: 12, Reconnects: 13,
		Lag: loggregator.LagHistogram{
			Counts:     [loggregator.NumLagBuckets]uint64{500, 200, 100, 50, 40, 30, 20, 10, 5, 3, 1, 1},
			Count:      960,
			SumSeconds: 123.25, FutureTimestamps: 14, MissingTimestamps: 40,
		},
	}
	gatewayStats = loggregator.RLPGatewayStats{
		Envelopes: 300, Events: 120, Heartbeats: 15,
		Skipped:    loggregator.RLPGatewaySkips{Malformed: 16, Oversized: 17},
		Requests:   18,
		Reconnects: loggregator.RLPGatewayReconnects{StatusCode: 19, Network: 20, Closing: 21},
		BytesRead:  65536,
		LastError:  errors.New("404"), LastErrorTime: time.Unix(1764417000, 0),
		Lag: loggregator.LagHistogram{Counts: [loggregator.NumLagBuckets]uint64{3: 300}, Count: 300, SumSeconds: 15},
	}
)

// newFullCollector returns a collector with one client of each kind and
// the constant label app="test".
func newFullCollector(t *testing.T) *promcollector.Collector {
	t.Helper()
	c, err := promcollector.New(promcollector.WithConstLabels(prometheus.Labels{"app": "test"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		c.AddIngressClient("emitter", fixedIngress(ingressStats)),
		c.AddEnvelopeStreamConnector("nozzle", fixedStream(streamStats)),
		c.AddRLPGatewayClient("gateway", fixedGateway(gatewayStats)),
		c.AddV1Client("legacy", func() (uint64, uint64) { return 22, 23 }),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestCollectorExposition(t *testing.T) {
	want, err := os.Open("testdata/all_clients.prom")
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if err := testutil.CollectAndCompare(newFullCollector(t), want); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorLint(t *testing.T) {
	tests := []struct {
		name string
		c    func(t *testing.T) *promcollector.Collector
	}{
		{"every kind of client", newFullCollector},
		{"no clients", func(t *testing.T) *promcollector.Collector {
			c, err := promcollector.New()
			if err != nil {
				t.Fatal(err)
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c(t)
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

func fqName(t *testing.T, d *prometheus.Desc) string {
	t.Helper()
	m := fqNameRE.FindStringSubmatch(d.String())
	if m == nil {
		t.Fatalf("no fqName in %s", d)
	}
	return m[1]
}

func describe(c prometheus.Collector) []*prometheus.Desc {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	var ds []*prometheus.Desc
	for d := range ch {
		ds = append(ds, d)
	}
	return ds
}

func collect(c prometheus.Collector) []prometheus.Metric {
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	var ms []prometheus.Metric
	for m := range ch {
		ms = append(ms, m)
	}
	return ms
}

// TestDescribeCollectConsistent checks that Collect sends only metrics
// whose descriptors Describe sent, that each described metric is sent
// when every kind of client is present, and that a pedantic registry,
// which checks the same and more, accepts the collector.
func TestDescribeCollectConsistent(t *testing.T) {
	c := newFullCollector(t)
	described := map[string]bool{}
	for _, d := range describe(c) {
		if described[d.String()] {
			t.Errorf("described twice: %s", d)
		}
		described[d.String()] = true
	}
	collected := map[string]bool{}
	for _, m := range collect(c) {
		d := m.Desc().String()
		if !described[d] {
			t.Errorf("collected a metric that was not described: %s", d)
		}
		collected[d] = true
	}
	for d := range described {
		if !collected[d] {
			t.Errorf("described but never collected: %s", d)
		}
	}
	if len(described) != 31 {
		t.Errorf("%d metrics described, want 31", len(described))
	}

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 31 {
		t.Fatalf("gathered %d metric families, want 31", len(mfs))
	}
}

// TestDocListsEveryMetric keeps the list of metric names in doc.go true.
func TestDocListsEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range describe(newFullCollector(t)) {
		name := fqName(t, d)
		if !strings.Contains(string(doc), "//\t"+name) {
			t.Errorf("doc.go does not list %s", name)
		}
	}
}

func TestNewRejectsBadConstLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels prometheus.Labels
	}{
		{"clashes with client", prometheus.Labels{"client": "x"}},
		{"clashes with cause", prometheus.Labels{"cause": "x"}},
		{"clashes with reason", prometheus.Labels{"reason": "x"}},
		{"clashes with le", prometheus.Labels{"le": "x"}},
		{"reserved prefix", prometheus.Labels{"__name__": "x"}},
		{"starts with a digit", prometheus.Labels{"1app": "x"}},
		{"has a dash", prometheus.Labels{"my-app": "x"}},
		{"empty name", prometheus.Labels{"": "x"}},
		{"value not UTF-8", prometheus.Labels{"app": "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := promcollector.New(promcollector.WithConstLabels(tt.labels))
			if err == nil || c != nil {
				t.Fatalf("New(%v) = %v, %v; want an error", tt.labels, c, err)
			}
		})
	}
}

func TestWithConstLabelsMerges(t *testing.T) {
	c, err := promcollector.New(
		promcollector.WithConstLabels(prometheus.Labels{"app": "a", "az": "z1"}),
		nil, // ignored
		promcollector.WithConstLabels(prometheus.Labels{"app": "b"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddV1Client("v1", func() (uint64, uint64) { return 1, 0 }); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP loggregator_v1_envelopes_sent_total Envelopes a v1 client sent.
# TYPE loggregator_v1_envelopes_sent_total counter
loggregator_v1_envelopes_sent_total{app="b",az="z1",client="v1"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "loggregator_v1_envelopes_sent_total"); err != nil {
		t.Fatal(err)
	}
}

func TestAddErrors(t *testing.T) {
	c, err := promcollector.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddIngressClient("taken", fixedIngress{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		add     func() error
		wantDup bool
	}{
		{"duplicate name, same kind", func() error { return c.AddIngressClient("taken", fixedIngress{}) }, true},
		{"duplicate name, other kind", func() error { return c.AddRLPGatewayClient("taken", fixedGateway{}) }, true},
		{"empty name", func() error { return c.AddEnvelopeStreamConnector("", fixedStream{}) }, false},
		{"name not UTF-8", func() error { return c.AddV1Client("\xfe", func() (uint64, uint64) { return 0, 0 }) }, false},
		{"nil ingress source", func() error { return c.AddIngressClient("a", nil) }, false},
		{"nil stream source", func() error { return c.AddEnvelopeStreamConnector("b", nil) }, false},
		{"nil gateway source", func() error { return c.AddRLPGatewayClient("c", nil) }, false},
		{"nil v1 func", func() error { return c.AddV1Client("d", nil) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.add()
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, promcollector.ErrDuplicateClient); got != tt.wantDup {
				t.Fatalf("errors.Is(%v, ErrDuplicateClient) = %v, want %v", err, got, tt.wantDup)
			}
		})
	}
	if n := testutil.CollectAndCount(c); n != 14 {
		t.Fatalf("%d metrics after failed adds, want the 14 of the one ingress client", n)
	}
}

func TestRemove(t *testing.T) {
	c := newFullCollector(t)
	if n := testutil.CollectAndCount(c); n != 14+8+14+2 {
		t.Fatalf("%d metrics, want 38", n)
	}
	if !c.Remove("nozzle") {
		t.Fatal("Remove(nozzle) = false")
	}
	if c.Remove("nozzle") {
		t.Fatal("second Remove(nozzle) = true")
	}
	if n := testutil.CollectAndCount(c, "loggregator_egress_envelopes_received_total"); n != 0 {
		t.Fatalf("removed client still exposed (%d metrics)", n)
	}
	if n := testutil.CollectAndCount(c); n != 14+14+2 {
		t.Fatalf("%d metrics after Remove, want 30", n)
	}
	if err := c.AddEnvelopeStreamConnector("nozzle", fixedStream{}); err != nil {
		t.Fatalf("name not free after Remove: %v", err)
	}
}

// countingIngress returns a snapshot whose Accepted grows on every call.
type countingIngress struct{ n atomic.Uint64 }

func (c *countingIngress) Stats() loggregator.IngressClientStats {
	return loggregator.IngressClientStats{Accepted: c.n.Add(1)}
}

// TestCollectorConcurrentSafe adds and removes clients while several
// goroutines gather from a registry.
func TestCollectorConcurrentSafe(t *testing.T) {
	c, err := promcollector.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	src := &countingIngress{}
	var wg sync.WaitGroup
	const rounds = 200
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				if _, err := reg.Gather(); err != nil {
					t.Errorf("Gather: %v", err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			name := fmt.Sprintf("c%d", i%5)
			if err := c.AddIngressClient(name, src); err != nil && !errors.Is(err, promcollector.ErrDuplicateClient) {
				t.Errorf("Add: %v", err)
				return
			}
			if i%3 == 0 {
				c.Remove(name)
			}
		}
	}()
	wg.Wait()
	if err := c.AddIngressClient("last", src); err != nil {
		t.Fatal(err)
	}
	clients := testutil.CollectAndCount(c, "loggregator_ingress_envelopes_accepted_total")
	before := src.n.Load()
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	// One Stats call per added client and scrape.
	if calls := src.n.Load() - before; calls != uint64(clients) || clients == 0 {
		t.Fatalf("Stats called %d times for %d clients in a Gather", calls, clients)
	}
}

// BenchmarkCollectorGather measures one scrape's collection and encoding
// work for one client of each kind (38 metrics).
func BenchmarkCollectorGather(b *testing.B) {
	c, err := promcollector.New()
	if err != nil {
		b.Fatal(err)
	}
	_ = c.AddIngressClient("emitter", fixedIngress(ingressStats))
	_ = c.AddEnvelopeStreamConnector("nozzle", fixedStream(streamStats))
	_ = c.AddRLPGatewayClient("gateway", fixedGateway(gatewayStats))
	_ = c.AddV1Client("legacy", func() (uint64, uint64) { return 22, 23 })
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
