package devserver_test

import (
	"context"
	"testing"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/internal/certs"
	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// connectorStream opens a default EnvelopeStreamConnector stream of logs
// from s's gRPC egress and collects what it returns until ctx ends.
func connectorStream(t *testing.T, ctx context.Context, s *devserver.Server) *collector {
	t.Helper()
	c := s.Certs()
	tlsConf, err := loggregator.NewEgressTLSConfig(c.Path(certs.CAFile), c.Path(certs.ClientCertFile), c.Path(certs.ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	stream := loggregator.NewEnvelopeStreamConnector(s.Addrs().Egress, tlsConf).Stream(ctx, sub{kinds: []string{"log"}}.request())
	col := newCollector()
	go func() {
		for ctx.Err() == nil {
			col.add(stream()...)
		}
		col.finish(ctx.Err())
	}()
	t.Cleanup(func() { <-col.done })
	return col
}

func sizedLog(n int, mark byte) *loggregator_v2.Envelope {
	p := make([]byte, n)
	for i := range p {
		p[i] = mark
	}
	return &loggregator_v2.Envelope{SourceId: "big", Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: p}}}
}

// TestLargeEnvelopesReachDefaultConnector sends a 0.9 MiB envelope followed
// by a 3.5 MiB one through dev to an EnvelopeStreamConnector with default
// options, whose gRPC receive limit is 4 MiB: dev must not put both in one
// 4.4 MiB EnvelopeBatch. "together" publishes both in one call so that
// they are buffered together whatever the timing; "via ingress" sends
// them as two v2 ingress messages (one message of both would exceed
// ingress's own 4 MiB limit).
func TestLargeEnvelopesReachDefaultConnector(t *testing.T) {
	for _, path := range []string{"together", "via ingress"} {
		t.Run(path, func(t *testing.T) {
			s := startServer(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			got := connectorStream(t, ctx, s)
			waitSubscribers(t, s, 1)
			envs := []*loggregator_v2.Envelope{sizedLog(9*mib/10, 'a'), sizedLog(7*mib/2, 'b'), sizedLog(10, 'c')}
			if path == "together" {
				s.Router().Publish(envs...)
			} else {
				cc := dial(t, s, s.Addrs().Ingress, "metron")
				stream, err := loggregator_v2.NewIngressClient(cc).BatchSender(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range envs {
					if err := stream.Send(&loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{e}}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := stream.CloseAndRecv(); err != nil {
					t.Fatal(err)
				}
			}
			if !got.waitLen(ctx, len(envs)) {
				t.Fatalf("connector received %d of %d envelopes", got.Len(), len(envs))
			}
			for i, e := range got.Envelopes() {
				if p := e.GetLog().GetPayload(); len(p) != len(envs[i].GetLog().GetPayload()) || p[0] != envs[i].GetLog().GetPayload()[0] {
					t.Errorf("envelope %d: %d bytes of %q, want %d of %q", i, len(p), p[:1], len(envs[i].GetLog().GetPayload()), envs[i].GetLog().GetPayload()[:1])
				}
			}
			cancel()
		})
	}
}

// TestOversizedEnvelopeDroppedAndCounted: an envelope whose message alone
// would exceed the client's 4 MiB limit (possible only from in-process
// publishers or tag conversion, since ingress has the same limit) is
// dropped and counted instead of breaking the stream; the next one
// arrives.
func TestOversizedEnvelopeDroppedAndCounted(t *testing.T) {
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	got := connectorStream(t, ctx, s)
	waitSubscribers(t, s, 1)
	s.Router().Publish(sizedLog(4*mib, 'a'), sizedLog(10, 'b'))
	if !got.waitLen(ctx, 1) {
		t.Fatal("the envelope after the oversized one did not arrive")
	}
	if e := got.Envelopes()[0]; string(e.GetLog().GetPayload()) != "bbbbbbbbbb" {
		t.Errorf("got a %d-byte payload, want the small envelope", len(e.GetLog().GetPayload()))
	}
	if st := s.Stats(); st.EgressOversized != 1 {
		t.Errorf("EgressOversized %d, want 1", st.EgressOversized)
	}
	cancel()
}
