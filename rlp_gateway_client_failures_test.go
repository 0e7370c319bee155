package loggregator_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

// doerFunc adapts a function to the Doer interface.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestRLPGatewayClientDoerFailures: a Doer that fails, or returns neither a
// response nor an error, makes a failed attempt that is logged and
// retried; with WithRLPGatewayMaxRetries(1) the stream gives up after two
// attempts and only the give-up reaches the error channel.
func TestRLPGatewayClientDoerFailures(t *testing.T) {
	tests := []struct {
		name string
		do   func(*http.Request) (*http.Response, error)
		log  string
	}{
		{"error", func(*http.Request) (*http.Response, error) { return nil, errors.New("boom") }, "error making request: boom"},
		{"error with response", func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody}, errors.New("boom")
		}, "error making request: boom"},
		{"nil response", func(*http.Request) (*http.Response, error) { return nil, nil }, "error making request: the Doer returned no response and no error"},
		{"nil body", func(*http.Request) (*http.Response, error) { return &http.Response{StatusCode: 200}, nil }, "error making request: the Doer returned no response and no error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var calls atomic.Int32
			logs := newLogLines()
			errs := make(chan error, 10)
			c := loggregator.NewRLPGatewayClient("http://127.0.0.1:1",
				loggregator.WithRLPGatewayHTTPClient(doerFunc(func(r *http.Request) (*http.Response, error) {
					calls.Add(1)
					return tt.do(r)
				})),
				loggregator.WithRLPGatewayClientLogger(logs.logger()),
				loggregator.WithRLPGatewayMaxRetries(1),
				loggregator.WithRLPGatewayErrChan(errs))
			if got := c.Stream(ctx, logsRequest())(); got != nil {
				t.Fatalf("got %v", got)
			}
			if ctx.Err() != nil {
				t.Fatal("the stream did not give up")
			}
			if n := calls.Load(); n != 2 {
				t.Fatalf("%d attempts, want 2", n)
			}
			logs.mu.Lock()
			lines := append([]string(nil), logs.lines...)
			logs.mu.Unlock()
			want := []string{tt.log, tt.log, loggregator.ErrRLPGatewayMaxRetries.Error()}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			if len(errs) != 1 || !errors.Is(<-errs, loggregator.ErrRLPGatewayMaxRetries) {
				t.Fatal("want exactly the give-up on the error channel")
			}
		})
	}
}

// TestRLPGatewayClientCleanEOF: a stream the server ends without a closing
// event is logged with the number of events it carried, and the client
// reconnects and delivers.
func TestRLPGatewayClientCleanEOF(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	frame := func(ts int) string {
		return `data: {"batch":[{"timestamp":"` + string(rune('0'+ts)) + `","log":{"payload":"","type":"OUT"}}]}` + "\n\n"
	}
	srv := newSSEServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1: // two events, then a clean end
			writeSSE(w, frame(1), "event: heartbeat\ndata: 1\n\n")
		case 2: // nothing, then a clean end
			writeSSE(w)
		default:
			writeSSE(w, frame(3))
			<-r.Context().Done()
		}
	})
	logs := newLogLines()
	c := loggregator.NewRLPGatewayClient(srv.URL,
		loggregator.WithRLPGatewayHTTPClient(srv.Client()),
		loggregator.WithRLPGatewayClientLogger(logs.logger()))
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	stream := c.Stream(sctx, logsRequest())
	got := collect(ctx, stream, 2)
	if len(got) != 2 || got[0].GetTimestamp() != 1 || got[1].GetTimestamp() != 3 {
		t.Fatalf("got %v", got)
	}
	logs.wait(ctx, t, "stream ended by the server without a closing event after 2 events")
	logs.wait(ctx, t, "stream ended by the server without a closing event before any event")
}

// TestRLPGatewayClientNoContentType: a 200 answer without Content-Type is
// read as an event stream, heartbeats and data, and nothing is logged.
func TestRLPGatewayClientNoContentType(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := newSSEServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header()["Content-Type"] = nil // no header, and no sniffing
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("event: heartbeat\ndata: 1700000000\n\n" +
			`data: {"batch":[{"timestamp":"5","log":{"payload":"aGk=","type":"OUT"}}]}` + "\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	var seenCT atomic.Value
	logs := newLogLines()
	c := loggregator.NewRLPGatewayClient(srv.URL,
		loggregator.WithRLPGatewayHTTPClient(doerFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := srv.Client().Do(r)
			if err == nil {
				seenCT.Store(resp.Header.Values("Content-Type"))
			}
			return resp, err
		})),
		loggregator.WithRLPGatewayClientLogger(logs.logger()))
	sctx, scancel := context.WithCancel(ctx)
	stream := c.Stream(sctx, logsRequest())
	got := collect(ctx, stream, 1)
	scancel()
	for stream() != nil {
	}
	if len(got) != 1 || got[0].GetTimestamp() != 5 || string(got[0].GetLog().GetPayload()) != "hi" {
		t.Fatalf("got %v", got)
	}
	if ct := seenCT.Load().([]string); len(ct) != 0 {
		t.Fatalf("the response had Content-Type %q", ct)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.lines) != 0 {
		t.Fatalf("logged:\n%s", strings.Join(logs.lines, "\n"))
	}
}
