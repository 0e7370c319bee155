package devserver

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"code.cloudfoundry.org/go-loggregator/internal/encode"
	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Limits of one egress EnvelopeBatch: well under gRPC's default 4 MiB
// receive limit.
const (
	maxBatchEnvelopes = 100
	maxBatchBytes     = 1 << 20
)

// egress implements loggregator_v2.EgressServer on top of the router.
type egress struct {
	loggregator_v2.UnimplementedEgressServer
	s *Server
}

func (eg *egress) BatchedReceiver(req *loggregator_v2.EgressBatchRequest, stream loggregator_v2.Egress_BatchedReceiverServer) error {
	sub, err := eg.s.router.Subscribe(req, eg.s.cfg.BufferSize)
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
	)
	for {
		buf, err = sub.Next(ctx, buf, 0)
		if err != nil {
			return egressEnd(err)
		}
		for start := 0; start < len(buf); {
			end, size := start, 0
			for end < len(buf) && end-start < maxBatchEnvelopes && size < maxBatchBytes {
				n, _ := encode.Size(buf[end])
				size += n
				end++
			}
			batch.Batch = batch.Batch[:0]
			for _, e := range buf[start:end] {
				batch.Batch = append(batch.Batch, router.ConvertTags(e, preferred))
			}
			if err := stream.Send(&batch); err != nil {
				return err
			}
			start = end
		}
	}
}

func (eg *egress) Receiver(req *loggregator_v2.EgressRequest, stream loggregator_v2.Egress_ReceiverServer) error {
	breq := &loggregator_v2.EgressBatchRequest{
		ShardId:           req.GetShardId(),
		LegacySelector:    req.GetLegacySelector(),
		UsePreferredTags:  req.GetUsePreferredTags(),
		Selectors:         req.GetSelectors(),
		DeterministicName: req.GetDeterministicName(),
	}
	sub, err := eg.s.router.Subscribe(breq, eg.s.cfg.BufferSize)
	if err != nil {
		return status.Error(codes.Unavailable, "server is shutting down")
	}
	defer sub.Close()
	ctx := stream.Context()
	var buf []*loggregator_v2.Envelope
	for {
		buf, err = sub.Next(ctx, buf, 0)
		if err != nil {
			return egressEnd(err)
		}
		for _, e := range buf {
			if err := stream.Send(router.ConvertTags(e, req.GetUsePreferredTags())); err != nil {
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
