package devserver_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func testCtx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func startServer(t testing.TB, mod func(*devserver.Config)) *devserver.Server {
	t.Helper()
	cfg := devserver.Config{
		IngressAddr: "127.0.0.1:0", UDPAddr: "127.0.0.1:0", EgressAddr: "127.0.0.1:0", GatewayAddr: "127.0.0.1:0",
		CertDir: t.TempDir(),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := devserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func dial(t testing.TB, s *devserver.Server, addr, serverName string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(s.Certs().ClientTLSConfig(serverName))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// sendV2 sends envs over one BatchSender stream in batches of 100.
func sendV2(t testing.TB, s *devserver.Server, envs []*loggregator_v2.Envelope) {
	t.Helper()
	cc := dial(t, s, s.Addrs().Ingress, "metron")
	stream, err := loggregator_v2.NewIngressClient(cc).BatchSender(testCtx(t, 20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(envs); i += 100 {
		end := min(i+100, len(envs))
		if err := stream.Send(&loggregator_v2.EnvelopeBatch{Batch: envs[i:end]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
}

func sendV1(t testing.TB, s *devserver.Server, envs []*events.Envelope) {
	t.Helper()
	conn, err := net.Dial("udp", s.Addrs().UDP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, e := range envs {
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
}

// collector gathers envelopes from one egress subscription.
type collector struct {
	mu     sync.Mutex
	envs   []*loggregator_v2.Envelope
	n      int      // envelopes received
	count  bool     // only count, keep nothing (load tests)
	events []string // SSE event names seen, in order ("data" for data frames)
	err    error
	done   chan struct{}
}

func newCollector() *collector { return &collector{done: make(chan struct{})} }

func (c *collector) add(envs ...*loggregator_v2.Envelope) {
	c.mu.Lock()
	c.n += len(envs)
	if !c.count {
		c.envs = append(c.envs, envs...)
	}
	c.mu.Unlock()
}

// countOnly makes the collector keep no envelopes from now on, so that a
// load test's heap (and GC work) does not grow with what it received.
func (c *collector) countOnly() {
	c.mu.Lock()
	c.count = true
	c.mu.Unlock()
}

func (c *collector) event(name string) {
	c.mu.Lock()
	c.events = append(c.events, name)
	c.mu.Unlock()
}

func (c *collector) finish(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

func (c *collector) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *collector) Envelopes() []*loggregator_v2.Envelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*loggregator_v2.Envelope(nil), c.envs...)
}

func (c *collector) Events() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.events...)
}

// waitLen waits until the collector holds at least n envelopes.
func (c *collector) waitLen(ctx context.Context, n int) bool {
	for c.Len() < n {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
	return true
}

// subscribeGRPC opens a BatchedReceiver stream that collects until ctx ends.
func subscribeGRPC(t testing.TB, ctx context.Context, s *devserver.Server, req *loggregator_v2.EgressBatchRequest) *collector {
	t.Helper()
	cc := dial(t, s, s.Addrs().Egress, "reverselogproxy")
	stream, err := loggregator_v2.NewEgressClient(cc).BatchedReceiver(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	go func() {
		for {
			b, err := stream.Recv()
			if err != nil {
				c.finish(err)
				return
			}
			c.add(b.GetBatch()...)
		}
	}()
	t.Cleanup(func() { <-c.done })
	return c
}

// subscribeGateway opens GET /v2/read?query and decodes the SSE frames with
// protojson until ctx ends.
func subscribeGateway(t testing.TB, ctx context.Context, s *devserver.Server, query string) *collector {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Addrs().GatewayURL+"/v2/read?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	c := newCollector()
	go func() {
		defer resp.Body.Close()
		r := bufio.NewReaderSize(resp.Body, 1<<20)
		event := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				c.finish(err)
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data := strings.TrimPrefix(line, "data: ")
				if event != "" {
					c.event(event)
					continue
				}
				c.event("data")
				var b loggregator_v2.EnvelopeBatch
				if err := protojson.Unmarshal([]byte(data), &b); err != nil {
					c.finish(err)
					return
				}
				c.add(b.GetBatch()...)
			case line == "":
				event = ""
			}
		}
	}()
	t.Cleanup(func() { <-c.done })
	return c
}

// waitSubscribers waits until the server has n egress subscribers.
func waitSubscribers(t testing.TB, s *devserver.Server, n int) {
	t.Helper()
	ctx := testCtx(t, 5*time.Second)
	for s.Stats().Subscribers != n {
		select {
		case <-ctx.Done():
			t.Fatalf("%d subscribers, want %d", s.Stats().Subscribers, n)
		case <-time.After(2 * time.Millisecond):
		}
	}
}
