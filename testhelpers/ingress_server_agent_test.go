package testhelpers_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func sendBatches(t *testing.T, c loggregator_v2.IngressClient, ctx context.Context, batches, size int) error {
	t.Helper()
	st, err := c.BatchSender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < batches; i++ {
		b := &loggregator_v2.EnvelopeBatch{}
		for j := 0; j < size; j++ {
			b.Batch = append(b.Batch, envelope("x"))
		}
		if err := st.Send(b); err != nil {
			break // the status comes from CloseAndRecv
		}
	}
	_, err = st.CloseAndRecv()
	return err
}

func TestIngressServerAgentQueue(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewIngressServer(certs, testhelpers.WithIngressAgentQueue(testhelpers.AgentQueue{
		Size: 500, DrainRate: 1000, StartDelay: time.Second,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := ingressClient(t, certs, srv.Addr())
	// 700 envelopes during the start-up delay: 500 fit, 200 are dropped.
	err = sendBatches(t, c, ctx, 7, 100)
	if s, _ := status.FromError(err); s.Code() != codes.Unknown || s.Message() != "EOF" {
		t.Errorf("stream answered %v, want the agent's Unknown EOF", err)
	}
	if srv.Count() != 500 || srv.AgentDropped() != 200 || srv.AgentQueued() != 500 {
		t.Fatalf("count %d, dropped %d, queued %d; want 500, 200, 500", srv.Count(), srv.AgentDropped(), srv.AgentQueued())
	}
	// It drains at about 1000/s after the delay.
	deadline := time.Now().Add(8 * time.Second)
	for srv.AgentQueued() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if srv.AgentQueued() != 0 {
		t.Errorf("queue not drained: %d", srv.AgentQueued())
	}
	// Down and Up empty the queue and restart the delay.
	srv.Down()
	srv.Down()
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err = sendBatches(t, c, ctx, 1, 10); status.Code(err) == codes.Unknown {
			break
		}
		time.Sleep(50 * time.Millisecond) // the client reconnects by itself
	}
	if srv.AgentQueued() != 10 {
		t.Errorf("queued %d after Up, want 10", srv.AgentQueued())
	}
}

func TestIngressServerAbortAfterAndStallOpenStreams(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	srv, err := testhelpers.NewIngressServer(certs, testhelpers.WithIngressAbortAfter(2))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := ingressClient(t, certs, srv.Addr())
	if err := sendBatches(t, c, ctx, 2, 3); err != nil {
		t.Errorf("two batches: %v", err)
	}
	if err := sendBatches(t, c, ctx, 5, 3); status.Code(err) != codes.Unavailable {
		t.Errorf("five batches: %v, want Unavailable", err)
	}
	if srv.Count() != 12 {
		t.Errorf("Count = %d, want 12", srv.Count())
	}

	st, err := c.BatchSender(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{envelope("a")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitForCount(ctx, 13); err != nil {
		t.Fatal(err)
	}
	srv.StallOpenStreams()
	_ = st.Send(&loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{envelope("b")}})
	// A new stream is served while the old one stays stalled.
	if err := sendBatches(t, c, ctx, 1, 1); err != nil {
		t.Errorf("new stream: %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if n, _ := srv.WaitForCount(short, 15); n != 14 {
		t.Errorf("Count = %d, want 14 (the stalled stream's batch unread)", n)
	}
}
