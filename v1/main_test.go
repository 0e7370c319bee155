package v1_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/cloudfoundry/dropsonde"
	"github.com/cloudfoundry/sonde-go/events"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

// testOrigin is the origin dropsonde is initialised with for the tests.
const testOrigin = "v1-test"

// agent is the stand-in Loggregator agent: a real UDP socket on 127.0.0.1
// that dropsonde.DefaultEmitter sends to for the whole test binary.
var agent net.PacketConn

// TestMain starts the UDP listener and calls dropsonde.Initialize once,
// since Initialize is process-global. It restores http.DefaultTransport
// (which Initialize wraps) and closes the listener after the tests.
//
// dropsonde.Initialize starts two goroutines of its own that have no stop
// path: the runtime stats emitter and the metric batcher's ticker loop.
// They belong to dropsonde, not to this package, so goleak ignores
// exactly those two top functions.
func TestMain(m *testing.M) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	agent = conn
	transport := http.DefaultTransport
	if err := dropsonde.Initialize(conn.LocalAddr().String(), testOrigin); err != nil {
		fmt.Fprintln(os.Stderr, "dropsonde.Initialize:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(
		runThenCleanup{m: m, cleanup: func() {
			http.DefaultTransport = transport
			conn.Close()
		}},
		goleak.IgnoreTopFunction("github.com/cloudfoundry/dropsonde/runtime_stats.(*RuntimeStats).Run"),
		goleak.IgnoreTopFunction("github.com/cloudfoundry/dropsonde/metricbatcher.New.func1"),
	)
}

// runThenCleanup runs the tests, then cleanup, before goleak looks for
// leaked goroutines.
type runThenCleanup struct {
	m       *testing.M
	cleanup func()
}

func (r runThenCleanup) Run() int {
	defer r.cleanup()
	return r.m.Run()
}

// isDropsondeRuntimeStat reports whether env is one of the ValueMetrics
// dropsonde's own runtime stats emitter sends every 10 s.
func isDropsondeRuntimeStat(env *events.Envelope) bool {
	if env.GetEventType() != events.Envelope_ValueMetric || env.GetValueMetric().GetUnit() != "count" {
		return false
	}
	switch env.GetValueMetric().GetName() {
	case "numCPUS", "numGoRoutines",
		"memoryStats.numBytesAllocatedHeap", "memoryStats.numBytesAllocatedStack",
		"memoryStats.numBytesAllocated", "memoryStats.numMallocs",
		"memoryStats.numFrees", "memoryStats.lastGCPauseTimeNS":
		return true
	}
	return false
}

// readEnvelope reads the next datagram that is not a dropsonde runtime
// stat, before deadline.
func readEnvelope(conn net.PacketConn, deadline time.Time) (*events.Envelope, error) {
	buf := make([]byte, 65535)
	if err := conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return nil, err
		}
		env := &events.Envelope{}
		if err := proto.Unmarshal(buf[:n], env); err != nil {
			return nil, fmt.Errorf("datagram of %d bytes is not an envelope: %w", n, err)
		}
		if !isDropsondeRuntimeStat(env) {
			return env, nil
		}
	}
}

// sentinelName names the counter that marks the end of a test's datagrams.
const sentinelName = "zz-sentinel"

// collect emits a sentinel counter through a fresh client and returns every
// envelope received before it: exactly what the test emitted.
func collect(t *testing.T) []*events.Envelope {
	t.Helper()
	sentinel, err := v1.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	sentinel.EmitCounter(sentinelName)
	deadline := time.Now().Add(5 * time.Second)
	var got []*events.Envelope
	for {
		env, err := readEnvelope(agent, deadline)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("sentinel not received within 5s; got %d envelopes before the timeout", len(got))
			}
			t.Fatalf("read: %v", err)
		}
		if env.GetEventType() == events.Envelope_CounterEvent && env.GetCounterEvent().GetName() == sentinelName {
			return got
		}
		got = append(got, env)
	}
}
