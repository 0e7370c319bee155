// Command metrics serves the statistics of an emitter and two nozzles as
// Prometheus metrics with promcollector.
//
// It starts the embedded dev server (the one `loggregator dev` runs) on
// loopback with throw-away certificates, and creates three clients against
// it: an IngressClient (the emitter), an EnvelopeStreamConnector reading
// gRPC egress and an RLPGatewayClient reading the gateway (the nozzles).
// It registers all three with a promcollector.Collector, serves the
// registry on http://127.0.0.1:<port>/metrics, emits some logs, reads them
// back through both nozzles, scrapes its own /metrics once, prints the
// loggregator_* metric families it saw and exits 0.
//
// In a real program the clients live as long as the program and
// Prometheus scrapes /metrics; only the registration lines matter:
//
//	c, _ := promcollector.New()
//	_ = c.AddIngressClient("emitter", ingressClient)
//	_ = c.AddEnvelopeStreamConnector("firehose", connector)
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/internal/certs"
	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/promcollector"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// numEnvelopes is the number of logs the example emits and reads back
// through each nozzle.
const numEnvelopes = 20

// sourceID is the source id of the example's logs.
const sourceID = "metrics-example"

func main() {
	log.SetFlags(0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := run(ctx, os.Stdout); err != nil {
		log.Fatalf("metrics: %v", err)
	}
}

// scrape is what the example read from its own /metrics.
type scrape struct {
	// families are the loggregator_* metric family names, sorted.
	families []string
	// body is the whole response.
	body string
}

// run does the whole example, printing to w, and returns the scrape.
func run(ctx context.Context, w io.Writer) (scrape, error) {
	dir, err := os.MkdirTemp("", "go-loggregator-metrics-example-")
	if err != nil {
		return scrape{}, err
	}
	defer os.RemoveAll(dir)
	s, err := devserver.New(devserver.Config{IngressAddr: ":0", EgressAddr: ":0", GatewayAddr: ":0", CertDir: dir})
	if err != nil {
		return scrape{}, err
	}
	defer s.Close()
	set, addrs := s.Certs(), s.Addrs()
	ca, cert, key := set.Path(certs.CAFile), set.Path(certs.ClientCertFile), set.Path(certs.ClientKeyFile)

	// The emitter and the nozzles.
	ingressTLS, err := loggregator.NewIngressTLSConfig(ca, cert, key)
	if err != nil {
		return scrape{}, err
	}
	emitter, err := loggregator.NewIngressClient(ingressTLS, loggregator.WithAddr(addrs.Ingress))
	if err != nil {
		return scrape{}, err
	}
	defer func() { _ = emitter.CloseSend() }() // a no-op once closed below
	egressTLS, err := loggregator.NewEgressTLSConfig(ca, cert, key)
	if err != nil {
		return scrape{}, err
	}
	connector := loggregator.NewEnvelopeStreamConnector(addrs.Egress, egressTLS)
	gatewayTransport := &http.Transport{}
	defer gatewayTransport.CloseIdleConnections()
	gateway := loggregator.NewRLPGatewayClient(addrs.GatewayURL,
		loggregator.WithRLPGatewayHTTPClient(&http.Client{Transport: gatewayTransport}))

	// The collector, registered with a registry served on /metrics.
	collector, err := promcollector.New(promcollector.WithConstLabels(prometheus.Labels{"example": "metrics"}))
	if err != nil {
		return scrape{}, err
	}
	for _, err := range []error{
		collector.AddIngressClient("emitter", emitter),
		collector.AddEnvelopeStreamConnector("firehose", connector),
		collector.AddRLPGatewayClient("gateway", gateway),
	} {
		if err != nil {
			return scrape{}, err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector)
	url, stopHTTP, err := serveMetrics(reg)
	if err != nil {
		return scrape{}, err
	}
	defer stopHTTP()
	fmt.Fprintf(w, "serving %s\n", url)

	// Subscribe both nozzles, then emit.
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	req := &loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{
		{SourceId: sourceID, Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}},
	}}
	streams := map[string]loggregator.EnvelopeStream{
		"firehose (EnvelopeStreamConnector)": connector.Stream(streamCtx, req),
		"gateway (RLPGatewayClient)":         gateway.Stream(streamCtx, req),
	}
	if err := waitUntil(ctx, func() bool { return s.Stats().Subscribers == len(streams) }); err != nil {
		return scrape{}, fmt.Errorf("the nozzles did not subscribe: %w", err)
	}
	for i := range numEnvelopes {
		emitter.EmitLog(fmt.Sprintf("log %d", i), loggregator.WithSourceInfo(sourceID, "APP", "0"))
	}
	// CloseSend delivers what is buffered; the emitter's statistics stay
	// readable afterwards.
	if err := emitter.CloseSend(); err != nil {
		return scrape{}, fmt.Errorf("CloseSend: %w", err)
	}
	names := make([]string, 0, len(streams))
	for name := range streams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n, err := read(ctx, streams[name], numEnvelopes)
		if err != nil {
			return scrape{}, fmt.Errorf("%s: read %d of %d envelopes: %w", name, n, numEnvelopes, err)
		}
		fmt.Fprintf(w, "%s read %d envelopes\n", name, n)
	}
	stopStreams()

	sc, err := fetch(ctx, url)
	if err != nil {
		return scrape{}, err
	}
	fmt.Fprintf(w, "%s lists %d loggregator metric families:\n", url, len(sc.families))
	for _, f := range sc.families {
		fmt.Fprintf(w, "  %s\n", f)
	}
	return sc, nil
}

// serveMetrics serves reg on a free loopback port and returns the URL of
// /metrics and a function that stops the server.
func serveMetrics(reg *prometheus.Registry) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("metrics server: %v", err)
		}
	}()
	stop := func() {
		_ = srv.Close()
		<-done
	}
	return "http://" + lis.Addr().String() + "/metrics", stop, nil
}

// fetch scrapes url once and returns the loggregator_* families its
// "# TYPE" lines declare.
func fetch(ctx context.Context, url string) (scrape, error) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return scrape{}, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return scrape{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return scrape{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return scrape{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sc := scrape{body: string(body)}
	lines := bufio.NewScanner(strings.NewReader(sc.body))
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) == 4 && fields[0] == "#" && fields[1] == "TYPE" && strings.HasPrefix(fields[2], "loggregator_") {
			sc.families = append(sc.families, fields[2])
		}
	}
	sort.Strings(sc.families)
	return sc, nil
}

// read reads n envelopes from stream, or fails when ctx ends first.
func read(ctx context.Context, stream loggregator.EnvelopeStream, n int) (int, error) {
	got := 0
	for got < n {
		if err := ctx.Err(); err != nil {
			return got, err
		}
		got += len(stream())
	}
	return got, nil
}

// waitUntil polls cond every 5 ms until it holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
