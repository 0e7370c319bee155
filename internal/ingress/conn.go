package ingress

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"code.cloudfoundry.org/go-loggregator/internal/protobin"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Stream is the client side of one BatchSender stream; grpc.ClientStream
// satisfies it.
type Stream interface {
	SendMsg(m any) error
	CloseSend() error
	RecvMsg(m any) error
}

// Conn is what the Sender needs of a connection. GRPCConn adapts a
// *grpc.ClientConn; tests use fakes.
type Conn interface {
	// NewStream opens a BatchSender stream that ends with ctx. It must not
	// wait for the connection to become ready (gRPC's fail-fast default).
	NewStream(ctx context.Context) (Stream, error)
	GetState() connectivity.State
	WaitForStateChange(ctx context.Context, s connectivity.State) bool
	Connect()
}

const batchSenderMethod = "/loggregator.v2.Ingress/BatchSender"

var batchSenderDesc = grpc.StreamDesc{StreamName: "BatchSender", ClientStreams: true}

// GRPCConn opens BatchSender streams on a gRPC connection, sending
// pre-encoded batches (*protobin.Raw) with protobin.Codec.
type GRPCConn struct{ *grpc.ClientConn }

// NewStream implements Conn.
func (c GRPCConn) NewStream(ctx context.Context) (Stream, error) {
	return c.ClientConn.NewStream(ctx, &batchSenderDesc, batchSenderMethod, grpc.ForceCodecV2(protobin.Codec{}))
}

// cleanEnd reports whether err, the result of RecvMsg after CloseSend,
// means the server read the whole stream: nil, io.EOF, or the status
// Unknown "EOF" with which the Loggregator agent answers every stream.
func cleanEnd(err error) bool {
	if err == nil || errors.Is(err, io.EOF) {
		return true
	}
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.Unknown && s.Message() == "EOF"
}

// response is what RecvMsg reads at the end of a stream.
type response = loggregator_v2.BatchSenderResponse
