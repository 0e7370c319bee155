package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func runCmd(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runContext(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "Usage:"},
		{[]string{"dev", "--help"}, "-gateway-addr"},
		{[]string{"tail", "--help"}, "-source-id"},
		{[]string{"emit", "--help"}, "-count"},
		{[]string{"emit", "log", "--help"}, "-stdout"},
		{[]string{"emit", "gauge", "-h"}, "-value"},
		{[]string{"demo", "--help"}, "loggregator demo"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, context.Background(), tt.args...)
			if code != 0 || !strings.Contains(out, tt.want) || errOut != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0 and %q", code, out, errOut, tt.want)
			}
		})
	}
}

func TestBadFlagsExit2WithOneLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Usage"},
		{[]string{"nope"}, "unknown subcommand"},
		{[]string{"dev", "--bogus"}, "flag provided but not defined"},
		{[]string{"dev", "--egress-addr", "0.0.0.0:8082"}, "loopback only"},
		{[]string{"dev", "extra"}, "unexpected argument"},
		{[]string{"tail", "--type", "metric"}, "--type \"metric\""},
		{[]string{"tail", "--count", "x"}, "invalid value"},
		{[]string{"tail", "--gateway", "localhost:8088"}, "want a URL"},
		{[]string{"emit"}, "missing kind"},
		{[]string{"emit", "metric"}, "unknown kind"},
		{[]string{"emit", "log", "--count", "0"}, "at least 1"},
		{[]string{"emit", "gauge", "--value", "cpu"}, "name=number"},
		{[]string{"emit", "log", "--tag", "novalue"}, "key=value"},
		{[]string{"emit", "counter", "--rate", "-1"}, "--rate"},
		{[]string{"demo", "now"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := runCmd(t, context.Background(), tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
			if tt.args != nil && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("reason is not one line: %q", errOut)
			}
		})
	}
}

func goldenEnvelopes() []*loggregator_v2.Envelope {
	return []*loggregator_v2.Envelope{
		{Timestamp: 1700000000123456789, SourceId: "app", InstanceId: "0", Tags: map[string]string{"z": "1", "a": "2"},
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello \"world\"\n"), Type: loggregator_v2.Log_ERR}}},
		{Timestamp: 1700000000000000001, SourceId: "app", DeprecatedTags: map[string]*loggregator_v2.Value{"old": {Data: &loggregator_v2.Value_Integer{Integer: 7}}},
			Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "requests", Delta: 3, Total: 42}}},
		{Timestamp: 1700000000000000002, SourceId: "app", InstanceId: "1",
			Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
				"memory": {Unit: "bytes", Value: 1048576}, "cpu": {Unit: "percentage", Value: 12.5}, "n": {Value: 3}}}}},
		{Timestamp: 1700000000000000003, SourceId: "app",
			Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "http", Start: 1700000000000000000, Stop: 1700000000012000000}}},
		{Timestamp: 1700000000000000004, Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "crash", Body: "exit 137"}}},
		{Timestamp: 0},
	}
}

func TestReadableGolden(t *testing.T) {
	var got []byte
	for _, e := range goldenEnvelopes() {
		got = appendReadable(got, e)
	}
	const path = "testdata/readable.golden"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("readable form changed (run go test -update):\n got:\n%s\nwant:\n%s", got, want)
	}
}

// TestEmitAndTailJSON runs dev in-process, tails its gRPC egress with
// --json and emits one envelope of each kind with the emit subcommand; the
// JSON lines must decode with protojson to what was emitted.
// TestEmitAndTailJSON emits one envelope of every kind with `emit` and
// reads them back with `tail --json`, through gRPC egress and through the
// gateway, checking that every line decodes with protojson to what was
// emitted.
func TestEmitAndTailJSON(t *testing.T) {
	dir := t.TempDir()
	s, err := devserver.New(devserver.Config{IngressAddr: ":0", EgressAddr: ":0", GatewayAddr: ":0", CertDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sources := []struct {
		name string
		args []string
	}{
		{"gRPC egress", []string{"--addr", s.Addrs().Egress, "--cert-dir", dir}},
		{"gateway", []string{"--gateway", s.Addrs().GatewayURL}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			testEmitAndTailJSON(t, s, dir, src.args)
		})
	}
}

func testEmitAndTailJSON(t *testing.T, s *devserver.Server, dir string, tailArgs []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The previous subtest's tail may still be unsubscribing.
	for s.Stats().Subscribers != 0 {
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			t.Fatal("earlier subscribers did not leave")
		}
	}

	type result struct {
		code     int
		out, err string
	}
	tailDone := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		args := append([]string{"tail"}, tailArgs...)
		code := runContext(ctx, append(args, "--json", "--count", "5", "--source-id", "emit-test"), &out, &errb)
		tailDone <- result{code, out.String(), errb.String()}
	}()
	for s.Stats().Subscribers < 1 {
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			t.Fatal("tail did not subscribe")
		}
	}
	common := []string{"--addr", s.Addrs().Ingress, "--cert-dir", dir, "--source-id", "emit-test", "--instance-id", "3", "--tag", "k=v"}
	emits := [][]string{
		{"emit", "log", "--message", "hi {n}", "--stdout"},
		{"emit", "counter", "--name", "c", "--delta", "2", "--total", "9"},
		{"emit", "gauge", "--value", "cpu=1.5:percentage", "--value", "mem=10"},
		{"emit", "timer", "--name", "t", "--duration", "1s"},
		{"emit", "event", "--title", "ti", "--body", "bo"},
	}
	for _, args := range emits {
		code, out, errOut := runCmd(t, ctx, append(args, common...)...)
		if code != 0 || !strings.Contains(out, "sent 1 ") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	res := <-tailDone
	if res.code != 0 {
		t.Fatalf("tail exit %d: %s", res.code, res.err)
	}
	var got []*loggregator_v2.Envelope
	sc := bufio.NewScanner(strings.NewReader(res.out))
	for sc.Scan() {
		var e loggregator_v2.Envelope
		if err := protojson.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, &e)
	}
	if len(got) != 5 {
		t.Fatalf("got %d lines, want 5:\n%s", len(got), res.out)
	}
	for _, e := range got {
		if e.GetSourceId() != "emit-test" || e.GetInstanceId() != "3" || e.GetTags()["k"] != "v" {
			t.Errorf("envelope %v lacks source, instance or tag", e)
		}
	}
	want := []*loggregator_v2.Envelope{
		{Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hi 1"), Type: loggregator_v2.Log_OUT}}},
		{Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "c", Delta: 2, Total: 9}}},
		{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{"cpu": {Unit: "percentage", Value: 1.5}, "mem": {Value: 10}}}}},
		nil, // timer: start/stop depend on the clock, checked below
		{Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "ti", Body: "bo"}}},
	}
	for i, w := range want {
		if w == nil {
			tm := got[i].GetTimer()
			if tm.GetName() != "t" || tm.GetStop()-tm.GetStart() != int64(time.Second) {
				t.Errorf("timer %v", tm)
			}
			continue
		}
		if !proto.Equal(messageOnly(got[i]), w) {
			t.Errorf("envelope %d: got %v, want %v", i, messageOnly(got[i]), w)
		}
	}
}

func messageOnly(e *loggregator_v2.Envelope) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{Message: e.GetMessage()}
}

func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	code, out, errOut := runCmd(t, ctx, "demo")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, path := range []string{"via gRPC egress (EnvelopeStreamConnector): 7 envelopes", "via RLP gateway SSE (RLPGatewayClient): 7 envelopes"} {
		if !strings.Contains(out, path) {
			t.Errorf("output lacks %q:\n%s", path, out)
		}
	}
	for _, k := range []string{" log OUT ", " log ERR ", " counter ", " gauge ", " timer ", " event "} {
		if !strings.Contains(out, k) {
			t.Errorf("output lacks %q", k)
		}
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("demo took %s", el)
	}
}

func TestDevRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	var out, errb syncWriter
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"dev", "--cert-dir", dir, "--ingress-addr", ":0", "--v1-addr", ":0", "--egress-addr", ":0", "--gateway-addr", ":0"}, &out, &errb)
	}()
	for !strings.Contains(out.String(), "Ctrl-C") {
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			t.Fatalf("no banner: %q %q", out.String(), errb.String())
		}
	}
	for _, k := range []string{"export CA_CERT_PATH=", "export CERT_PATH=", "export KEY_PATH=", "export LOGS_API_ADDR=127.0.0.1:", "export LOG_STREAM_ADDR=http://127.0.0.1:"} {
		if !strings.Contains(out.String(), k) {
			t.Errorf("banner lacks %q:\n%s", k, out.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(out.String(), "stopped:") {
		t.Errorf("no summary: %s", out.String())
	}
}
