package loggregator_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// logLines is a concurrency-safe log destination whose lines can be
// waited for.
type logLines struct {
	mu    sync.Mutex
	lines []string
	added chan struct{}
}

func newLogLines() *logLines { return &logLines{added: make(chan struct{}, 1)} }

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, strings.TrimRight(string(p), "\n"))
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *logLines) logger() *log.Logger { return log.New(l, "", 0) }

// wait returns the first line containing sub, failing the test at ctx's
// deadline.
func (l *logLines) wait(ctx context.Context, t *testing.T, sub string) string {
	t.Helper()
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if strings.Contains(line, sub) {
				l.mu.Unlock()
				return line
			}
		}
		all := strings.Join(l.lines, "\n")
		l.mu.Unlock()
		select {
		case <-l.added:
		case <-ctx.Done():
			t.Fatalf("no log line containing %q; log:\n%s", sub, all)
		}
	}
}

// authDoer adds an Authorization header to every request.
type authDoer struct {
	token string
	c     *http.Client
}

func (d authDoer) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set("Authorization", "bearer "+d.token)
	return d.c.Do(r)
}

func newGateway(t testing.TB, opts ...testhelpers.GatewayServerOption) *testhelpers.GatewayServer {
	t.Helper()
	srv, err := testhelpers.NewGatewayServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func httpClient(t testing.TB, srv *testhelpers.GatewayServer) *http.Client {
	c := srv.HTTPClient()
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func logsRequest() *loggregator_v2.EgressBatchRequest {
	return &loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{
		{Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}},
	}}
}

func seqEnvelope(i int64) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{
		Timestamp: i, SourceId: "app", Tags: map[string]string{"k": "v"},
		Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(fmt.Sprint("line ", i))}},
	}
}

// collect calls stream until n envelopes arrived or ctx is done.
func collect(ctx context.Context, stream loggregator.EnvelopeStream, n int) []*loggregator_v2.Envelope {
	var out []*loggregator_v2.Envelope
	for len(out) < n && ctx.Err() == nil {
		out = append(out, stream()...)
	}
	return out
}

func TestRLPGatewayClientRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	certs := testhelpers.NewCerts(t)
	srv := newGateway(t, testhelpers.WithGatewayTLS(certs), testhelpers.WithGatewayToken("secret"))
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(authDoer{"secret", httpClient(t, srv)}))

	req := &loggregator_v2.EgressBatchRequest{
		ShardId: "shard 1",
		Selectors: []*loggregator_v2.Selector{
			{SourceId: "a&b=c d/ü", Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}},
			{Message: &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{Names: []string{"cpu", "memory"}}}},
		},
	}
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	stream := c.Stream(sctx, req)
	if err := srv.Send(seqEnvelope(1)); err != nil {
		t.Fatal(err)
	}
	if got := collect(ctx, stream, 1); len(got) != 1 || !proto.Equal(got[0], seqEnvelope(1)) {
		t.Fatalf("got %v", got)
	}
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request recorded")
	}
	r := reqs[0]
	tests := []struct{ name, got, want string }{
		{"method", r.Method, http.MethodGet},
		{"url", r.URL, "/v2/read?shard_id=shard+1&source_id=a%26b%3Dc+d%2F%C3%BC&log&gauge.name=cpu,memory"},
		{"accept", r.Header.Get("Accept"), "text/event-stream"},
		{"cache-control", r.Header.Get("Cache-Control"), "no-cache"},
		{"authorization", r.Header.Get("Authorization"), "bearer secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	wantSelectors := []*loggregator_v2.Selector{
		{SourceId: "a&b=c d/ü", Message: &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}},
		{SourceId: "a&b=c d/ü", Message: &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{Names: []string{"cpu", "memory"}}}},
	}
	want := &loggregator_v2.EgressBatchRequest{ShardId: "shard 1", UsePreferredTags: true, Selectors: wantSelectors}
	if !proto.Equal(r.Request, want) {
		t.Fatalf("gateway understood %v, want %v", r.Request, want)
	}
}

// goldenFrames decodes every data frame of a captured stream with
// protojson, the reference decoding.
func goldenFrames(t *testing.T, raw []byte) []*loggregator_v2.Envelope {
	t.Helper()
	var out []*loggregator_v2.Envelope
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || !strings.HasPrefix(line, "{") {
			continue
		}
		var b loggregator_v2.EnvelopeBatch
		if err := protojson.Unmarshal([]byte(line), &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Batch...)
	}
	return out
}

func TestRLPGatewayClientGoldenStreams(t *testing.T) {
	for _, name := range []string{"stream-filtered-with-heartbeat.sse", "stream-firehose.sse"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			raw, err := os.ReadFile("testdata/gateway/" + name)
			if err != nil {
				t.Fatal(err)
			}
			want := goldenFrames(t, raw)
			if len(want) < 8 {
				t.Fatalf("only %d envelopes in %s", len(want), name)
			}
			srv := newGateway(t)
			c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)))
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			stream := c.Stream(sctx, logsRequest())
			if err := srv.SendRaw(raw); err != nil {
				t.Fatal(err)
			}
			got := collect(ctx, stream, len(want))
			if len(got) != len(want) {
				t.Fatalf("got %d envelopes, want %d", len(got), len(want))
			}
			for i := range want {
				if !proto.Equal(got[i], want[i]) {
					t.Fatalf("envelope %d:\n got %v\nwant %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestRLPGatewayClientErrorStatuses(t *testing.T) {
	tests := []struct {
		status int
		body   string
	}{
		{400, `{"message":"query cannot be empty","error":"empty_query"}`},
		{404, `{"message":"resource not found","error":"not_found"}`},
		{405, `{"message":"method not allowed","error":"method_not_allowed"}`},
		{500, `{"message":"request does not support streaming","error":"streaming_unsupported"}`},
		{503, `{"message":"streaming is temporarily unavailable","error":"streaming_unavailable"}`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv := newGateway(t)
			srv.SetStatus(tt.status)
			logs := newLogLines()
			errs := make(chan error, 10)
			c := loggregator.NewRLPGatewayClient(srv.URL(),
				loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)),
				loggregator.WithRLPGatewayClientLogger(logs.logger()),
				loggregator.WithRLPGatewayErrChan(errs))
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			stream := c.Stream(sctx, logsRequest())
			want := fmt.Sprintf("unexpected status code %d: %s", tt.status, tt.body)
			if line := logs.wait(ctx, t, "unexpected status code"); line != want {
				t.Fatalf("log line %q, want %q", line, want)
			}
			// Once the gateway recovers, the stream delivers.
			srv.SetStatus(0)
			if err := srv.Send(seqEnvelope(7)); err != nil {
				t.Fatal(err)
			}
			if got := collect(ctx, stream, 1); len(got) != 1 || got[0].GetTimestamp() != 7 {
				t.Fatalf("got %v", got)
			}
			// Individual failures are logged, never sent to the error
			// channel (v8 semantics: it carries only the give-up).
			if len(errs) != 0 {
				t.Fatalf("error channel got %v", <-errs)
			}
		})
	}
}

func TestRLPGatewayClientBadStreams(t *testing.T) {
	good := func(i int64) string {
		js, err := protojson.Marshal(&loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{seqEnvelope(i)}})
		if err != nil {
			t.Fatal(err)
		}
		return "data: " + string(js) + "\n\n"
	}
	tests := []struct {
		name    string
		raw     string
		log     string
		wantSeq []int64 // envelopes expected from raw, then 100 from a following good frame
	}{
		{"truncated JSON", "data: {\"batch\":[{\"timestamp\":\"1\"\n\n" + good(2), "skipped event (1 skipped in total): failed to unmarshal envelope batch", []int64{2}},
		{"not JSON", "data: hello\n\n" + good(3), "failed to unmarshal envelope batch", []int64{3}},
		{"unknown fields ignored", `data: {"batch":[{"timestamp":"4","new_field":{"x":[1,2]},"log":{"payload":"","type":"ERR","extra":true}}],"more":1}` + "\n\n", "", []int64{4}},
		{"CRLF framing", strings.ReplaceAll(good(5), "\n", "\r\n") + ": comment\r\n\r\n", "", []int64{5}},
		{"oversized event", "data: " + strings.Repeat("x", 2048) + "\n\n" + good(6), "event larger than the maximum event size of 1024 bytes", []int64{6}},
		{"unterminated at EOF", good(8) + "data: " + good(9)[6:len(good(9))-2], "inside an event without its terminating blank line after 1 event", []int64{8}},
		{"non-SSE body", "<html><body>proxy error</body></html>\n", "inside an event without its terminating blank line before any event", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv := newGateway(t)
			logs := newLogLines()
			c := loggregator.NewRLPGatewayClient(srv.URL(),
				loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)),
				loggregator.WithRLPGatewayClientLogger(logs.logger()),
				loggregator.WithRLPGatewayMaxEventSize(1024))
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			stream := c.Stream(sctx, logsRequest())
			if err := srv.SendRaw([]byte(tt.raw)); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tt.name, "unterminated") || strings.HasPrefix(tt.name, "non-SSE") {
				// End the response after the raw bytes.
				waitFor(ctx, t, func() bool { return srv.Queued() == 0 })
				srv.EndStreams()
			}
			if tt.log != "" {
				logs.wait(ctx, t, tt.log)
			}
			if err := srv.Send(seqEnvelope(100)); err != nil {
				t.Fatal(err)
			}
			want := append(tt.wantSeq, 100)
			got := collect(ctx, stream, len(want))
			var seq []int64
			for _, e := range got {
				seq = append(seq, e.GetTimestamp())
			}
			if fmt.Sprint(seq) != fmt.Sprint(want) {
				t.Fatalf("got envelopes %v, want %v", seq, want)
			}
		})
	}
}

// waitFor polls cond until it holds, failing at ctx's deadline.
func waitFor(ctx context.Context, t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met before the deadline")
		case <-time.After(5 * time.Millisecond):
		}
	}
}
