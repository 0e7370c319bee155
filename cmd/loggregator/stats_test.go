package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/internal/devserver"
)

func TestFormatStats(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lag := loggregator.LagHistogram{Counts: [loggregator.NumLagBuckets]uint64{0: 60, 2: 39, 11: 1}, Count: 100}
	tests := []struct {
		name   string
		at     string
		fields []statsField
		want   string
	}{
		{
			name: "dev", fields: devStatsFields(devserver.Stats{V2Received: 7, V1Received: 2, V1Invalid: 1, Subscribers: 3, Dropped: 4, EgressOversized: 5, GatewayWriteTimeouts: 6}),
			want: "x stats (1.5s): received_v2=7 received_v1=2 invalid_v1=1 subscribers=3 dropped_slow_subscriber=4 dropped_oversized=5 gateway_write_timeouts=6\n",
		},
		{
			name: "connector", at: "at exit",
			fields: streamStatsFields(loggregator.EnvelopeStreamStats{Envelopes: 100, Batches: 10, Dropped: 2, Reconnects: 1, Lag: lag,
				LastError: errors.New("boom"), LastErrorTime: now.Add(-2 * time.Second)}, now),
			want: "x stats at exit (1.5s): envelopes=100 batches=10 dropped=2 reconnects=1 lag_p50=<=1ms lag_p99=<=10ms last_error=\"boom\" (2s ago)\n",
		},
		{
			name: "gateway",
			fields: gatewayStatsFields(loggregator.RLPGatewayStats{Envelopes: 5, Events: 9, Heartbeats: 3,
				Skipped: loggregator.RLPGatewaySkips{Oversized: 1}, Requests: 4,
				Reconnects: loggregator.RLPGatewayReconnects{Network: 2, Closing: 1}, BytesRead: 1234}, now),
			want: "x stats (1.5s): envelopes=5 events=9 heartbeats=3 skipped=1(oversized:1) requests=4 reconnects=3(network:2,closing:1) bytes=1234 lag_p50=n/a lag_p99=n/a last_error=none\n",
		},
		{
			name: "ingress",
			fields: ingressStatsFields(loggregator.IngressClientStats{Accepted: 10, Sent: 8, BatchesSent: 2, BatchesRetried: 1, Reconnects: 1, Buffered: 1,
				Dropped: loggregator.IngressDrops{BufferFull: 1, AgentUnavailable: 4, AfterClose: 2}, Evicted: 3,
				EmitWaits: 2, EmitWaitTotal: 1500 * time.Microsecond, EmitWaitMax: time.Millisecond}, now),
			want: "x stats (1.5s): accepted=10 sent=8 dropped=7(buffer_full:1,agent_unavailable:4,after_close:2) evicted=3 batches=2 retried=1 reconnects=1 buffered=1 emit_waits=2 emit_wait=1.5ms(max:1ms) last_error=none\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatStats("x", tt.at, 1500*time.Millisecond, tt.fields); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLagQuantile(t *testing.T) {
	tests := []struct {
		name   string
		counts map[int]uint64
		q      float64
		want   string
	}{
		{"empty", nil, 0.5, "n/a"},
		{"one in the first bucket", map[int]uint64{0: 1}, 0.99, "<=1ms"},
		{"median on a boundary", map[int]uint64{1: 50, 4: 50}, 0.5, "<=5ms"},
		{"just past the median", map[int]uint64{1: 49, 4: 51}, 0.5, "<=100ms"},
		{"p99 in the last bucket", map[int]uint64{0: 98, 11: 2}, 0.99, ">1m0s"},
		{"p99 just before the last bucket", map[int]uint64{10: 99, 11: 1}, 0.99, "<=1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h loggregator.LagHistogram
			for i, n := range tt.counts {
				h.Counts[i] = n
				h.Count += n
			}
			if got := lagQuantile(h, tt.q); got != tt.want {
				t.Errorf("lagQuantile(%v, %g) = %q, want %q", h.Counts, tt.q, got, tt.want)
			}
		})
	}
}

// notifyWriter records writes and signals each one.
type notifyWriter struct {
	syncWriter
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	n, err := w.syncWriter.Write(p)
	w.wrote <- struct{}{}
	return n, err
}

// TestStatsReporter drives the reporter with ticks: one line per tick
// with the snapshot of that moment, then the summary on finish, once.
func TestStatsReporter(t *testing.T) {
	w := &notifyWriter{wrote: make(chan struct{}, 10)}
	n := uint64(0)
	r := newStatsReporter(w, "tail", func(time.Time) []statsField { return []statsField{uintField("envelopes", n)} })
	tick := make(chan time.Time)
	go r.loop(tick)
	for i := 1; i <= 2; i++ {
		n = uint64(i) // read by the reporter only after the tick is received
		tick <- time.Now()
		<-w.wrote
	}
	n = 3
	r.finish()
	r.finish()
	var nilRep *statsReporter
	nilRep.finish()
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), w.String())
	}
	for i, want := range []string{"tail stats (", "tail stats (", "tail stats at exit ("} {
		if !strings.HasPrefix(lines[i], want) || !strings.HasSuffix(lines[i], "): envelopes="+string(rune('1'+i))) {
			t.Errorf("line %d = %q, want prefix %q and envelopes=%d", i, lines[i], want, i+1)
		}
	}
}

func TestStatsFlagsDocumented(t *testing.T) {
	for _, cmd := range [][]string{{"dev"}, {"tail"}, {"emit"}, {"emit", "log"}} {
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			code, out, _ := runCmd(t, t.Context(), append(cmd, "--help")...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			for _, want := range []string{"-stats\n", "-stats-interval interval", "(default 5s)", "once at exit"} {
				if !strings.Contains(out, want) {
					t.Errorf("help lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestStatsIntervalTooSmall(t *testing.T) {
	for _, cmd := range []string{"dev", "tail", "emit log"} {
		t.Run(cmd, func(t *testing.T) {
			code, _, errOut := runCmd(t, t.Context(), append(strings.Fields(cmd), "--stats", "--stats-interval", "1ms")...)
			if code != 2 || !strings.Contains(errOut, "--stats-interval 1ms: must be at least 10ms") {
				t.Errorf("exit %d, stderr %q", code, errOut)
			}
		})
	}
}
