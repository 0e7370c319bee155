package loggregator_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func TestRLPGatewayClientResumes(t *testing.T) {
	tests := []struct {
		name    string
		disrupt func(t *testing.T, srv interface {
			DropConnections()
			SendClosing()
			Restart() error
		})
	}{
		{"drop mid-stream", func(t *testing.T, srv interface {
			DropConnections()
			SendClosing()
			Restart() error
		}) {
			srv.DropConnections()
		}},
		{"closing", func(t *testing.T, srv interface {
			DropConnections()
			SendClosing()
			Restart() error
		}) {
			srv.SendClosing()
		}},
		{"restart", func(t *testing.T, srv interface {
			DropConnections()
			SendClosing()
			Restart() error
		}) {
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	const perPhase = 200
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			srv := newGateway(t)
			c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)))
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			stream := c.Stream(sctx, logsRequest())

			var seq int64
			send := func() {
				for i := 0; i < perPhase; i++ {
					seq++
					if err := srv.Send(seqEnvelope(seq)); err != nil {
						t.Fatal(err)
					}
				}
			}
			send()
			got := collect(ctx, stream, perPhase)
			if len(got) != perPhase {
				t.Fatalf("before: got %d envelopes", len(got))
			}
			started := time.Now()
			tt.disrupt(t, srv)
			send()
			// Wait for the last envelope; some may be lost in flight.
			var after []*loggregator_v2.Envelope
			for ctx.Err() == nil && (len(after) == 0 || after[len(after)-1].GetTimestamp() != seq) {
				after = append(after, stream()...)
			}
			if ctx.Err() != nil {
				t.Fatalf("stream did not resume: %d envelopes after the disruption", len(after))
			}
			last := int64(perPhase)
			for _, e := range after {
				if e.GetTimestamp() <= last {
					t.Fatalf("out of order: %d after %d", e.GetTimestamp(), last)
				}
				last = e.GetTimestamp()
			}
			t.Logf("%s: resumed in %v, %d of %d envelopes lost", tt.name, time.Since(started).Round(time.Millisecond), perPhase-len(after), perPhase)
		})
	}
}

func TestRLPGatewayClientBacksOffFrom503(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 12 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := newGateway(t)
	srv.SetStatus(http.StatusServiceUnavailable)
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)))
	sctx, scancel := context.WithCancel(ctx)
	start := time.Now()
	stream := c.Stream(sctx, logsRequest())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for stream() != nil {
		}
	}()
	waitWindow(ctx, 12*time.Second)
	reqs := len(srv.Requests())
	scancel()
	<-done
	elapsed := time.Since(start)

	late := 0
	for _, r := range srv.Requests()[:reqs] {
		if r.Time.Sub(start) >= 6*time.Second {
			late++
		}
	}
	rate := float64(reqs) / elapsed.Seconds()
	t.Logf("503 gateway: %d requests in %v (%.2f/s), %d in the last 6 s", reqs, elapsed.Round(time.Millisecond), rate, late)
	if rate > 3 {
		t.Fatalf("%.2f requests/s, want at most 3", rate)
	}
	if late == 0 {
		t.Fatal("no request in the last 6 s: the client stopped retrying")
	}
}

// waitWindow waits d or until ctx is done. Tests use it only for a
// measurement window (an outage, a rate over some seconds) or to simulate a
// slow consumer, never to wait for something to happen.
func waitWindow(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// TestRLPGatewayClientMaxRetries: as in v8, a gateway answering 500 forever
// with WithRLPGatewayMaxRetries(3) gets 4 requests, then exactly one error
// arrives on the channel, the give-up, and the stream ends; each failure
// is logged.
func TestRLPGatewayClientMaxRetries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := newGateway(t)
	srv.SetStatus(http.StatusInternalServerError)
	errs := make(chan error, 100)
	logs := newLogLines()
	c := loggregator.NewRLPGatewayClient(srv.URL(),
		loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)),
		loggregator.WithRLPGatewayClientLogger(logs.logger()),
		loggregator.WithRLPGatewayMaxRetries(3),
		loggregator.WithRLPGatewayErrChan(errs))
	stream := c.Stream(ctx, logsRequest())
	if got := stream(); got != nil {
		t.Fatalf("got %v, want nil after giving up", got)
	}
	if ctx.Err() != nil {
		t.Fatal("gave up too late")
	}
	if n := len(srv.Requests()); n != 4 {
		t.Fatalf("%d requests, want 4", n)
	}
	if n := len(errs); n != 1 {
		t.Fatalf("%d errors on the channel, want exactly 1", n)
	}
	err := <-errs
	if err.Error() != "client connection attempts exceeded max retries -- giving up" || !errors.Is(err, loggregator.ErrRLPGatewayMaxRetries) || errors.Is(err, loggregator.ErrRLPGatewayEventSkipped) {
		t.Fatalf("error %v", err)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	failures := 0
	for _, l := range logs.lines {
		if strings.HasPrefix(l, "unexpected status code 500: ") {
			failures++
		}
	}
	if failures != 4 || logs.lines[len(logs.lines)-1] != err.Error() {
		t.Fatalf("%d failures logged, want 4; log:\n%s", failures, strings.Join(logs.lines, "\n"))
	}
}

func TestRLPGatewayClientNilAfterCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := newGateway(t)
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)))
	sctx, scancel := context.WithCancel(ctx)
	stream := c.Stream(sctx, logsRequest())
	if err := srv.Send(seqEnvelope(1)); err != nil {
		t.Fatal(err)
	}
	if got := collect(ctx, stream, 1); len(got) != 1 {
		t.Fatalf("got %d", len(got))
	}
	returned := make(chan []*loggregator_v2.Envelope)
	go func() { returned <- stream() }()
	scancel()
	select {
	case got := <-returned:
		if got != nil {
			t.Fatalf("got %v after cancel", got)
		}
	case <-ctx.Done():
		t.Fatal("blocked call did not return after cancel")
	}
	if got := stream(); got != nil {
		t.Fatalf("got %v after cancel", got)
	}
}

func TestRLPGatewayClientNoGoroutineLeaks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := newGateway(t)
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)))
	for i := 0; i < 100; i++ {
		sctx, scancel := context.WithCancel(ctx)
		stream := c.Stream(sctx, logsRequest())
		// Cancel only once this cycle's request is being served: a
		// request cancelled in flight could otherwise reach the server
		// after the wait below and take the next cycle's frame.
		waitFor(ctx, t, func() bool { return srv.OpenStreams() == 1 && len(srv.Requests()) == i+1 })
		if i%2 == 0 {
			if err := srv.Send(seqEnvelope(int64(i))); err != nil {
				t.Fatal(err)
			}
			if got := collect(ctx, stream, 1); len(got) != 1 {
				t.Fatalf("cycle %d: got %d", i, len(got))
			}
		}
		scancel()
		if got := stream(); got != nil {
			t.Fatalf("cycle %d: got %v after cancel", i, got)
		}
		// A frame sent while the server still serves the cancelled
		// stream would go to it; wait until the server saw it end.
		waitFor(ctx, t, func() bool { return srv.OpenStreams() == 0 })
	}
	// goleak in TestMain checks that every stream goroutine ended.
}

func TestRLPGatewayClientStreamConcurrentSafe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := newGateway(t)
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(httpClient(t, srv)))
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	stream := c.Stream(sctx, logsRequest())
	const n = 1000
	go func() {
		for i := int64(1); i <= n; i++ {
			if srv.Send(seqEnvelope(i)) != nil {
				return
			}
		}
	}()
	counts := make(chan int, 4)
	var received atomic.Int64
	for w := 0; w < 4; w++ {
		go func() {
			total := 0
			for {
				got := stream()
				if got == nil {
					counts <- total
					return
				}
				total += len(got)
				received.Add(int64(len(got)))
			}
		}()
	}
	// Every envelope arrives exactly once across the callers.
	waitFor(ctx, t, func() bool { return received.Load() >= n })
	scancel()
	total := 0
	for w := 0; w < 4; w++ {
		total += <-counts
	}
	if total != n {
		t.Fatalf("received %d envelopes, want %d", total, n)
	}
}

// attemptLog is a Doer that records the time of every request it passes
// on.
type attemptLog struct {
	mu    sync.Mutex
	times []time.Time
	next  loggregator.Doer
}

func (a *attemptLog) Do(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.mu.Unlock()
	return a.next.Do(r)
}

// between returns the request times in [from, to).
func (a *attemptLog) between(from, to time.Time) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Time
	for _, t := range a.times {
		if !t.Before(from) && t.Before(to) {
			out = append(out, t)
		}
	}
	return out
}

// TestRLPGatewayClientRecoversFromOutage (issue 9): the gateway is stopped
// for 4 s and started again on the same address, 10 times. Each time data
// flows again within 1 s of the restart, and while it is away the client
// makes at most 3 requests in any second.
func TestRLPGatewayClientRecoversFromOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 50 s")
	}
	const (
		outage = 4 * time.Second
		reps   = 10
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := newGateway(t)
	attempts := &attemptLog{next: httpClient(t, srv)}
	c := loggregator.NewRLPGatewayClient(srv.URL(), loggregator.WithRLPGatewayHTTPClient(attempts))
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	stream := c.Stream(sctx, logsRequest())

	var seq int64
	var recoveries []time.Duration
	var rates []float64
	for rep := 0; rep < reps; rep++ {
		seq++
		if err := srv.Send(seqEnvelope(seq)); err != nil {
			t.Fatal(err)
		}
		if got := collect(ctx, stream, 1); len(got) != 1 || got[0].GetTimestamp() != seq {
			t.Fatalf("rep %d: before the outage got %v", rep, got)
		}
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		down := time.Now()
		waitWindow(ctx, outage)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		up := time.Now()
		seq++
		if err := srv.Send(seqEnvelope(seq)); err != nil {
			t.Fatal(err)
		}
		got := collect(ctx, stream, 1)
		recovered := time.Since(up)
		if len(got) != 1 || got[0].GetTimestamp() != seq {
			t.Fatalf("rep %d: after the outage got %v", rep, got)
		}
		recoveries = append(recoveries, recovered.Round(time.Millisecond))
		while := attempts.between(down, up)
		rates = append(rates, float64(len(while))/up.Sub(down).Seconds())
		for i := range while {
			j := i
			for j < len(while) && while[j].Sub(while[i]) < time.Second {
				j++
			}
			if j-i > 3 {
				t.Errorf("rep %d: %d requests within one second while the gateway was down", rep, j-i)
			}
		}
	}
	t.Logf("data again after the restart: %v", recoveries)
	t.Logf("requests/s while down: %.2f", rates)
	for i, d := range recoveries {
		if d > time.Second {
			t.Errorf("rep %d: data flowed again only %v after the restart", i, d)
		}
	}
}
