package v1_test

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry/dropsonde"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

type emitCase struct {
	name       string
	clientOpts []v1.ClientOption
	emit       func(c *v1.Client)
	want       []*events.Envelope
}

// runEmitCases emits each case through a real client and dropsonde's UDP
// emitter and compares what the listener received, datagram by datagram.
func runEmitCases(t *testing.T, cases []emitCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v1.NewClient(tc.clientOpts...)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			before := time.Now().UnixNano()
			tc.emit(c)
			after := time.Now().UnixNano()
			got := collect(t)
			if len(got) != len(tc.want) {
				t.Fatalf("received %d envelopes, want %d:\n%s", len(got), len(tc.want), dump(got))
			}
			for i := range got {
				checkTimestamps(t, got[i], before, after)
				if !proto.Equal(got[i], tc.want[i]) {
					t.Errorf("envelope %d:\n got: %s\nwant: %s", i, text(got[i]), text(tc.want[i]))
				}
			}
			if d := c.Dropped(); d != 0 {
				t.Errorf("Dropped() = %d, want 0", d)
			}
		})
	}
}

// checkTimestamps checks that the envelope (and log) timestamps were taken
// during the emit call, then clears them for comparison.
func checkTimestamps(t *testing.T, env *events.Envelope, before, after int64) {
	t.Helper()
	if env.Timestamp == nil || *env.Timestamp < before || *env.Timestamp > after {
		t.Errorf("envelope timestamp %v not within [%d, %d]", env.Timestamp, before, after)
	}
	env.Timestamp = nil
	if l := env.GetLogMessage(); l != nil {
		if l.Timestamp == nil || *l.Timestamp < before || *l.Timestamp > after {
			t.Errorf("log timestamp %v not within [%d, %d]", l.Timestamp, before, after)
		}
		l.Timestamp = nil
	}
}

func text(m proto.Message) string { return prototext.MarshalOptions{}.Format(m) }

func dump(envs []*events.Envelope) string {
	var b strings.Builder
	for _, e := range envs {
		fmt.Fprintf(&b, "  %s\n", text(e))
	}
	return b.String()
}

func logEnv(msg string, typ events.LogMessage_MessageType, tags map[string]string, edit ...func(*events.LogMessage)) *events.Envelope {
	l := &events.LogMessage{Message: []byte(msg), MessageType: typ.Enum()}
	for _, e := range edit {
		e(l)
	}
	return &events.Envelope{
		Origin:     proto.String(testOrigin),
		EventType:  events.Envelope_LogMessage.Enum(),
		Tags:       tags,
		LogMessage: l,
	}
}

func counterEnv(name string, delta uint64, total *uint64, tags map[string]string) *events.Envelope {
	return &events.Envelope{
		Origin:       proto.String(testOrigin),
		EventType:    events.Envelope_CounterEvent.Enum(),
		Tags:         tags,
		CounterEvent: &events.CounterEvent{Name: proto.String(name), Delta: proto.Uint64(delta), Total: total},
	}
}

func gaugeEnv(name string, value float64, unit string, tags map[string]string) *events.Envelope {
	return &events.Envelope{
		Origin:      proto.String(testOrigin),
		EventType:   events.Envelope_ValueMetric.Enum(),
		Tags:        tags,
		ValueMetric: &events.ValueMetric{Name: proto.String(name), Value: proto.Float64(value), Unit: proto.String(unit)},
	}
}

func containerEnv(app string, index int32, cpu float64, mem, disk, memQuota, diskQuota uint64, tags map[string]string) *events.Envelope {
	return &events.Envelope{
		Origin:    proto.String(testOrigin),
		EventType: events.Envelope_ContainerMetric.Enum(),
		Tags:      tags,
		ContainerMetric: &events.ContainerMetric{
			ApplicationId:    proto.String(app),
			InstanceIndex:    proto.Int32(index),
			CpuPercentage:    proto.Float64(cpu),
			MemoryBytes:      proto.Uint64(mem),
			DiskBytes:        proto.Uint64(disk),
			MemoryBytesQuota: proto.Uint64(memQuota),
			DiskBytesQuota:   proto.Uint64(diskQuota),
		},
	}
}

func TestEmitLog(t *testing.T) {
	appInfo := func(app, typ, inst string) func(*events.LogMessage) {
		return func(l *events.LogMessage) {
			l.AppId, l.SourceType, l.SourceInstance = proto.String(app), proto.String(typ), proto.String(inst)
		}
	}
	runEmitCases(t, []emitCase{
		{
			name: "defaults to ERR with no tags",
			emit: func(c *v1.Client) { c.EmitLog("hello") },
			want: []*events.Envelope{logEnv("hello", events.LogMessage_ERR, nil)},
		},
		{
			name: "WithStdout",
			emit: func(c *v1.Client) { c.EmitLog("out", loggregator.WithStdout()) },
			want: []*events.Envelope{logEnv("out", events.LogMessage_OUT, nil)},
		},
		{
			name: "WithSourceInfo sets app id, source type and instance, no tags",
			emit: func(c *v1.Client) {
				c.EmitLog("src", loggregator.WithSourceInfo("app-guid", "APP/PROC/WEB", "3"))
			},
			want: []*events.Envelope{logEnv("src", events.LogMessage_ERR, nil, appInfo("app-guid", "APP/PROC/WEB", "3"))},
		},
		{
			name: "WithAppInfo is WithSourceInfo",
			emit: func(c *v1.Client) {
				c.EmitLog("app", loggregator.WithAppInfo("app-guid", "", ""), loggregator.WithStdout())
			},
			want: []*events.Envelope{logEnv("app", events.LogMessage_OUT, nil, appInfo("app-guid", "", ""))},
		},
		{
			name: "envelope tags",
			emit: func(c *v1.Client) {
				c.EmitLog("tags",
					loggregator.WithEnvelopeTag("a", "1"),
					loggregator.WithEnvelopeTags(map[string]string{"b": "2", "c": "3"}),
					loggregator.WithEnvelopeTag("c", "4"))
			},
			want: []*events.Envelope{logEnv("tags", events.LogMessage_ERR, map[string]string{"a": "1", "b": "2", "c": "4"})},
		},
		{
			name:       "client tags are applied last and win",
			clientOpts: []v1.ClientOption{v1.WithTag("shared", "client"), v1.WithTag("only-client", "x")},
			emit: func(c *v1.Client) {
				c.EmitLog("clash", loggregator.WithEnvelopeTag("shared", "call"), loggregator.WithEnvelopeTag("only-call", "y"))
			},
			want: []*events.Envelope{logEnv("clash", events.LogMessage_ERR,
				map[string]string{"shared": "client", "only-client": "x", "only-call": "y"})},
		},
		{
			name: "options for other kinds are ignored",
			emit: func(c *v1.Client) {
				c.EmitLog("kinds",
					loggregator.EmitLogOption(loggregator.WithDelta(7)),
					loggregator.EmitLogOption(loggregator.WithTotal(7)),
					loggregator.EmitLogOption(loggregator.WithGaugeValue("cpu", 1, "percent")),
					nil)
			},
			want: []*events.Envelope{logEnv("kinds", events.LogMessage_ERR, nil)},
		},
		{
			name: "empty message",
			emit: func(c *v1.Client) { c.EmitLog("") },
			want: []*events.Envelope{logEnv("", events.LogMessage_ERR, nil)},
		},
	})
}

func TestEmitCounter(t *testing.T) {
	runEmitCases(t, []emitCase{
		{
			name: "delta defaults to 1, total unset",
			emit: func(c *v1.Client) { c.EmitCounter("requests") },
			want: []*events.Envelope{counterEnv("requests", 1, nil, nil)},
		},
		{
			name: "WithDelta",
			emit: func(c *v1.Client) { c.EmitCounter("requests", loggregator.WithDelta(42)) },
			want: []*events.Envelope{counterEnv("requests", 42, nil, nil)},
		},
		{
			name: "WithTotal sets total and zeroes delta",
			emit: func(c *v1.Client) { c.EmitCounter("requests", loggregator.WithTotal(1000)) },
			want: []*events.Envelope{counterEnv("requests", 0, proto.Uint64(1000), nil)},
		},
		{
			name: "WithDelta after WithTotal sets delta again",
			emit: func(c *v1.Client) {
				c.EmitCounter("requests", loggregator.WithTotal(1000), loggregator.WithDelta(3))
			},
			want: []*events.Envelope{counterEnv("requests", 3, proto.Uint64(1000), nil)},
		},
		{
			name: "WithCounterSourceInfo sets tags",
			emit: func(c *v1.Client) { c.EmitCounter("c", loggregator.WithCounterSourceInfo("src", "inst")) },
			want: []*events.Envelope{counterEnv("c", 1, nil, map[string]string{"source_id": "src", "instance_id": "inst"})},
		},
		{
			name: "WithCounterAppInfo formats the index",
			emit: func(c *v1.Client) { c.EmitCounter("c", loggregator.WithCounterAppInfo("app", 12)) },
			want: []*events.Envelope{counterEnv("c", 1, nil, map[string]string{"source_id": "app", "instance_id": "12"})},
		},
		{
			name:       "client tag overrides source_id tag",
			clientOpts: []v1.ClientOption{v1.WithTag("source_id", "client-src")},
			emit: func(c *v1.Client) {
				c.EmitCounter("c", loggregator.WithCounterSourceInfo("call-src", "1"), loggregator.WithEnvelopeTag("k", "v"))
			},
			want: []*events.Envelope{counterEnv("c", 1, nil, map[string]string{"source_id": "client-src", "instance_id": "1", "k": "v"})},
		},
		{
			name: "log and gauge options are ignored",
			emit: func(c *v1.Client) {
				c.EmitCounter("c",
					loggregator.EmitCounterOption(loggregator.WithStdout()),
					loggregator.EmitCounterOption(loggregator.WithSourceInfo("a", "b", "c")),
					loggregator.EmitCounterOption(loggregator.WithGaugeValue("cpu", 1, "percent")))
			},
			want: []*events.Envelope{counterEnv("c", 1, nil, nil)},
		},
	})
}

func TestEmitGauge(t *testing.T) {
	five := func(extra ...loggregator.EmitGaugeOption) []loggregator.EmitGaugeOption {
		return append([]loggregator.EmitGaugeOption{
			loggregator.WithGaugeValue("cpu", 12.5, "percentage"),
			loggregator.WithGaugeValue("memory", 1024.9, "bytes"),
			loggregator.WithGaugeValue("disk", 2048, "bytes"),
			loggregator.WithGaugeValue("memory_quota", 4096, "bytes"),
			loggregator.WithGaugeValue("disk_quota", 8192, "bytes"),
		}, extra...)
	}
	// fiveAsGauges is what five() sends when it is not promoted.
	fiveAsGauges := func(tags map[string]string) []*events.Envelope {
		return []*events.Envelope{
			gaugeEnv("cpu", 12.5, "percentage", tags),
			gaugeEnv("memory", 1024.9, "bytes", tags),
			gaugeEnv("disk", 2048, "bytes", tags),
			gaugeEnv("memory_quota", 4096, "bytes", tags),
			gaugeEnv("disk_quota", 8192, "bytes", tags),
		}
	}
	appTags := func(app, inst string) map[string]string {
		return map[string]string{"source_id": app, "instance_id": inst}
	}
	runEmitCases(t, []emitCase{
		{
			name: "no values sends nothing",
			emit: func(c *v1.Client) { c.EmitGauge() },
			want: nil,
		},
		{
			name:       "no values with tags and client tags sends nothing",
			clientOpts: []v1.ClientOption{v1.WithTag("k", "v")},
			emit: func(c *v1.Client) {
				c.EmitGauge(loggregator.WithGaugeSourceInfo("src", "0"), loggregator.WithEnvelopeTag("a", "b"))
			},
			want: nil,
		},
		{
			name: "one value",
			emit: func(c *v1.Client) { c.EmitGauge(loggregator.WithGaugeValue("temp", -1.5, "C")) },
			want: []*events.Envelope{gaugeEnv("temp", -1.5, "C", nil)},
		},
		{
			name: "one envelope per value in order, duplicates duplicated, shared tags",
			emit: func(c *v1.Client) {
				c.EmitGauge(
					loggregator.WithGaugeValue("a", 1, "u"),
					loggregator.WithGaugeSourceInfo("src", "inst"),
					loggregator.WithGaugeValue("a", 2, "u"),
					loggregator.WithGaugeValue("b", 0.29, "v"),
					loggregator.WithEnvelopeTag("t", "x"))
			},
			want: []*events.Envelope{
				gaugeEnv("a", 1, "u", map[string]string{"source_id": "src", "instance_id": "inst", "t": "x"}),
				gaugeEnv("a", 2, "u", map[string]string{"source_id": "src", "instance_id": "inst", "t": "x"}),
				gaugeEnv("b", 0.29, "v", map[string]string{"source_id": "src", "instance_id": "inst", "t": "x"}),
			},
		},
		{
			name:       "WithGaugeAppInfo and client tags",
			clientOpts: []v1.ClientOption{v1.WithTag("instance_id", "client")},
			emit: func(c *v1.Client) {
				c.EmitGauge(loggregator.WithGaugeAppInfo("app", 4), loggregator.WithGaugeValue("g", 3, "u"))
			},
			want: []*events.Envelope{gaugeEnv("g", 3, "u", appTags("app", "client"))},
		},
		{
			name: "promotion to ContainerMetric with WithGaugeAppInfo",
			emit: func(c *v1.Client) { c.EmitGauge(five(loggregator.WithGaugeAppInfo("app-guid", 3))...) },
			want: []*events.Envelope{containerEnv("app-guid", 3, 12.5, 1024, 2048, 4096, 8192, appTags("app-guid", "3"))},
		},
		{
			name: "promotion with source info first, names in another order, units ignored",
			emit: func(c *v1.Client) {
				c.EmitGauge(
					loggregator.WithGaugeSourceInfo("app-guid", "7"),
					loggregator.WithGaugeValue("disk_quota", 5, "x"),
					loggregator.WithGaugeValue("memory_quota", 4, "x"),
					loggregator.WithGaugeValue("disk", 3, "x"),
					loggregator.WithGaugeValue("memory", 2, "x"),
					loggregator.WithGaugeValue("cpu", 1, "x"))
			},
			want: []*events.Envelope{containerEnv("app-guid", 7, 1, 2, 3, 4, 5, appTags("app-guid", "7"))},
		},
		{
			name:       "promoted envelope carries call and client tags; client source_id tag wins in tags only",
			clientOpts: []v1.ClientOption{v1.WithTag("source_id", "client-src"), v1.WithTag("deployment", "d")},
			emit: func(c *v1.Client) {
				c.EmitGauge(five(loggregator.WithGaugeSourceInfo("call-src", "0"), loggregator.WithEnvelopeTag("x", "y"))...)
			},
			want: []*events.Envelope{containerEnv("call-src", 0, 12.5, 1024, 2048, 4096, 8192,
				map[string]string{"source_id": "client-src", "instance_id": "0", "deployment": "d", "x": "y"})},
		},
		{
			name: "promotion with empty source_id, negative index, largest int32",
			emit: func(c *v1.Client) {
				c.EmitGauge(five(loggregator.WithGaugeSourceInfo("", "-1"))...)
				c.EmitGauge(five(loggregator.WithGaugeSourceInfo("a", "2147483647"))...)
			},
			want: []*events.Envelope{
				containerEnv("", -1, 12.5, 1024, 2048, 4096, 8192, appTags("", "-1")),
				containerEnv("a", math.MaxInt32, 12.5, 1024, 2048, 4096, 8192, appTags("a", "2147483647")),
			},
		},
		{
			name: "promotion clamps negative and NaN byte values to 0",
			emit: func(c *v1.Client) {
				c.EmitGauge(
					loggregator.WithGaugeAppInfo("a", 1),
					loggregator.WithGaugeValue("cpu", -2, "x"),
					loggregator.WithGaugeValue("memory", -5, "x"),
					loggregator.WithGaugeValue("disk", math.NaN(), "x"),
					loggregator.WithGaugeValue("memory_quota", 1e30, "x"),
					loggregator.WithGaugeValue("disk_quota", 0.99, "x"))
			},
			want: []*events.Envelope{containerEnv("a", 1, -2, 0, 0, math.MaxUint64, 0, appTags("a", "1"))},
		},
		{
			name: "no promotion: four values",
			emit: func(c *v1.Client) { c.EmitGauge(five(loggregator.WithGaugeAppInfo("a", 1))[1:]...) },
			want: fiveAsGauges(appTags("a", "1"))[1:],
		},
		{
			name: "no promotion: six values",
			emit: func(c *v1.Client) {
				c.EmitGauge(five(loggregator.WithGaugeAppInfo("a", 1), loggregator.WithGaugeValue("extra", 1, "u"))...)
			},
			want: append(fiveAsGauges(appTags("a", "1")), gaugeEnv("extra", 1, "u", appTags("a", "1"))),
		},
		{
			name: "no promotion: misspelled name",
			emit: func(c *v1.Client) {
				opts := five(loggregator.WithGaugeAppInfo("a", 1))
				opts[0] = loggregator.WithGaugeValue("cpus", 12.5, "percentage")
				c.EmitGauge(opts...)
			},
			want: append([]*events.Envelope{gaugeEnv("cpus", 12.5, "percentage", appTags("a", "1"))}, fiveAsGauges(appTags("a", "1"))[1:]...),
		},
		{
			name: "no promotion: duplicated name instead of disk_quota",
			emit: func(c *v1.Client) {
				opts := five(loggregator.WithGaugeAppInfo("a", 1))
				opts[4] = loggregator.WithGaugeValue("cpu", 12.5, "percentage")
				c.EmitGauge(opts...)
			},
			want: append(fiveAsGauges(appTags("a", "1"))[:4], gaugeEnv("cpu", 12.5, "percentage", appTags("a", "1"))),
		},
		{
			name: "no promotion: no source_id tag",
			emit: func(c *v1.Client) { c.EmitGauge(five(loggregator.WithEnvelopeTag("instance_id", "1"))...) },
			want: fiveAsGauges(map[string]string{"instance_id": "1"}),
		},
		{
			name:       "no promotion: source_id only from the client",
			clientOpts: []v1.ClientOption{v1.WithTag("source_id", "client-src")},
			emit:       func(c *v1.Client) { c.EmitGauge(five(loggregator.WithEnvelopeTag("instance_id", "1"))...) },
			want:       fiveAsGauges(appTags("client-src", "1")),
		},
		{
			name:       "no promotion: instance_id only from the client",
			clientOpts: []v1.ClientOption{v1.WithTag("instance_id", "1")},
			emit:       func(c *v1.Client) { c.EmitGauge(five(loggregator.WithEnvelopeTag("source_id", "a"))...) },
			want:       fiveAsGauges(appTags("a", "1")),
		},
		{
			name: "no promotion: no instance_id",
			emit: func(c *v1.Client) { c.EmitGauge(five(loggregator.WithEnvelopeTag("source_id", "a"))...) },
			want: fiveAsGauges(map[string]string{"source_id": "a"}),
		},
		{
			name: "no promotion: instance_id not a number",
			emit: func(c *v1.Client) { c.EmitGauge(five(loggregator.WithGaugeSourceInfo("a", "web-0"))...) },
			want: fiveAsGauges(appTags("a", "web-0")),
		},
		{
			name: "no promotion: instance_id outside int32",
			emit: func(c *v1.Client) {
				c.EmitGauge(five(loggregator.WithGaugeSourceInfo("a", "2147483648"))...)
				c.EmitGauge(five(loggregator.WithGaugeSourceInfo("a", "-2147483649"))...)
			},
			want: append(fiveAsGauges(appTags("a", "2147483648")), fiveAsGauges(appTags("a", "-2147483649"))...),
		},
		{
			name: "log and counter options are ignored",
			emit: func(c *v1.Client) {
				c.EmitGauge(
					loggregator.EmitGaugeOption(loggregator.WithStdout()),
					loggregator.EmitGaugeOption(loggregator.WithDelta(4)),
					loggregator.EmitGaugeOption(loggregator.WithTotal(4)),
					loggregator.EmitGaugeOption(loggregator.WithSourceInfo("a", "b", "c")),
					loggregator.WithGaugeValue("g", 1, "u"))
			},
			want: []*events.Envelope{gaugeEnv("g", 1, "u", nil)},
		},
	})
}

// recordingLogger is a loggregator.Logger that keeps every line.
type recordingLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordingLogger) Printf(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *recordingLogger) Panicf(format string, args ...interface{}) {
	l.Printf("PANICF "+format, args...)
}

func (l *recordingLogger) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func TestUninitializedDropsondeIsReported(t *testing.T) {
	emitters := []struct {
		name    string
		emitter dropsonde.EventEmitter
	}{
		{"null emitter", &dropsonde.NullEventEmitter{}},
		{"nil emitter", nil},
	}
	for _, e := range emitters {
		t.Run(e.name, func(t *testing.T) {
			saved := dropsonde.DefaultEmitter
			dropsonde.DefaultEmitter = e.emitter
			restored := false
			restore := func() {
				if !restored {
					dropsonde.DefaultEmitter = saved
					restored = true
				}
			}
			defer restore()

			logger := &recordingLogger{}
			c, _ := v1.NewClient(v1.WithLogger(logger))
			c.EmitLog("lost")
			c.EmitCounter("lost")
			c.EmitGauge(loggregator.WithGaugeValue("a", 1, "u"), loggregator.WithGaugeValue("b", 2, "u"))
			c.EmitGauge() // sends nothing, so drops nothing

			if got, want := c.Dropped(), uint64(4); got != want {
				t.Errorf("Dropped() = %d, want %d", got, want)
			}
			lines := logger.Lines()
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want 1 (rate-limited): %q", len(lines), lines)
			}
			if !strings.Contains(lines[0], "dropsonde.Initialize") || !strings.Contains(lines[0], "1 dropped") {
				t.Errorf("log line %q does not name dropsonde.Initialize and the drop count", lines[0])
			}

			restore()
			if got := collect(t); len(got) != 0 {
				t.Errorf("envelopes reached the network without an initialised emitter:\n%s", dump(got))
			}
		})
	}
}

func TestNewClientNeverFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []v1.ClientOption
	}{
		{"no options", nil},
		{"nil option and nil logger", []v1.ClientOption{nil, v1.WithLogger(nil)}},
		{"tags", []v1.ClientOption{v1.WithTag("", ""), v1.WithTag("a", "b")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v1.NewClient(tc.opts...)
			if err != nil || c == nil {
				t.Fatalf("NewClient() = %v, %v", c, err)
			}
			c.EmitCounter("n") // must not panic with a nil logger
			if got := collect(t); len(got) != 1 {
				t.Errorf("got %d envelopes, want 1", len(got))
			}
		})
	}
}

func TestClientConcurrentSafe(t *testing.T) {
	c, _ := v1.NewClient(v1.WithTag("k", "v"))
	const goroutines, each = 4, 20
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c.EmitCounter(fmt.Sprintf("g%d", g), loggregator.WithDelta(uint64(i)))
			}
		}()
	}
	wg.Wait()
	got := collect(t)
	if len(got) != goroutines*each {
		t.Fatalf("received %d envelopes, want %d", len(got), goroutines*each)
	}
	for _, env := range got {
		if env.GetTags()["k"] != "v" || env.GetOrigin() != testOrigin {
			t.Errorf("unexpected envelope %s", text(env))
		}
	}
}
