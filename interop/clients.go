package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// env is what every scenario gets: the running cluster, the certificates
// and the stubs.
type env struct {
	c     *cluster
	k     *pki
	stubs *stubs
}

// captureLogger is a loggregator.Logger that keeps every line.
type captureLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *captureLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *captureLogger) Panicf(format string, args ...any) {
	l.Printf("PANICF CALLED: "+format, args...)
}

func (l *captureLogger) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// first returns the first captured line, or "(nothing logged)".
func (l *captureLogger) first() string {
	s := l.snapshot()
	if len(s) == 0 {
		return "(nothing logged)"
	}
	return s[0]
}

func (e *env) ingressTLS() (*tls.Config, error) {
	return loggregator.NewIngressTLSConfig(e.k.ca.caFile, e.k.client.Cert, e.k.client.Key)
}

func (e *env) egressTLS() (*tls.Config, error) {
	return loggregator.NewEgressTLSConfig(e.k.ca.caFile, e.k.client.Cert, e.k.client.Key)
}

// newIngress returns an IngressClient in its default configuration, pointed
// at the agent.
func (e *env) newIngress(logger loggregator.Logger, opts ...loggregator.IngressOption) (*loggregator.IngressClient, error) {
	cfg, err := e.ingressTLS()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = &captureLogger{}
	}
	return loggregator.NewIngressClient(cfg, append([]loggregator.IngressOption{
		loggregator.WithAddr(e.c.agentAddr), loggregator.WithLogger(logger),
	}, opts...)...)
}

// dialCounter counts the TCP connection attempts of a gRPC client.
type dialCounter struct{ n atomic.Int64 }

func (d *dialCounter) option() grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		d.n.Add(1)
		var nd net.Dialer
		return nd.DialContext(ctx, "tcp", addr)
	})
}

// newConnector returns an EnvelopeStreamConnector on the RLP.
func (e *env) newConnector(logger loggregator.Logger, dials *dialCounter) (*loggregator.EnvelopeStreamConnector, error) {
	cfg, err := e.egressTLS()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = &captureLogger{}
	}
	opts := []loggregator.EnvelopeStreamOption{loggregator.WithEnvelopeStreamLogger(logger)}
	if dials != nil {
		opts = append(opts, loggregator.WithEnvelopeStreamConnectorDialOptions(dials.option()))
	}
	return loggregator.NewEnvelopeStreamConnector(e.c.rlpAddr, cfg, opts...), nil
}

// tokenDoer is the Doer a gateway user writes: it adds the token (if any)
// and counts requests.
type tokenDoer struct {
	client   *http.Client
	token    string
	requests atomic.Int64
}

func (d *tokenDoer) Do(r *http.Request) (*http.Response, error) {
	d.requests.Add(1)
	if d.token != "" {
		r.Header.Set("Authorization", "bearer "+d.token)
	}
	return d.client.Do(r)
}

func (e *env) gatewayDoer(caFile, token string) (*tokenDoer, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}
	return &tokenDoer{client: &http.Client{Transport: tr}, token: token}, nil
}

// newGatewayClient returns an RLPGatewayClient with the given Doer and
// logger, reporting errors on errs (may be nil).
func (e *env) newGatewayClient(d loggregator.Doer, logger *log.Logger, errs chan<- error) *loggregator.RLPGatewayClient {
	opts := []loggregator.RLPGatewayClientOption{loggregator.WithRLPGatewayHTTPClient(d)}
	if logger != nil {
		opts = append(opts, loggregator.WithRLPGatewayClientLogger(logger))
	}
	if errs != nil {
		opts = append(opts, loggregator.WithRLPGatewayErrChan(errs))
	}
	return loggregator.NewRLPGatewayClient(e.c.gatewayAddr, opts...)
}

// lineWriter collects what a *log.Logger writes, one entry per call.
type lineWriter struct{ captureLogger }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.Printf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// collect drains stream on its own goroutine, handing each batch with its
// arrival time to handle, until the stream returns nil. The returned
// channel closes then.
func collect(stream loggregator.EnvelopeStream, handle func(time.Time, []*loggregator_v2.Envelope)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			batch := stream()
			if batch == nil {
				return
			}
			handle(time.Now(), batch)
		}
	}()
	return done
}

// sourceRequest asks for every envelope kind of one source id, with string
// tags.
func sourceRequest(sourceID string) *loggregator_v2.EgressBatchRequest {
	sel := func(s *loggregator_v2.Selector) *loggregator_v2.Selector { s.SourceId = sourceID; return s }
	return &loggregator_v2.EgressBatchRequest{
		ShardId:          "interop-" + newGUID(), // one shard per subscriber: a shared shard id splits the data
		UsePreferredTags: true,
		Selectors: []*loggregator_v2.Selector{
			sel(&loggregator_v2.Selector{Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}}),
			sel(&loggregator_v2.Selector{Message: &loggregator_v2.Selector_Counter{Counter: &loggregator_v2.CounterSelector{}}}),
			sel(&loggregator_v2.Selector{Message: &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{}}}),
			sel(&loggregator_v2.Selector{Message: &loggregator_v2.Selector_Timer{Timer: &loggregator_v2.TimerSelector{}}}),
			sel(&loggregator_v2.Selector{Message: &loggregator_v2.Selector_Event{Event: &loggregator_v2.EventSelector{}}}),
		},
	}
}

// logRequest asks for the logs of one source id.
func logRequest(sourceID string) *loggregator_v2.EgressBatchRequest {
	return &loggregator_v2.EgressBatchRequest{
		ShardId:          "interop-" + newGUID(),
		UsePreferredTags: true,
		Selectors: []*loggregator_v2.Selector{{
			SourceId: sourceID,
			Message:  &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}},
		}},
	}
}

// newGUID returns a random 8-4-4-4-12 hex id (the gateway only lets
// non-admin users read GUID source ids).
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// pace calls emit(i) for i = 0, 1, ... at rate per second (0: as fast as
// possible) until n calls (n > 0) or d has passed (d > 0) or ctx ends, and
// returns the duration of every call.
func pace(ctx context.Context, rate, n int, d time.Duration, emit func(i int)) []time.Duration {
	lat := make([]time.Duration, 0, max(n, 1024))
	start := time.Now()
	for i := 0; n <= 0 || i < n; i++ {
		if i%256 == 0 && ctx.Err() != nil {
			break
		}
		now := time.Now()
		if d > 0 && now.Sub(start) >= d {
			break
		}
		if rate > 0 {
			due := start.Add(time.Duration(int64(i) * int64(time.Second) / int64(rate)))
			if wait := due.Sub(now); wait > 200*time.Microsecond {
				time.Sleep(wait)
			}
		}
		t0 := time.Now()
		emit(i)
		lat = append(lat, time.Since(t0))
	}
	return lat
}

// latencyStats returns the maximum and the 99.9th percentile.
func latencyStats(lat []time.Duration) (maxLat, p999 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := (len(s)*999 + 999) / 1000
	if idx >= len(s) {
		idx = len(s) - 1
	}
	return s[len(s)-1], s[idx]
}

// waitUntil polls cond every 20 ms until it holds, timeout passes or ctx
// ends; it reports whether cond held.
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitQuiet waits until count has not changed for quiet, or timeout.
func waitQuiet(ctx context.Context, quiet, timeout time.Duration, count func() int) {
	deadline := time.Now().Add(timeout)
	last, since := count(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		if n := count(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0fus", float64(d)/float64(time.Microsecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// short trims s to n characters for one-line output.
func short(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// logWriter returns a *log.Logger writing into w.
func logWriter(w *lineWriter) *log.Logger { return log.New(w, "", 0) }

// rawStream subscribes to the RLP with the generated gRPC client only (no
// library code beyond the generated stubs): a reference consumer that shows
// what the servers deliver. It does not reconnect.
func (e *env) rawStream(ctx context.Context, req *loggregator_v2.EgressBatchRequest) (loggregator.EnvelopeStream, error) {
	cfg, err := e.egressTLS()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(e.c.rlpAddr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		return nil, err
	}
	rx, err := loggregator_v2.NewEgressClient(conn).BatchedReceiver(ctx, req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return func() []*loggregator_v2.Envelope {
		for {
			b, err := rx.Recv()
			if err != nil {
				conn.Close()
				return nil
			}
			if len(b.GetBatch()) > 0 {
				return b.GetBatch()
			}
		}
	}, nil
}

// stallMeter is a control for latency figures: a goroutine that sleeps
// 1 ms at a time and records the largest overshoot. An Emit maximum close
// to it says the machine (scheduling, GC) stalled, not the library.
type stallMeter struct {
	stop chan struct{}
	done chan time.Duration
}

func startStallMeter() *stallMeter {
	m := &stallMeter{stop: make(chan struct{}), done: make(chan time.Duration, 1)}
	go func() {
		var worst time.Duration
		for {
			select {
			case <-m.stop:
				m.done <- worst
				return
			default:
			}
			t := time.Now()
			time.Sleep(time.Millisecond)
			worst = max(worst, time.Since(t)-time.Millisecond)
		}
	}()
	return m
}

// end stops the meter and returns the largest overshoot.
func (m *stallMeter) end() time.Duration {
	close(m.stop)
	return <-m.done
}
