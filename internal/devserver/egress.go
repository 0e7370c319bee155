package devserver

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Limits of gRPC egress messages.
const (
	// maxBatchEnvelopes and maxBatchBytes bound one EnvelopeBatch: an
	// envelope joins a batch only when the batch's encoded size with it
	// stays within maxBatchBytes; an envelope too large for that travels
	// alone.
	maxBatchEnvelopes = 100
	maxBatchBytes     = 1 << 20
	// maxMessageBytes is gRPC's default receive limit (4 MiB), that of
	// every client with default options: an envelope whose message would
	// exceed it is dropped and counted (Stats.EgressOversized) instead of
	// making the client fail the stream with ResourceExhausted.
	maxMessageBytes = 4 << 20
)

// egress implements loggregator_v2.EgressServer on top of the router.
type egress struct {
	loggregator_v2.UnimplementedEgressServer
	s *Server
}

func (s *Server) subscribe(req *loggregator_v2.EgressBatchRequest) (*router.Subscription, error) {
	return s.router.SubscribeLimits(req, router.Limits{Envelopes: s.cfg.BufferSize, Bytes: s.cfg.BufferBytes})
}

func (eg *egress) BatchedReceiver(req *loggregator_v2.EgressBatchRequest, stream loggregator_v2.Egress_BatchedReceiverServer) error {
	sub, err := eg.s.subscribe(req)
	if err != nil {
		return status.Error(codes.Unavailable, "server is shutting down")
	}
	defer sub.Close()
	eg.s.logf("gRPC egress: subscriber %d connected (shard_id %q, %d selectors)", sub.ID(), req.GetShardId(), len(req.GetSelectors()))
	defer func() {
		eg.s.logf("gRPC egress: subscriber %d left (%d received, %d dropped)", sub.ID(), sub.Accepted(), sub.Dropped())
	}()

	ctx := stream.Context()
	preferred := req.GetUsePreferredTags()
	var (
		buf   []*loggregator_v2.Envelope
		batch loggregator_v2.EnvelopeBatch
		size  int
	)
	send := func() error {
		err := stream.Send(&batch)
		clear(batch.Batch)
		batch.Batch, size = batch.Batch[:0], 0
		return err
	}
	for {
		// Take about one batch at a time, so that what this stream holds
		// outside the subscription's bounded buffer is one batch.
		buf, err = sub.NextBytes(ctx, buf, maxBatchEnvelopes, maxBatchBytes)
		if err != nil {
			return egressEnd(err)
		}
		for _, e := range buf {
			c := router.ConvertTags(e, preferred)
			entry, ok := eg.s.entrySize(sub, c)
			if !ok {
				continue
			}
			if len(batch.Batch) > 0 && (len(batch.Batch) >= maxBatchEnvelopes || size+entry > maxBatchBytes) {
				if err := send(); err != nil {
					return err
				}
			}
			batch.Batch = append(batch.Batch, c)
			size += entry
		}
		if len(batch.Batch) > 0 {
			if err := send(); err != nil {
				return err
			}
		}
	}
}

// entrySize returns an upper bound of the encoded size of e as one entry
// of an EnvelopeBatch (field tag, length, envelope): router.Size, which
// bounds the encoding without computing it, plus the entry header. Only
// when that exceeds maxMessageBytes is the exact size computed; when even
// that does, the envelope is dropped, counted and logged, and ok is false.
func (s *Server) entrySize(sub *router.Subscription, e *loggregator_v2.Envelope) (size int, ok bool) {
	size = protowire.SizeTag(1) + protowire.SizeVarint(maxMessageBytes) + router.Size(e)
	if size <= maxMessageBytes {
		return size, true
	}
	size = protowire.SizeTag(1) + protowire.SizeBytes(proto.Size(e))
	if size > maxMessageBytes {
		s.egressOversized.Add(1)
		s.logf("gRPC egress: subscriber %d: dropped an envelope of %d bytes, over the 4 MiB message limit of gRPC clients", sub.ID(), size)
		return 0, false
	}
	return size, true
}

func (eg *egress) Receiver(req *loggregator_v2.EgressRequest, stream loggregator_v2.Egress_ReceiverServer) error {
	breq := &loggregator_v2.EgressBatchRequest{
		ShardId:           req.GetShardId(),
		LegacySelector:    req.GetLegacySelector(),
		UsePreferredTags:  req.GetUsePreferredTags(),
		Selectors:         req.GetSelectors(),
		DeterministicName: req.GetDeterministicName(),
	}
	sub, err := eg.s.subscribe(breq)
	if err != nil {
		return status.Error(codes.Unavailable, "server is shutting down")
	}
	defer sub.Close()
	ctx := stream.Context()
	var buf []*loggregator_v2.Envelope
	for {
		buf, err = sub.NextBytes(ctx, buf, maxBatchEnvelopes, maxBatchBytes)
		if err != nil {
			return egressEnd(err)
		}
		for _, e := range buf {
			c := router.ConvertTags(e, req.GetUsePreferredTags())
			if _, ok := eg.s.entrySize(sub, c); !ok {
				continue
			}
			if err := stream.Send(c); err != nil {
				return err
			}
		}
	}
}

func egressEnd(err error) error {
	if errors.Is(err, router.ErrClosed) {
		return status.Error(codes.Unavailable, "server is shutting down")
	}
	return status.FromContextError(err).Err()
}
