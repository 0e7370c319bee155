package testhelpers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func ingressClient(t *testing.T, certs *testhelpers.Certs, addr string) loggregator_v2.IngressClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(certs.ClientTLSConfig("metron"))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return loggregator_v2.NewIngressClient(conn)
}

func envelope(id string) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{SourceId: id, Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(id)}}}
}

func TestIngressServerRecordsEveryRPC(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := ingressClient(t, certs, srv.Addr())

	s, err := c.Sender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(envelope("sender")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	bs, err := c.BatchSender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := bs.Send(&loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{envelope("b1"), envelope("b2")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, &loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{envelope("send")}}); err != nil {
		t.Fatal(err)
	}
	envs, err := srv.WaitForEnvelopes(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []testhelpers.IngressRecord{
		{RPC: testhelpers.IngressRPCSender, Envelope: envelope("sender")},
		{RPC: testhelpers.IngressRPCBatchSender, Envelope: envelope("b1")},
		{RPC: testhelpers.IngressRPCBatchSender, Envelope: envelope("b2")},
		{RPC: testhelpers.IngressRPCSend, Envelope: envelope("send")},
	}
	recs := srv.Records()
	if len(recs) != len(want) || len(envs) != len(want) {
		t.Fatalf("records %v", recs)
	}
	for i := range want {
		if recs[i].RPC != want[i].RPC || !proto.Equal(recs[i].Envelope, want[i].Envelope) || !proto.Equal(envs[i], want[i].Envelope) {
			t.Errorf("record %d = %v, want %v", i, recs[i], want[i])
		}
	}
	if srv.StreamCount() != 2 {
		t.Errorf("StreamCount = %d, want 2", srv.StreamCount())
	}
}

func TestIngressServerCountOnlyStallRestart(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewIngressServer(certs, testhelpers.WithIngressCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := ingressClient(t, certs, srv.Addr())
	batch := &loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{envelope("a"), envelope("b"), envelope("c")}}

	srv.Stall(true)
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(ctx, batch)
		done <- err
	}()
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if _, err := srv.WaitForCount(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled server counted envelopes: %v", err)
	}
	srv.Stall(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := srv.WaitForCount(ctx, 3); err != nil || n != 3 {
		t.Fatalf("WaitForCount = %d, %v", n, err)
	}
	if len(srv.Envelopes()) != 0 {
		t.Error("count-only server recorded envelopes")
	}

	addr := srv.Addr()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("address changed from %s to %s", addr, srv.Addr())
	}
	var sendErr error
	for i := 0; i < 100; i++ { // the client reconnects by itself
		if _, sendErr = c.Send(ctx, batch); sendErr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sendErr != nil {
		t.Fatalf("Send after Restart: %v", sendErr)
	}
	if srv.Count() != 6 {
		t.Errorf("Count = %d after restart, want 6", srv.Count())
	}
	srv.Stop()
	srv.Stop()
	if err := srv.Restart(); err == nil {
		t.Error("Restart after Stop: no error")
	}
}

func TestNewIngressServerNeedsCerts(t *testing.T) {
	if _, err := testhelpers.NewIngressServer(nil); err == nil {
		t.Error("no error for nil certs")
	}
}
