package loggregator

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

	"code.cloudfoundry.org/go-loggregator/internal/decode"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// egressCallOptions are the call options of every BatchedReceiver call.
var egressCallOptions = []grpc.CallOption{grpc.ForceCodecV2(egressCodec{})}

// egressCodec is gRPC's proto codec except for received EnvelopeBatch
// messages, which internal/decode turns into the generated structs about
// three times faster (it falls back to proto.Unmarshal for anything it
// does not handle, so results are identical).
type egressCodec struct{}

func (egressCodec) Marshal(v any) (mem.BufferSlice, error) {
	return encoding.GetCodecV2("proto").Marshal(v)
}

func (egressCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b, ok := v.(*loggregator_v2.EnvelopeBatch)
	if !ok {
		return encoding.GetCodecV2("proto").Unmarshal(data, v)
	}
	if len(data) == 1 {
		// decode copies what it keeps, so the buffer may be freed after.
		return decode.Batch(data[0].ReadOnlyData(), b)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return decode.Batch(buf.ReadOnlyData(), b)
}

// Name is the content-subtype on the wire; the server sees plain proto.
func (egressCodec) Name() string { return "proto" }
