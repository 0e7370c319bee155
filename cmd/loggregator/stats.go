package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/internal/devserver"
)

// defaultStatsInterval is the default of --stats-interval.
const defaultStatsInterval = 5 * time.Second

// minStatsInterval is the smallest --stats-interval accepted.
const minStatsInterval = 10 * time.Millisecond

// statsFlags holds --stats and --stats-interval, shared by dev, tail and
// emit.
type statsFlags struct {
	on       bool
	interval time.Duration
}

// addStatsFlags registers --stats and --stats-interval on fs; what names
// the statistics in the help text.
func addStatsFlags(fs *flag.FlagSet, what string) *statsFlags {
	f := &statsFlags{}
	fs.BoolVar(&f.on, "stats", false, "print "+what+" statistics on stderr every --stats-interval and once at exit")
	fs.DurationVar(&f.interval, "stats-interval", defaultStatsInterval, "`interval` of the --stats line (at least 10ms)")
	return f
}

// validate returns an error for an interval below minStatsInterval.
func (f *statsFlags) validate() error {
	if f.interval < minStatsInterval {
		return fmt.Errorf("--stats-interval %s: must be at least %s", f.interval, minStatsInterval)
	}
	return nil
}

// statsField is one name=value pair of a statistics line.
type statsField struct {
	name, value string
}

func uintField(name string, v uint64) statsField {
	return statsField{name, strconv.FormatUint(v, 10)}
}

// formatStats renders one statistics line: the label, the elapsed time
// and the fields as name=value, separated by spaces. at is "" for a
// periodic line and "at exit" for the summary.
func formatStats(label, at string, elapsed time.Duration, fields []statsField) string {
	var b strings.Builder
	b.WriteString(label)
	b.WriteString(" stats")
	if at != "" {
		b.WriteString(" ")
		b.WriteString(at)
	}
	fmt.Fprintf(&b, " (%s):", elapsed.Round(time.Millisecond))
	for _, f := range fields {
		b.WriteByte(' ')
		b.WriteString(f.name)
		b.WriteByte('=')
		b.WriteString(f.value)
	}
	b.WriteByte('\n')
	return b.String()
}

// errorField renders the last error and how long before now it happened,
// or "none".
func errorField(err error, at, now time.Time) statsField {
	if err == nil {
		return statsField{"last_error", "none"}
	}
	ago := ""
	if !at.IsZero() {
		ago = fmt.Sprintf(" (%s ago)", now.Sub(at).Round(time.Millisecond))
	}
	return statsField{"last_error", strconv.Quote(err.Error()) + ago}
}

// lagFields renders the median and 99th percentile of h as the upper
// bound of the bucket that holds them ("<=5ms"; ">60s" for the last
// bucket), and "n/a" when nothing was observed.
func lagFields(h loggregator.LagHistogram) []statsField {
	return []statsField{
		{"lag_p50", lagQuantile(h, 0.50)},
		{"lag_p99", lagQuantile(h, 0.99)},
	}
}

func lagQuantile(h loggregator.LagHistogram, q float64) string {
	if h.Count == 0 {
		return "n/a"
	}
	bounds := loggregator.LagBucketBounds()
	// The rank of the quantile, rounded up: the smallest n with
	// n >= q*Count.
	rank := uint64(q * float64(h.Count))
	if float64(rank) < q*float64(h.Count) {
		rank++
	}
	if rank == 0 {
		rank = 1
	}
	for i, c := range h.Cumulative() {
		if c >= rank {
			if i == len(bounds)-1 {
				return ">" + bounds[i-1].String()
			}
			return "<=" + bounds[i].String()
		}
	}
	return ">" + bounds[len(bounds)-2].String()
}

// devStatsFields renders the dev server's counters.
func devStatsFields(s devserver.Stats) []statsField {
	return []statsField{
		uintField("received_v2", s.V2Received),
		uintField("received_v1", s.V1Received),
		uintField("invalid_v1", s.V1Invalid),
		{"subscribers", strconv.Itoa(s.Subscribers)},
		uintField("dropped_slow_subscriber", s.Dropped),
		uintField("dropped_oversized", s.EgressOversized),
		uintField("gateway_write_timeouts", s.GatewayWriteTimeouts),
	}
}

// streamStatsFields renders an EnvelopeStreamConnector's statistics.
func streamStatsFields(s loggregator.EnvelopeStreamStats, now time.Time) []statsField {
	f := []statsField{
		uintField("envelopes", s.Envelopes),
		uintField("batches", s.Batches),
		uintField("dropped", s.Dropped),
		uintField("reconnects", s.Reconnects),
	}
	f = append(f, lagFields(s.Lag)...)
	return append(f, errorField(s.LastError, s.LastErrorTime, now))
}

// gatewayStatsFields renders an RLPGatewayClient's statistics.
func gatewayStatsFields(s loggregator.RLPGatewayStats, now time.Time) []statsField {
	f := []statsField{
		uintField("envelopes", s.Envelopes),
		uintField("events", s.Events),
		uintField("heartbeats", s.Heartbeats),
		{"skipped", causes(s.Skipped.Total(), "malformed", s.Skipped.Malformed, "oversized", s.Skipped.Oversized)},
		uintField("requests", s.Requests),
		{"reconnects", causes(s.Reconnects.Total(), "status_code", s.Reconnects.StatusCode, "network", s.Reconnects.Network, "closing", s.Reconnects.Closing)},
		uintField("bytes", s.BytesRead),
	}
	f = append(f, lagFields(s.Lag)...)
	return append(f, errorField(s.LastError, s.LastErrorTime, now))
}

// ingressStatsFields renders an IngressClient's statistics.
func ingressStatsFields(s loggregator.IngressClientStats, now time.Time) []statsField {
	d := s.Dropped
	return []statsField{
		uintField("accepted", s.Accepted),
		uintField("sent", s.Sent),
		{"dropped", causes(d.Total(),
			"buffer_full", d.BufferFull, "agent_unavailable", d.AgentUnavailable,
			"after_close", d.AfterClose, "invalid", d.Invalid, "broken_stream", d.BrokenStream)},
		uintField("evicted", s.Evicted),
		uintField("batches", s.BatchesSent),
		uintField("retried", s.BatchesRetried),
		uintField("reconnects", s.Reconnects),
		uintField("buffered", s.Buffered),
		uintField("emit_waits", s.EmitWaits),
		{"emit_wait", fmt.Sprintf("%s(max:%s)", s.EmitWaitTotal.Round(time.Microsecond), s.EmitWaitMax.Round(time.Microsecond))},
		errorField(s.LastError, s.LastErrorTime, now),
	}
}

// causes renders a total with its non-zero parts: "3(network:2,closing:1)",
// or "0". kv alternates names (string) and counts (uint64).
func causes(total uint64, kv ...any) string {
	s := strconv.FormatUint(total, 10)
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if n, _ := kv[i+1].(uint64); n > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", kv[i], n))
		}
	}
	if len(parts) > 0 {
		s += "(" + strings.Join(parts, ",") + ")"
	}
	return s
}

// statsReporter prints a statistics line on every tick and a summary when
// finished. A nil *statsReporter does nothing.
type statsReporter struct {
	w     io.Writer
	label string
	snap  func(now time.Time) []statsField
	start time.Time
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// startStats starts a reporter printing to w every f.interval, or returns
// nil when --stats is off. Call finish to stop it and print the summary.
func startStats(f *statsFlags, w io.Writer, label string, snap func(now time.Time) []statsField) *statsReporter {
	if !f.on {
		return nil
	}
	t := time.NewTicker(f.interval)
	r := newStatsReporter(w, label, snap)
	go func() {
		defer t.Stop()
		r.loop(t.C)
	}()
	return r
}

func newStatsReporter(w io.Writer, label string, snap func(now time.Time) []statsField) *statsReporter {
	return &statsReporter{w: w, label: label, snap: snap, start: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// loop prints a line for every tick until finish is called.
func (r *statsReporter) loop(tick <-chan time.Time) {
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		case now := <-tick:
			r.print("", now)
		}
	}
}

func (r *statsReporter) print(at string, now time.Time) {
	fmt.Fprint(r.w, formatStats(r.label, at, now.Sub(r.start), r.snap(now)))
}

// finish stops the periodic lines and prints the summary, once.
func (r *statsReporter) finish() {
	if r == nil {
		return
	}
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		r.print("at exit", time.Now())
	})
}

// lockedWriter serialises writes to w, so that the statistics goroutine
// and the command can share stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
