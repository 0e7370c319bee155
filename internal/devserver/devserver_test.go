package devserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry/sonde-go/events"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/internal/rlpquery"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sub describes one subscription independently of the egress path.
type sub struct {
	sourceID  string
	kinds     []string // log, counter, gauge, timer, event
	shardID   string
	preferred bool // gRPC only; the gateway always prefers tags
}

func (s sub) request() *loggregator_v2.EgressBatchRequest {
	req := &loggregator_v2.EgressBatchRequest{ShardId: s.shardID, UsePreferredTags: s.preferred}
	for _, k := range s.kinds {
		sel, ok := rlpquery.KindSelector(s.sourceID, k)
		if !ok {
			panic("test subscription with unknown kind " + k)
		}
		req.Selectors = append(req.Selectors, sel)
	}
	return req
}

func (s sub) query() string {
	parts := []string{}
	if s.shardID != "" {
		parts = append(parts, "shard_id="+url.QueryEscape(s.shardID))
	}
	if s.sourceID != "" {
		parts = append(parts, "source_id="+url.QueryEscape(s.sourceID))
	}
	parts = append(parts, s.kinds...)
	return strings.Join(parts, "&")
}

type egressPath struct {
	name      string
	gateway   bool
	preferred bool
}

var egressPaths = []egressPath{
	{name: "grpc preferred tags", preferred: true},
	{name: "grpc deprecated tags", preferred: false},
	{name: "gateway", gateway: true},
}

func subscribe(t *testing.T, ctx context.Context, s *devserver.Server, p egressPath, sb sub) *collector {
	t.Helper()
	if p.gateway {
		return subscribeGateway(t, ctx, s, sb.query())
	}
	sb.preferred = p.preferred
	return subscribeGRPC(t, ctx, s, sb.request())
}

type ingressPath struct {
	name string
	// send emits: a log from app-1 tagged k=v with payload "hello", a log
	// from app-2, a counter "c" from app-1, and a gauge from app-1.
	send func(t *testing.T, s *devserver.Server)
	// logs emits n logs from app-1 with payloads "0".."n-1".
	logs func(t *testing.T, s *devserver.Server, n int)
	// markers emits, after everything sent before through the same path,
	// a log from app-1 with payload "marker", a counter "marker" from
	// app-1 and a gauge with metric "marker" from app-2 (see isMarker).
	markers func(t *testing.T, s *devserver.Server)
}

func v2Log(src, payload string, tags map[string]string) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{Timestamp: time.Now().UnixNano(), SourceId: src, InstanceId: "0", Tags: tags,
		Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(payload), Type: loggregator_v2.Log_OUT}}}
}

func v1Log(app, payload string, tags map[string]string) *events.Envelope {
	return &events.Envelope{Origin: proto.String("test-origin"), EventType: events.Envelope_LogMessage.Enum(), Timestamp: proto.Int64(time.Now().UnixNano()), Tags: tags,
		LogMessage: &events.LogMessage{Message: []byte(payload), MessageType: events.LogMessage_OUT.Enum(), Timestamp: proto.Int64(time.Now().UnixNano()), AppId: proto.String(app), SourceInstance: proto.String("0")}}
}

var ingressPaths = []ingressPath{
	{
		name: "v2 gRPC",
		send: func(t *testing.T, s *devserver.Server) {
			sendV2(t, s, []*loggregator_v2.Envelope{
				v2Log("app-1", "hello", map[string]string{"k": "v"}),
				v2Log("app-2", "other", nil),
				{SourceId: "app-1", Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "c", Delta: 1}}},
				{SourceId: "app-1", Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{"g": {Value: 1}}}}},
			})
		},
		logs: func(t *testing.T, s *devserver.Server, n int) {
			envs := make([]*loggregator_v2.Envelope, n)
			for i := range envs {
				envs[i] = v2Log("app-1", fmt.Sprint(i), nil)
			}
			sendV2(t, s, envs)
		},
		markers: func(t *testing.T, s *devserver.Server) {
			sendV2(t, s, []*loggregator_v2.Envelope{
				v2Log("app-1", "marker", nil),
				{SourceId: "app-1", Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "marker", Delta: 1}}},
				{SourceId: "app-2", Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{"marker": {Value: 1}}}}},
			})
		},
	},
	{
		name: "v1 UDP",
		send: func(t *testing.T, s *devserver.Server) {
			sendV1(t, s, []*events.Envelope{
				v1Log("app-1", "hello", map[string]string{"k": "v"}),
				v1Log("app-2", "other", nil),
				// No source_id tag: the origin becomes the source id.
				{Origin: proto.String("app-1"), EventType: events.Envelope_CounterEvent.Enum(), Timestamp: proto.Int64(1),
					CounterEvent: &events.CounterEvent{Name: proto.String("c"), Delta: proto.Uint64(1), Total: proto.Uint64(1)}},
				{Origin: proto.String("x"), EventType: events.Envelope_ValueMetric.Enum(), Timestamp: proto.Int64(1), Tags: map[string]string{"source_id": "app-1"},
					ValueMetric: &events.ValueMetric{Name: proto.String("g"), Value: proto.Float64(1), Unit: proto.String("u")}},
			})
		},
		logs: func(t *testing.T, s *devserver.Server, n int) {
			envs := make([]*events.Envelope, n)
			for i := range envs {
				envs[i] = v1Log("app-1", fmt.Sprint(i), nil)
			}
			sendV1(t, s, envs)
		},
		markers: func(t *testing.T, s *devserver.Server) {
			sendV1(t, s, []*events.Envelope{
				v1Log("app-1", "marker", nil),
				{Origin: proto.String("app-1"), EventType: events.Envelope_CounterEvent.Enum(), Timestamp: proto.Int64(1),
					CounterEvent: &events.CounterEvent{Name: proto.String("marker"), Delta: proto.Uint64(1), Total: proto.Uint64(1)}},
				{Origin: proto.String("x"), EventType: events.Envelope_ValueMetric.Enum(), Timestamp: proto.Int64(1), Tags: map[string]string{"source_id": "app-2"},
					ValueMetric: &events.ValueMetric{Name: proto.String("marker"), Value: proto.Float64(1), Unit: proto.String("u")}},
			})
		},
	},
}

// isMarker reports whether e is one of the envelopes ingressPath.markers
// sends.
func isMarker(e *loggregator_v2.Envelope) bool {
	_, gauge := e.GetGauge().GetMetrics()["marker"]
	return string(e.GetLog().GetPayload()) == "marker" || e.GetCounter().GetName() == "marker" || gauge
}

// markers counts the marker envelopes c holds.
func (c *collector) markers() int {
	n := 0
	for _, e := range c.Envelopes() {
		if isMarker(e) {
			n++
		}
	}
	return n
}

// flush proves that nothing sent through in before it is still on its way
// to the collectors, instead of waiting a while for stragglers. The server
// hands a subscription its envelopes in the order they were published, and
// a path delivers in the order it was given, so once a marker reached a
// collector, everything sent before it has reached it too. flush sends
// markers until every collector holds one (a shard group spreads them
// over its members) and fails the test when ctx ends first.
func flush(t *testing.T, ctx context.Context, s *devserver.Server, in ingressPath, cs ...*collector) {
	t.Helper()
	for {
		missing := false
		for _, c := range cs {
			missing = missing || c.markers() == 0
		}
		if !missing {
			return
		}
		sent := 0
		for _, c := range cs {
			sent += c.markers()
		}
		in.markers(t, s)
		for got := sent; got == sent; {
			select {
			case <-ctx.Done():
				t.Fatalf("markers sent through %s did not arrive", in.name)
			case <-time.After(2 * time.Millisecond):
			}
			got = 0
			for _, c := range cs {
				got += c.markers()
			}
		}
	}
}

// withoutMarkers returns envs less the markers.
func withoutMarkers(envs []*loggregator_v2.Envelope) []*loggregator_v2.Envelope {
	var out []*loggregator_v2.Envelope
	for _, e := range envs {
		if !isMarker(e) {
			out = append(out, e)
		}
	}
	return out
}

func TestEndToEndSelectorsAndTags(t *testing.T) {
	for _, in := range ingressPaths {
		for _, out := range egressPaths {
			t.Run(in.name+" to "+out.name, func(t *testing.T) {
				s := startServer(t, nil)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				logs := subscribe(t, ctx, s, out, sub{sourceID: "app-1", kinds: []string{"log"}})
				counters := subscribe(t, ctx, s, out, sub{kinds: []string{"counter"}})
				gauges := subscribe(t, ctx, s, out, sub{sourceID: "app-2", kinds: []string{"gauge"}})
				waitSubscribers(t, s, 3)

				in.send(t, s)
				flush(t, ctx, s, in, logs, counters, gauges)
				logEnvs, counterEnvs, gaugeEnvs := withoutMarkers(logs.Envelopes()), withoutMarkers(counters.Envelopes()), withoutMarkers(gauges.Envelopes())
				if len(logEnvs) != 1 || len(counterEnvs) != 1 || len(gaugeEnvs) != 0 {
					t.Fatalf("got %d logs, %d counters, %d gauges; want 1, 1, 0", len(logEnvs), len(counterEnvs), len(gaugeEnvs))
				}
				l := logEnvs[0]
				if l.GetSourceId() != "app-1" || string(l.GetLog().GetPayload()) != "hello" {
					t.Errorf("log: %v", l)
				}
				c := counterEnvs[0]
				if c.GetSourceId() != "app-1" || c.GetCounter().GetName() != "c" {
					t.Errorf("counter: %v", c)
				}
				preferred := out.gateway || out.preferred
				if preferred {
					if l.GetTags()["k"] != "v" || len(l.GetDeprecatedTags()) != 0 {
						t.Errorf("preferred tags: tags %v deprecated %v", l.GetTags(), l.GetDeprecatedTags())
					}
				} else {
					if l.GetDeprecatedTags()["k"].GetText() != "v" || len(l.GetTags()) != 0 {
						t.Errorf("deprecated tags: tags %v deprecated %v", l.GetTags(), l.GetDeprecatedTags())
					}
				}
			})
		}
	}
}

func TestEndToEndShardSplitting(t *testing.T) {
	const n = 200
	for _, in := range ingressPaths {
		for _, out := range []egressPath{egressPaths[0], egressPaths[2]} {
			t.Run(in.name+" to "+out.name, func(t *testing.T) {
				s := startServer(t, nil)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				a := subscribe(t, ctx, s, out, sub{kinds: []string{"log"}, shardID: "s"})
				b := subscribe(t, ctx, s, out, sub{kinds: []string{"log"}, shardID: "s"})
				other := subscribe(t, ctx, s, out, sub{kinds: []string{"log"}, shardID: "t"})
				waitSubscribers(t, s, 3)

				in.logs(t, s, n)
				flush(t, ctx, s, in, a, b, other)
				seen := map[string]int{}
				for _, e := range withoutMarkers(append(a.Envelopes(), b.Envelopes()...)) {
					seen[string(e.GetLog().GetPayload())]++
				}
				if len(seen) != n {
					t.Errorf("shard s received %d distinct envelopes, want %d", len(seen), n)
				}
				for p, c := range seen {
					if c != 1 {
						t.Errorf("shard s received %q %d times", p, c)
					}
				}
				if len(withoutMarkers(a.Envelopes())) == 0 || len(withoutMarkers(b.Envelopes())) == 0 {
					t.Errorf("no split: %d and %d", a.Len(), b.Len())
				}
				if got := len(withoutMarkers(other.Envelopes())); got != n {
					t.Errorf("shard t received %d, want %d", got, n)
				}
			})
		}
	}
}

func TestMixedEgressShareShard(t *testing.T) {
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := subscribe(t, ctx, s, egressPaths[0], sub{kinds: []string{"log"}, shardID: "s"})
	h := subscribe(t, ctx, s, egressPaths[2], sub{kinds: []string{"log"}, shardID: "s"})
	waitSubscribers(t, s, 2)
	ingressPaths[0].logs(t, s, 100)
	flush(t, ctx, s, ingressPaths[0], g, h)
	gn, hn := len(withoutMarkers(g.Envelopes())), len(withoutMarkers(h.Envelopes()))
	if gn+hn != 100 || gn == 0 || hn == 0 {
		t.Errorf("gRPC %d + gateway %d, want a split of 100", gn, hn)
	}
}

func TestReceiver(t *testing.T) {
	s := startServer(t, nil)
	ctx := testCtx(t, 10*time.Second)
	cc := dial(t, s, s.Addrs().Egress, "reverselogproxy")
	stream, err := loggregator_v2.NewEgressClient(cc).Receiver(ctx, &loggregator_v2.EgressRequest{
		Selectors: []*loggregator_v2.Selector{{Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitSubscribers(t, s, 1)
	cli := loggregator_v2.NewIngressClient(dial(t, s, s.Addrs().Ingress, "metron"))
	if _, err := cli.Send(ctx, &loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{v2Log("a", "via Send", map[string]string{"k": "v"})}}); err != nil {
		t.Fatal(err)
	}
	e, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if string(e.GetLog().GetPayload()) != "via Send" || e.GetDeprecatedTags()["k"].GetText() != "v" {
		t.Errorf("got %v", e)
	}
	sender, err := cli.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(v2Log("a", "via Sender", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	if e, err = stream.Recv(); err != nil || string(e.GetLog().GetPayload()) != "via Sender" {
		t.Errorf("got %v, %v", e, err)
	}
}

func TestGatewayErrors(t *testing.T) {
	s := startServer(t, func(c *devserver.Config) { c.GatewayToken = "secret" })
	tests := []struct {
		name, method, path, auth string
		status                   int
		body                     string
	}{
		{"empty query", "GET", "/v2/read", "bearer secret", 400, `{"message":"query cannot be empty","error":"empty_query"}` + "\n\n"},
		{"no kind", "GET", "/v2/read?source_id=a", "bearer secret", 400, `{"message":"query must provide at least one envelope type","error":"missing_envelope_type"}` + "\n\n"},
		{"post", "POST", "/v2/read?log", "bearer secret", 405, `{"message":"method not allowed","error":"method_not_allowed"}` + "\n\n"},
		{"bad token", "GET", "/v2/read?log", "bearer wrong", 404, `{"message":"resource not found","error":"not_found"}` + "\n\n"},
		{"no token", "GET", "/v2/read?log", "", 404, `{"message":"resource not found","error":"not_found"}` + "\n\n"},
		{"other path", "GET", "/v2/other", "bearer secret", 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(testCtx(t, 5*time.Second), tt.method, s.Addrs().GatewayURL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func TestGatewayHeartbeatAndClosing(t *testing.T) {
	s := startServer(t, func(c *devserver.Config) {
		c.HeartbeatInterval = 50 * time.Millisecond
		c.StreamTimeout = 400 * time.Millisecond
	})
	ctx := testCtx(t, 5*time.Second)
	c := subscribeGateway(t, ctx, s, "log")
	waitSubscribers(t, s, 1)
	select {
	case <-c.done:
	case <-ctx.Done():
		t.Fatal("response did not end after the stream timeout")
	}
	ev := c.Events()
	if len(ev) < 3 || ev[0] != "heartbeat" || ev[len(ev)-1] != "closing" {
		t.Errorf("events %v: want heartbeats then closing", ev)
	}
}

func TestGatewayTLS(t *testing.T) {
	s := startServer(t, func(c *devserver.Config) { c.GatewayTLS = true })
	if !strings.HasPrefix(s.Addrs().GatewayURL, "https://") {
		t.Fatalf("URL %s", s.Addrs().GatewayURL)
	}
	tr := &http.Transport{TLSClientConfig: s.Certs().ClientTLSConfig("localhost")}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(s.Addrs().GatewayURL + "/v2/read")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*devserver.Config)
		want string
	}{
		{"not loopback", func(c *devserver.Config) { c.EgressAddr = "0.0.0.0:0" }, "loopback only"},
		{"bad address", func(c *devserver.Config) { c.IngressAddr = "3458" }, "host:port"},
		{"no cert dir", func(c *devserver.Config) { c.CertDir = "" }, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := devserver.Config{IngressAddr: ":0", UDPAddr: ":0", EgressAddr: ":0", GatewayAddr: ":0", CertDir: t.TempDir()}
			tt.mod(&cfg)
			s, err := devserver.New(cfg)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestCertsReused(t *testing.T) {
	dir := t.TempDir()
	s1 := startServer(t, func(c *devserver.Config) { c.CertDir = dir })
	s1.Close()
	s2 := startServer(t, func(c *devserver.Config) { c.CertDir = dir })
	if !s1.GeneratedCerts() || s2.GeneratedCerts() {
		t.Errorf("generated: first %v second %v, want true false", s1.GeneratedCerts(), s2.GeneratedCerts())
	}
	env := strings.Join(s2.Env(), "\n")
	for _, k := range []string{"CA_CERT_PATH=", "CERT_PATH=", "KEY_PATH=", "LOGS_API_ADDR=", "LOG_STREAM_ADDR="} {
		if !strings.Contains(env, k) {
			t.Errorf("Env lacks %s: %s", k, env)
		}
	}
}

func TestV1InvalidDatagramsCounted(t *testing.T) {
	s := startServer(t, nil)
	sendV1(t, s, []*events.Envelope{
		// LogMessage type without a log message: dropped like the agent does.
		{Origin: proto.String("o"), EventType: events.Envelope_LogMessage.Enum()},
		v1Log("app", "ok", nil),
	})
	ctx := testCtx(t, 5*time.Second)
	for s.Stats().V1Invalid+s.Stats().V1Received < 2 && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	if st := s.Stats(); st.V1Invalid != 1 || st.V1Received != 1 {
		t.Errorf("stats %+v", st)
	}
}
