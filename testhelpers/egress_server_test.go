package testhelpers_test

import (
	"context"
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
			for srv.StreamCount() != 0 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
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
	open := func() (grpc.ServerStreamingClient[loggregator_v2.EnvelopeBatch], error) {
		return client.BatchedReceiver(ctx, &loggregator_v2.EgressBatchRequest{})
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
			for ctx.Err() == nil { // the client reconnects after a restart
				if rx, err = open(); err == nil {
					if b, err = rx.Recv(); err == nil {
						break
					}
				}
				time.Sleep(10 * time.Millisecond)
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

func TestNewEgressServerNeedsCerts(t *testing.T) {
	if _, err := testhelpers.NewEgressServer(nil); err == nil {
		t.Fatal("no error without certificates")
	}
}
