package loggregator_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// testLogger records what the client logs.
type testLogger struct {
	mu     sync.Mutex
	lines  []string
	panics int
}

func (l *testLogger) Printf(f string, a ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(f, a...))
}

func (l *testLogger) Panicf(f string, a ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.panics++
}

func (l *testLogger) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func (l *testLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func newIngressServer(t *testing.T, certs *testhelpers.Certs, opts ...testhelpers.IngressServerOption) *testhelpers.IngressServer {
	t.Helper()
	srv, err := testhelpers.NewIngressServer(certs, opts...)
	if err != nil {
		t.Fatalf("NewIngressServer: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func newIngressClient(t testing.TB, certs *testhelpers.Certs, addr string, opts ...loggregator.IngressOption) *loggregator.IngressClient {
	t.Helper()
	tlsConf, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		t.Fatalf("NewIngressTLSConfig: %v", err)
	}
	c, err := loggregator.NewIngressClient(tlsConf, append([]loggregator.IngressOption{loggregator.WithAddr(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("NewIngressClient: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseSend() })
	return c
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func logEnv(payload string, typ loggregator_v2.Log_Type) *loggregator_v2.Envelope_Log {
	return &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(payload), Type: typ}}
}

func counterEnv(name string, delta, total uint64) *loggregator_v2.Envelope_Counter {
	return &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: name, Delta: delta, Total: total}}
}

func gaugeEnv(m map[string]*loggregator_v2.GaugeValue) *loggregator_v2.Envelope_Gauge {
	return &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: m}}
}

func TestIngressClientEnvelopeFields(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	start := time.Unix(0, 1_000_000_007)
	stop := time.Unix(0, 2_000_000_009)
	clientTags := map[string]string{"client": "c", "over": "client"}
	type tags = map[string]string

	tests := []struct {
		name    string
		emit    func(*loggregator.IngressClient) error
		want    *loggregator_v2.Envelope // timestamp is checked separately
		wantRPC string
		noTime  bool // Emit: the envelope keeps its own (zero) timestamp
	}{
		{"log defaults to ERR", func(c *loggregator.IngressClient) error { c.EmitLog("hello"); return nil },
			&loggregator_v2.Envelope{Tags: clientTags, Message: logEnv("hello", loggregator_v2.Log_ERR)}, testhelpers.IngressRPCBatchSender, false},
		{"log WithStdout", func(c *loggregator.IngressClient) error { c.EmitLog("o", loggregator.WithStdout()); return nil },
			&loggregator_v2.Envelope{Tags: clientTags, Message: logEnv("o", loggregator_v2.Log_OUT)}, testhelpers.IngressRPCBatchSender, false},
		{"log WithSourceInfo", func(c *loggregator.IngressClient) error {
			c.EmitLog("m", loggregator.WithSourceInfo("src", "APP/PROC/WEB", "3"))
			return nil
		}, &loggregator_v2.Envelope{SourceId: "src", InstanceId: "3", Tags: tags{"client": "c", "over": "client", "source_type": "APP/PROC/WEB"},
			Message: logEnv("m", loggregator_v2.Log_ERR)}, testhelpers.IngressRPCBatchSender, false},
		{"log WithAppInfo empty source type", func(c *loggregator.IngressClient) error {
			c.EmitLog("m", loggregator.WithAppInfo("app", "", "0"))
			return nil
		}, &loggregator_v2.Envelope{SourceId: "app", InstanceId: "0", Tags: tags{"client": "c", "over": "client", "source_type": ""},
			Message: logEnv("m", loggregator_v2.Log_ERR)}, testhelpers.IngressRPCBatchSender, false},
		{"per-call tags override client tags, later options win", func(c *loggregator.IngressClient) error {
			c.EmitLog("m", loggregator.WithEnvelopeTag("over", "call"), loggregator.WithEnvelopeTag("k", "1"),
				loggregator.WithEnvelopeTags(map[string]string{"k": "2", "x": "y"}), loggregator.WithEnvelopeTags(map[string]string{"z": "w"}))
			return nil
		}, &loggregator_v2.Envelope{Tags: tags{"client": "c", "over": "call", "k": "2", "x": "y", "z": "w"},
			Message: logEnv("m", loggregator_v2.Log_ERR)}, testhelpers.IngressRPCBatchSender, false},
		{"empty gauge is sent", func(c *loggregator.IngressClient) error { c.EmitGauge(); return nil },
			&loggregator_v2.Envelope{Tags: clientTags, Message: gaugeEnv(nil)}, testhelpers.IngressRPCBatchSender, false},
		{"gauge values, repeated name last wins", func(c *loggregator.IngressClient) error {
			c.EmitGauge(loggregator.WithGaugeValue("cpu", 1, "percent"), loggregator.WithGaugeValue("mem", 2.5, "bytes"),
				loggregator.WithGaugeValue("cpu", 3, "pct"), loggregator.WithGaugeSourceInfo("s", "i"))
			return nil
		}, &loggregator_v2.Envelope{SourceId: "s", InstanceId: "i", Tags: clientTags, Message: gaugeEnv(map[string]*loggregator_v2.GaugeValue{
			"cpu": {Unit: "pct", Value: 3}, "mem": {Unit: "bytes", Value: 2.5}})}, testhelpers.IngressRPCBatchSender, false},
		{"gauge app info index", func(c *loggregator.IngressClient) error {
			c.EmitGauge(loggregator.WithGaugeAppInfo("app", 12))
			return nil
		}, &loggregator_v2.Envelope{SourceId: "app", InstanceId: "12", Tags: clientTags, Message: gaugeEnv(nil)}, testhelpers.IngressRPCBatchSender, false},
		{"gauge app info negative index", func(c *loggregator.IngressClient) error {
			c.EmitGauge(loggregator.WithGaugeAppInfo("app", -1))
			return nil
		}, &loggregator_v2.Envelope{SourceId: "app", InstanceId: "-1", Tags: clientTags, Message: gaugeEnv(nil)}, testhelpers.IngressRPCBatchSender, false},
		{"counter delta defaults to 1", func(c *loggregator.IngressClient) error { c.EmitCounter("n"); return nil },
			&loggregator_v2.Envelope{Tags: clientTags, Message: counterEnv("n", 1, 0)}, testhelpers.IngressRPCBatchSender, false},
		{"counter WithDelta", func(c *loggregator.IngressClient) error { c.EmitCounter("n", loggregator.WithDelta(5)); return nil },
			&loggregator_v2.Envelope{Tags: clientTags, Message: counterEnv("n", 5, 0)}, testhelpers.IngressRPCBatchSender, false},
		{"counter WithTotal zeroes delta", func(c *loggregator.IngressClient) error { c.EmitCounter("n", loggregator.WithTotal(10)); return nil },
			&loggregator_v2.Envelope{Tags: clientTags, Message: counterEnv("n", 0, 10)}, testhelpers.IngressRPCBatchSender, false},
		{"counter WithTotal then WithDelta", func(c *loggregator.IngressClient) error {
			c.EmitCounter("n", loggregator.WithTotal(10), loggregator.WithDelta(3))
			return nil
		}, &loggregator_v2.Envelope{Tags: clientTags, Message: counterEnv("n", 3, 10)}, testhelpers.IngressRPCBatchSender, false},
		{"counter WithDelta then WithTotal", func(c *loggregator.IngressClient) error {
			c.EmitCounter("n", loggregator.WithDelta(3), loggregator.WithTotal(10))
			return nil
		}, &loggregator_v2.Envelope{Tags: clientTags, Message: counterEnv("n", 0, 10)}, testhelpers.IngressRPCBatchSender, false},
		{"counter app info", func(c *loggregator.IngressClient) error {
			c.EmitCounter("n", loggregator.WithCounterAppInfo("app", 4))
			return nil
		}, &loggregator_v2.Envelope{SourceId: "app", InstanceId: "4", Tags: clientTags, Message: counterEnv("n", 1, 0)}, testhelpers.IngressRPCBatchSender, false},
		{"counter source info and tag", func(c *loggregator.IngressClient) error {
			c.EmitCounter("n", loggregator.WithCounterSourceInfo("s", "i"), loggregator.WithEnvelopeTag("t", "v"))
			return nil
		}, &loggregator_v2.Envelope{SourceId: "s", InstanceId: "i", Tags: tags{"client": "c", "over": "client", "t": "v"},
			Message: counterEnv("n", 1, 0)}, testhelpers.IngressRPCBatchSender, false},
		{"timer", func(c *loggregator.IngressClient) error {
			c.EmitTimer("http", start, stop, loggregator.WithTimerSourceInfo("s", "i"))
			return nil
		}, &loggregator_v2.Envelope{SourceId: "s", InstanceId: "i", Tags: clientTags, Message: &loggregator_v2.Envelope_Timer{
			Timer: &loggregator_v2.Timer{Name: "http", Start: start.UnixNano(), Stop: stop.UnixNano()}}}, testhelpers.IngressRPCBatchSender, false},
		{"event uses unary Send", func(c *loggregator.IngressClient) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return c.EmitEvent(ctx, "title", "body", loggregator.WithEventSourceInfo("s", "i"), loggregator.WithEnvelopeTag("over", "ev"))
		}, &loggregator_v2.Envelope{SourceId: "s", InstanceId: "i", Tags: tags{"client": "c", "over": "ev"}, Message: &loggregator_v2.Envelope_Event{
			Event: &loggregator_v2.Event{Title: "title", Body: "body"}}}, testhelpers.IngressRPCSend, false},
		{"Emit sends the envelope as is", func(c *loggregator.IngressClient) error {
			c.Emit(&loggregator_v2.Envelope{SourceId: "raw", Message: logEnv("x", loggregator_v2.Log_OUT)})
			return nil
		}, &loggregator_v2.Envelope{SourceId: "raw", Message: logEnv("x", loggregator_v2.Log_OUT)}, testhelpers.IngressRPCBatchSender, true},
		{"Emit keeps deprecated tags and timestamp", func(c *loggregator.IngressClient) error {
			c.Emit(&loggregator_v2.Envelope{Timestamp: 42, DeprecatedTags: map[string]*loggregator_v2.Value{"d": {Data: &loggregator_v2.Value_Integer{Integer: 7}}},
				Message: counterEnv("c", 0, 0)})
			return nil
		}, &loggregator_v2.Envelope{Timestamp: 42, DeprecatedTags: map[string]*loggregator_v2.Value{"d": {Data: &loggregator_v2.Value_Integer{Integer: 7}}},
			Message: counterEnv("c", 0, 0)}, testhelpers.IngressRPCBatchSender, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t, 15*time.Second)
			c := newIngressClient(t, certs, srv.Addr(), loggregator.WithTag("client", "c"), loggregator.WithTag("over", "client"),
				loggregator.WithBatchFlushInterval(5*time.Millisecond))
			before := len(srv.Records())
			t0 := time.Now().UnixNano()
			var err error
			for i := 0; i < 50; i++ { // EmitEvent may fail while the connection is made
				if err = tc.emit(c); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("emit: %v", err)
			}
			t1 := time.Now().UnixNano()
			if _, err := srv.WaitForCount(ctx, before+1); err != nil {
				t.Fatal(err)
			}
			rec := srv.Records()[before]
			if rec.RPC != tc.wantRPC {
				t.Errorf("came through %s, want %s", rec.RPC, tc.wantRPC)
			}
			got := proto.Clone(rec.Envelope).(*loggregator_v2.Envelope)
			if !tc.noTime {
				if got.Timestamp < t0 || got.Timestamp > t1 {
					t.Errorf("timestamp %d not within [%d, %d]", got.Timestamp, t0, t1)
				}
				got.Timestamp = 0
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("received\n %v\nwant\n %v", got, tc.want)
			}
		})
	}
}

// Options given to the wrong kind of envelope, or to messages that are
// not envelopes, must neither panic nor change anything they do not
// understand.
func TestEmitOptionsOnOtherMessagesDoNotPanic(t *testing.T) {
	opts := map[string]func(proto.Message){
		"WithEnvelopeTag":       loggregator.WithEnvelopeTag("k", "v"),
		"WithEnvelopeTags":      loggregator.WithEnvelopeTags(map[string]string{"k": "v"}),
		"WithAppInfo":           loggregator.WithAppInfo("a", "t", "i"),
		"WithSourceInfo":        loggregator.WithSourceInfo("a", "t", "i"),
		"WithStdout":            loggregator.WithStdout(),
		"WithGaugeAppInfo":      loggregator.WithGaugeAppInfo("a", 1),
		"WithGaugeSourceInfo":   loggregator.WithGaugeSourceInfo("a", "i"),
		"WithGaugeValue":        loggregator.WithGaugeValue("n", 1, "u"),
		"WithCounterAppInfo":    loggregator.WithCounterAppInfo("a", 1),
		"WithCounterSourceInfo": loggregator.WithCounterSourceInfo("a", "i"),
		"WithDelta":             loggregator.WithDelta(1),
		"WithTotal":             loggregator.WithTotal(1),
		"WithTimerSourceInfo":   loggregator.WithTimerSourceInfo("a", "i"),
		"WithEventSourceInfo":   loggregator.WithEventSourceInfo("a", "i"),
	}
	msgs := map[string]func() proto.Message{
		"bare envelope": func() proto.Message { return &loggregator_v2.Envelope{} },
		"log envelope":  func() proto.Message { return &loggregator_v2.Envelope{Message: logEnv("x", 0)} },
		"nil log":       func() proto.Message { return &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Log{}} },
		"nil gauge":     func() proto.Message { return &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{}} },
		"nil counter":   func() proto.Message { return &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{}} },
		"timer": func() proto.Message {
			return &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{}}}
		},
		"event": func() proto.Message {
			return &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{}}}
		},
		"Log message":   func() proto.Message { return &loggregator_v2.Log{} },
		"batch":         func() proto.Message { return &loggregator_v2.EnvelopeBatch{} },
		"nil envelope":  func() proto.Message { return (*loggregator_v2.Envelope)(nil) },
		"nil interface": func() proto.Message { return nil },
	}
	for on, o := range opts {
		for mn, m := range msgs {
			t.Run(on+"/"+mn, func(t *testing.T) {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				msg := m()
				o(msg)
				if l, ok := msg.(*loggregator_v2.Log); ok && !proto.Equal(l, &loggregator_v2.Log{}) {
					t.Errorf("non-envelope changed: %v", l)
				}
			})
		}
	}
}

// An IngressClient given options of another kind (converted) ignores them.
func TestIngressClientIgnoresMismatchedOptions(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv := newIngressServer(t, certs)
	c := newIngressClient(t, certs, srv.Addr())
	c.EmitLog("x", loggregator.EmitLogOption(loggregator.WithGaugeValue("g", 1, "u")), loggregator.EmitLogOption(loggregator.WithTotal(4)))
	c.EmitCounter("c", loggregator.EmitCounterOption(loggregator.WithStdout()), loggregator.EmitCounterOption(loggregator.WithGaugeValue("g", 1, "u")))
	c.EmitGauge(loggregator.EmitGaugeOption(loggregator.WithDelta(3)), nil)
	if err := c.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	envs := srv.Envelopes()
	if len(envs) != 3 {
		t.Fatalf("got %d envelopes, want 3", len(envs))
	}
	byKind := map[string]*loggregator_v2.Envelope{}
	for _, e := range envs {
		switch e.Message.(type) {
		case *loggregator_v2.Envelope_Log:
			byKind["log"] = e
		case *loggregator_v2.Envelope_Counter:
			byKind["counter"] = e
		case *loggregator_v2.Envelope_Gauge:
			byKind["gauge"] = e
		}
	}
	if l := byKind["log"].GetLog(); l == nil || string(l.Payload) != "x" || l.Type != loggregator_v2.Log_ERR {
		t.Errorf("log = %v", byKind["log"])
	}
	if cn := byKind["counter"].GetCounter(); cn == nil || cn.Delta != 1 || cn.Total != 0 {
		t.Errorf("counter = %v", byKind["counter"])
	}
	if g := byKind["gauge"].GetGauge(); g == nil || len(g.Metrics) != 0 {
		t.Errorf("gauge = %v", byKind["gauge"])
	}
}

func TestNewIngressClientConfigErrors(t *testing.T) {
	if _, err := loggregator.NewIngressClient(nil, loggregator.WithAddr("dns:///%zz")); err == nil {
		t.Error("malformed target: no error")
	}
	// A nil TLS config and a nil option are fine.
	c, err := loggregator.NewIngressClient(nil, nil)
	if err != nil {
		t.Fatalf("NewIngressClient(nil): %v", err)
	}
	if err := c.CloseSend(); err != nil {
		t.Errorf("CloseSend of an idle client: %v", err)
	}
	if err := c.CloseSend(); !errors.Is(err, loggregator.ErrIngressClientClosed) {
		t.Errorf("second CloseSend = %v, want ErrIngressClientClosed", err)
	}
}
