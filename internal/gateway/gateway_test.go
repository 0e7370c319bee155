package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/sse"
	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// golden reads a captured answer: status code, lower-cased headers, body.
func golden(t *testing.T, name string) (int, map[string]string, string) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok {
		t.Fatalf("%s: no header end", name)
	}
	lines := strings.Split(head, "\r\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 {
		t.Fatalf("%s: status line %q", name, lines[0])
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("%s: status line %q", name, lines[0])
	}
	hdr := map[string]string{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		hdr[strings.ToLower(k)] = v
	}
	return code, hdr, body
}

func TestWriteErrorMatchesGateway(t *testing.T) {
	tests := []struct {
		file string
		err  Error
	}{
		{"resp-400-empty.http", ErrEmptyQuery},
		{"resp-400-type.http", ErrMissingEnvelopeType},
		{"resp-404.http", ErrNotFound},
		{"resp-405.http", ErrMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			code, hdr, body := golden(t, tt.file)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { WriteError(w, tt.err) }))
			defer srv.Close()
			resp, err := http.Get(srv.URL + Path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != code || string(got) != body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, got, code, body)
			}
			for _, k := range []string{"content-type", "x-content-type-options", "content-length"} {
				if v := resp.Header.Get(k); v != hdr[k] {
					t.Errorf("header %s = %q, want %q", k, v, hdr[k])
				}
			}
		})
	}
}

func TestErrorForStatus(t *testing.T) {
	tests := []struct {
		status int
		name   string
	}{
		{400, "empty_query"}, {404, "not_found"}, {405, "method_not_allowed"},
		{500, "streaming_unsupported"}, {503, "streaming_unavailable"}, {418, "error"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			e := ErrorForStatus(tt.status)
			if e.Status != tt.status || e.Name != tt.name || e.Message == "" {
				t.Fatalf("ErrorForStatus(%d) = %+v", tt.status, e)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name, method, target string
		want                 *Error
	}{
		{"ok", http.MethodGet, "/v2/read?log", nil},
		{"post", http.MethodPost, "/v2/read?log", &ErrMethodNotAllowed},
		{"empty", http.MethodGet, "/v2/read", &ErrEmptyQuery},
		{"no kind", http.MethodGet, "/v2/read?source_id=a", &ErrMissingEnvelopeType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, gerr := ParseRequest(httptest.NewRequest(tt.method, tt.target, nil))
			if (gerr == nil) != (tt.want == nil) || (gerr != nil && *gerr != *tt.want) {
				t.Fatalf("error = %v, want %v", gerr, tt.want)
			}
			if tt.want == nil {
				want := &v2.EgressBatchRequest{UsePreferredTags: true, Selectors: []*v2.Selector{{Message: &v2.Selector_Log{Log: &v2.LogSelector{}}}}}
				if !proto.Equal(req, want) {
					t.Fatalf("request = %v", req)
				}
			}
		})
	}
}

func TestFrames(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"data", AppendData([]byte("x"), []byte(`{"batch":[]}`)), "xdata: {\"batch\":[]}\n\n"},
		{"heartbeat", AppendHeartbeat(nil, time.Unix(1700000000, 5)), "event: heartbeat\ndata: 1700000000\n\n"},
		{"closing", AppendClosing(nil), "event: closing\ndata: closing due to stream timeout\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// serve starts a server whose handler runs Serve with the given inputs and
// reports its result.
func serve(t *testing.T, frames <-chan []byte, closeNow <-chan struct{}, cfg Config) (string, <-chan End) {
	t.Helper()
	ends := make(chan End, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := StartStream(w)
		if err != nil {
			t.Error(err)
			return
		}
		end, _ := Serve(r.Context(), s, frames, closeNow, cfg)
		ends <- end
	}))
	t.Cleanup(srv.Close)
	return srv.URL + Path + "?log", ends
}

func get(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache"} {
		if resp.Header.Get(k) != v {
			t.Fatalf("%s = %q", k, resp.Header.Get(k))
		}
	}
	return resp
}

func TestServe(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		closeNow  bool
		closeFeed bool
		wantTypes []string
		wantEnd   End
	}{
		{"heartbeat then timeout", Config{Heartbeat: 30 * time.Millisecond, StreamTimeout: 100 * time.Millisecond}, false, false,
			[]string{"", "heartbeat", "closing"}, EndClosing},
		{"close now", Config{Heartbeat: -1, StreamTimeout: -1}, true, false, []string{"", "closing"}, EndClosing},
		{"frames closed", Config{Heartbeat: -1, StreamTimeout: -1}, false, true, []string{""}, EndFramesClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			frames := make(chan []byte, 1)
			closeNow := make(chan struct{})
			url, ends := serve(t, frames, closeNow, tt.cfg)
			resp := get(t, ctx, url)
			frames <- AppendData(nil, []byte(`{"batch":[]}`))
			r := sse.NewReader(resp.Body, 0)
			var types []string
			for {
				ev, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("after %q: %v", types, err)
				}
				types = append(types, ev.Type)
				if len(types) == 1 {
					switch {
					case tt.closeNow:
						close(closeNow)
					case tt.closeFeed:
						close(frames)
					}
				}
			}
			// Heartbeat counts depend on scheduling: compare with runs of
			// heartbeats collapsed.
			got := strings.Join(types, ",")
			for strings.Contains(got, "heartbeat,heartbeat") {
				got = strings.ReplaceAll(got, "heartbeat,heartbeat", "heartbeat")
			}
			if got != strings.Join(tt.wantTypes, ",") {
				t.Fatalf("types %q, want %q", types, tt.wantTypes)
			}
			if end := <-ends; end != tt.wantEnd {
				t.Fatalf("end = %v, want %v", end, tt.wantEnd)
			}
		})
	}
}

func TestServeContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url, ends := serve(t, nil, nil, Config{})
	rctx, rcancel := context.WithCancel(ctx)
	get(t, rctx, url)
	rcancel()
	select {
	case end := <-ends:
		if end != EndContext {
			t.Fatalf("end = %v", end)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return")
	}
}
