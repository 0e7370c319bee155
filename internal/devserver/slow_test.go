package devserver_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// roundRates sends n logs over one BatchSender stream, in windows of
// window envelopes after each of which it waits for the fast subscriber to
// catch up (so that the fast subscriber never drops). It returns the ingress
// rate (envelopes over the time spent in Send calls) and the end-to-end rate
// (envelopes over the time until the fast subscriber received them all).
func roundRates(t *testing.T, s *devserver.Server, fast *collector, n int) (ingress, delivered float64) {
	t.Helper()
	const window = 5000
	batch := make([]*loggregator_v2.Envelope, 100)
	for i := range batch {
		batch[i] = v2Log("app-1", "a reasonably sized log line of some eighty bytes, like most real log lines are", nil)
	}
	ctx := testCtx(t, 30*time.Second)
	cc := dial(t, s, s.Addrs().Ingress, "metron")
	stream, err := loggregator_v2.NewIngressClient(cc).BatchSender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := fast.Len()
	var sending time.Duration
	start := time.Now()
	for sent := 0; sent < n; {
		t0 := time.Now()
		for end := min(sent+window, n); sent < end; sent += len(batch) {
			if err := stream.Send(&loggregator_v2.EnvelopeBatch{Batch: batch}); err != nil {
				t.Fatal(err)
			}
		}
		sending += time.Since(t0)
		if !fast.waitLen(ctx, before+sent) {
			t.Fatalf("fast subscriber got %d of %d", fast.Len()-before, sent)
		}
	}
	total := time.Since(start)
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	return float64(n) / sending.Seconds(), float64(n) / total.Seconds()
}

// TestSlowSubscriberDoesNotSlowOthers measures, in one run, ingress and a
// fast subscriber's throughput with and without two subscribers that never
// read (one gRPC, one gateway), alternating rounds and comparing the best
// round of each condition. Each measured round follows a warm-up: serving a
// new subscriber costs work until its buffers are full; what must not cost
// is a subscriber that is stuck.
func TestSlowSubscriberDoesNotSlowOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	n, rounds := 200000, 7
	if raceEnabled {
		n = 20000 // the race detector is 10x slower; the comparison still holds
	}
	s := startServer(t, nil)
	ctx, cancelAll := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelAll()
	fast := subscribeGRPC(t, ctx, s, sub{kinds: []string{"log"}, preferred: true}.request())
	fast.countOnly()
	waitSubscribers(t, s, 1)

	// Rates climb over the first rounds of a fresh process (heap growth,
	// pools, connection windows); warm up before measuring anything.
	for i := 0; i < 3; i++ {
		roundRates(t, s, fast, n)
	}
	var without, with [2][]float64
	for r := 0; r < rounds; r++ {
		roundRates(t, s, fast, n/4) // the same warm-up as below
		in, out := roundRates(t, s, fast, n)
		without[0], without[1] = append(without[0], in), append(without[1], out)

		slowCtx, cancel := context.WithCancel(ctx)
		cc := dial(t, s, s.Addrs().Egress, "reverselogproxy")
		if _, err := loggregator_v2.NewEgressClient(cc).BatchedReceiver(slowCtx, sub{kinds: []string{"log"}}.request()); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(slowCtx, http.MethodGet, s.Addrs().GatewayURL+"/v2/read?log", nil)
		tr := &http.Transport{}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		waitSubscribers(t, s, 3)
		// Warm up until the slow subscribers are stuck: their buffers and
		// the network buffers towards them are full, they only drop.
		roundRates(t, s, fast, n/4)
		droppedBefore := s.Stats().Dropped
		in, out = roundRates(t, s, fast, n)
		with[0], with[1] = append(with[0], in), append(with[1], out)
		dropped := s.Stats().Dropped - droppedBefore
		cancel()
		resp.Body.Close()
		tr.CloseIdleConnections()
		waitSubscribers(t, s, 1)
		if dropped == 0 {
			t.Errorf("round %d: slow subscribers dropped nothing", r)
		}
		t.Logf("round %d: slow subscribers dropped %d of %d (x2 subscribers)", r, dropped, n)
	}
	best := func(v []float64) float64 { sort.Float64s(v); return v[len(v)-1] }
	for i, name := range []string{"ingress", "ingress to fast subscriber"} {
		w, wo := best(with[i]), best(without[i])
		ratio := w / wo
		t.Logf("%s: best %.0f envelopes/s without slow subscribers, %.0f with (ratio %.2f); rounds without %s, with %s",
			name, wo, w, ratio, fmtRates(without[i]), fmtRates(with[i]))
		// Under the race detector timings are distorted; only log there.
		if ratio < 0.9 && !raceEnabled {
			t.Errorf("%s throughput fell by more than 10%% with slow subscribers (ratio %.2f)", name, ratio)
		}
	}
	if want := 3*n + 2*rounds*(n+n/4); fast.Len() != want {
		t.Errorf("fast subscriber got %d, want %d", fast.Len(), want)
	}
	if d := s.Stats().Dropped; d == 0 {
		t.Error("no drops counted")
	}
}

func fmtRates(v []float64) string {
	s := ""
	for _, r := range v {
		s += fmt.Sprintf(" %.0f", r)
	}
	return s
}
