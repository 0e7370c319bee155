package testhelpers_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func egressClient(t *testing.T, certs *testhelpers.Certs, srv *testhelpers.EgressServer) loggregator_v2.EgressClient {
	t.Helper()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(certs.ClientTLSConfig("reverselogproxy"))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return loggregator_v2.NewEgressClient(conn)
}

func TestEgressServerStreams(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := egressClient(t, certs, srv)
	e1 := &loggregator_v2.Envelope{SourceId: "1"}
	e2 := &loggregator_v2.Envelope{SourceId: "2"}

	tests := []struct {
		name string
		recv func(ctx context.Context, t *testing.T) []*loggregator_v2.Envelope
	}{
		{"BatchedReceiver", func(ctx context.Context, t *testing.T) []*loggregator_v2.Envelope {
			rx, err := client.BatchedReceiver(ctx, &loggregator_v2.EgressBatchRequest{ShardId: "b"})
			if err != nil {
				t.Fatal(err)
			}
			var got []*loggregator_v2.Envelope
			for len(got) < 4 {
				b, err := rx.Recv()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, b.Batch...)
			}
			return got
		}},
		{"Receiver", func(ctx context.Context, t *testing.T) []*loggregator_v2.Envelope {
			rx, err := client.Receiver(ctx, &loggregator_v2.EgressRequest{ShardId: "r"})
			if err != nil {
				t.Fatal(err)
			}
			var got []*loggregator_v2.Envelope
			for len(got) < 4 {
				e, err := rx.Recv()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e)
			}
			return got
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Send(e1, e2)
			if err := srv.SendRepeated([]*loggregator_v2.Envelope{e2}, 2); err != nil {
				t.Fatal(err)
			}
			// Queued batches go to any open stream, so each subtest's
			// stream is closed before the next one starts.
			streamCtx, streamCancel := context.WithCancel(ctx)
			got := tt.recv(streamCtx, t)
			streamCancel()
			if err := srv.WaitForNoStreams(ctx); err != nil {
				t.Fatal(err)
			}
			want := []*loggregator_v2.Envelope{e1, e2, e2, e2}
			for i := range want {
				if !proto.Equal(got[i], want[i]) {
					t.Fatalf("envelope %d = %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
	if r := srv.Requests(); len(r) != 1 || r[0].ShardId != "b" {
		t.Fatalf("batched requests %v", r)
	}
	if r := srv.ReceiverRequests(); len(r) != 1 || r[0].ShardId != "r" {
		t.Fatalf("receiver requests %v", r)
	}
}

func TestEgressServerRefuseDropRestart(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := egressClient(t, certs, srv)
	// WaitForReady: after a restart the stream waits for the connection
	// instead of failing while it is down.
	open := func() (grpc.ServerStreamingClient[loggregator_v2.EnvelopeBatch], error) {
		return client.BatchedReceiver(ctx, &loggregator_v2.EgressBatchRequest{}, grpc.WaitForReady(true))
	}

	srv.RefuseStreams(true)
	rx, err := open()
	if err == nil {
		_, err = rx.Recv()
	}
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("refused stream: err %v, want Unavailable", err)
	}
	srv.RefuseStreams(false)

	tests := []struct {
		name    string
		breakIt func() error
	}{
		{"drop", func() error { srv.DropStreams(); return nil }},
		{"restart", srv.Restart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rx, err := open()
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.WaitForStreams(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if err := tt.breakIt(); err != nil {
				t.Fatal(err)
			}
			if _, err := rx.Recv(); err == nil {
				t.Fatal("stream still delivers after the break")
			}
			srv.Send(&loggregator_v2.Envelope{SourceId: tt.name})
			var b *loggregator_v2.EnvelopeBatch
			if rx, err = open(); err == nil {
				b, err = rx.Recv()
			}
			if b == nil || b.Batch[0].SourceId != tt.name {
				t.Fatalf("after %s got %v, %v", tt.name, b, err)
			}
		})
	}
	if n := srv.StreamAttempts(); n < 4 {
		t.Fatalf("%d attempts counted, want at least 4", n)
	}
	srv.Stop()
	srv.Stop() // idempotent
	if err := srv.Restart(); err == nil {
		t.Fatal("Restart after Stop succeeded")
	}
}

// TestEgressServerOutageAndEnds covers Suspend/Resume, EndStreams,
// EndStreamsAtOnce and StreamSpans.
func TestEgressServerOutageAndEnds(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewEgressServer(certs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := egressClient(t, certs, srv)
	open := func(waitForReady bool) (grpc.ServerStreamingClient[loggregator_v2.EnvelopeBatch], error) {
		return client.BatchedReceiver(ctx, &loggregator_v2.EgressBatchRequest{}, grpc.WaitForReady(waitForReady))
	}

	// Suspend: the stream breaks and new connections are refused until
	// Resume; what was queued meanwhile is served after it.
	rx, err := open(true)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitForStreams(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Suspend(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Suspend(); err != nil { // a no-op
		t.Fatal(err)
	}
	if _, err := rx.Recv(); err == nil {
		t.Fatal("stream still delivers while suspended")
	}
	if conn, err := net.Dial("tcp", srv.Addr()); err == nil {
		conn.Close()
		t.Fatal("a suspended server accepted a connection")
	}
	srv.Send(&loggregator_v2.Envelope{SourceId: "queued"})
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Resume(); err != nil { // a no-op
		t.Fatal(err)
	}
	rx, err = open(true)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := rx.Recv(); err != nil || b.Batch[0].SourceId != "queued" {
		t.Fatalf("after Resume got %v, %v", b, err)
	}

	// EndStreams ends the stream cleanly: io.EOF for the client.
	srv.EndStreams()
	if _, err := rx.Recv(); err != io.EOF {
		t.Fatalf("after EndStreams: %v, want io.EOF", err)
	}

	// EndStreamsAtOnce: every new stream ends cleanly at once.
	srv.EndStreamsAtOnce(true)
	for i := 0; i < 3; i++ {
		rx, err := open(false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rx.Recv(); err != io.EOF {
			t.Fatalf("stream %d: %v, want io.EOF", i, err)
		}
	}
	srv.EndStreamsAtOnce(false)
	if err := srv.WaitForNoStreams(ctx); err != nil {
		t.Fatal(err)
	}

	spans := srv.StreamSpans()
	if len(spans) != 5 {
		t.Fatalf("%d spans, want 5: %v", len(spans), spans)
	}
	for i, sp := range spans {
		if sp.Opened.IsZero() || sp.Closed.Before(sp.Opened) {
			t.Fatalf("span %d: %+v", i, sp)
		}
		if i > 0 && sp.Opened.Before(spans[i-1].Opened) {
			t.Fatalf("spans out of order: %v", spans)
		}
	}

	srv.Stop()
	if err := srv.Suspend(); err == nil {
		t.Fatal("Suspend after Stop succeeded")
	}
	if err := srv.Resume(); err == nil {
		t.Fatal("Resume after Stop succeeded")
	}
}

func TestNewEgressServerNeedsCerts(t *testing.T) {
	if _, err := testhelpers.NewEgressServer(nil); err == nil {
		t.Fatal("no error without certificates")
	}
}
