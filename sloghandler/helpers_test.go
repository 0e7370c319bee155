package sloghandler_test

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// agent is an in-process ingress server with a real IngressClient
// connected to it over mutual TLS.
type agent struct {
	srv    *testhelpers.IngressServer
	client *loggregator.IngressClient
	read   int // envelopes taken by next
}

// newAgent starts a server and a client with the given client options
// (and a 5 ms flush interval, so that tests wait little); both are
// stopped when the test ends.
func newAgent(t *testing.T, opts ...loggregator.IngressOption) *agent {
	t.Helper()
	return startAgent(t, append([]loggregator.IngressOption{loggregator.WithBatchFlushInterval(5 * time.Millisecond)}, opts...)...)
}

// newAgentB is newAgent for benchmarks, with the client's default options.
func newAgentB(b *testing.B) *agent {
	b.Helper()
	return startAgent(b)
}

func startAgent(t testing.TB, opts ...loggregator.IngressOption) *agent {
	t.Helper()
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	tlsConfig, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]loggregator.IngressOption{loggregator.WithAddr(srv.Addr())}, opts...)
	client, err := loggregator.NewIngressClient(tlsConfig, opts...)
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{srv: srv, client: client}
	t.Cleanup(func() { _ = client.CloseSend() })
	return a
}

// next waits for the next envelope the server received.
func (a *agent) next(t *testing.T) *loggregator_v2.Envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	envs, err := a.srv.WaitForEnvelopes(ctx, a.read+1)
	if err != nil {
		t.Fatalf("envelope %d: %v", a.read+1, err)
	}
	a.read++
	return envs[a.read-1]
}

// closeAndCount closes the client (delivering everything) and returns how
// many envelopes the server received in all.
func (a *agent) closeAndCount(t *testing.T) int {
	t.Helper()
	if err := a.client.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	return a.srv.Count()
}

// clientTime stands for the time stamp a client gives each envelope; see
// clientClock.
const clientTime = 42

// clientClock is an Emitter in front of a real IngressClient that sets
// every envelope's timestamp to clientTime before the handler's options
// run. The IngressClient stamps envelopes with time.Now, which cannot be
// told from a record's time; with clientClock a timestamp of clientTime
// proves that the handler left the client's time alone.
type clientClock struct{ c *loggregator.IngressClient }

func (w clientClock) EmitLog(message string, opts ...loggregator.EmitLogOption) {
	stamp := loggregator.EmitLogOption(func(m proto.Message) {
		if e, ok := m.(*loggregator_v2.Envelope); ok {
			e.Timestamp = clientTime
		}
	})
	w.c.EmitLog(message, append([]loggregator.EmitLogOption{stamp}, opts...)...)
}

// recordingEmitter builds a v2 envelope as the IngressClient does
// (timestamp, empty tags map, log of type ERR), applies the options and
// keeps it, without any network; for fuzzing and benchmarks.
type recordingEmitter struct{ envs []*loggregator_v2.Envelope }

func (r *recordingEmitter) EmitLog(message string, opts ...loggregator.EmitLogOption) {
	e := &loggregator_v2.Envelope{
		Timestamp: time.Now().UnixNano(),
		Tags:      map[string]string{},
		Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{
			Payload: []byte(message),
			Type:    loggregator_v2.Log_ERR,
		}},
	}
	for _, o := range opts {
		o(e)
	}
	r.envs = append(r.envs, e)
}

// toSlogtestMap turns an envelope back into the map testing/slogtest
// wants: the payload under slog.MessageKey, the log type under
// slog.LevelKey, the timestamp under slog.TimeKey (absent when the handler
// left the client's time, see clientClock) and each tag with its dotted
// name split into nested groups.
func toSlogtestMap(t *testing.T, e *loggregator_v2.Envelope) map[string]any {
	t.Helper()
	m := map[string]any{
		slog.MessageKey: string(e.GetLog().GetPayload()),
		slog.LevelKey:   e.GetLog().GetType().String(),
	}
	if e.GetTimestamp() != clientTime {
		m[slog.TimeKey] = time.Unix(0, e.GetTimestamp())
	}
	keys := make([]string, 0, len(e.GetTags()))
	for k := range e.GetTags() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts := strings.Split(k, ".")
		group := m
		for _, p := range parts[:len(parts)-1] {
			sub, ok := group[p].(map[string]any)
			if !ok {
				if _, taken := group[p]; taken {
					t.Fatalf("tag %q: %q is both a value and a group", k, p)
				}
				sub = map[string]any{}
				group[p] = sub
			}
			group = sub
		}
		group[parts[len(parts)-1]] = e.GetTags()[k]
	}
	return m
}
