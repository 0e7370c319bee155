package loggregator

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// egressCallOptions are the call options of every BatchedReceiver call.
var egressCallOptions = []grpc.CallOption{grpc.ForceCodecV2(egressCodec{})}

// egressCodec is gRPC's proto codec except for received EnvelopeBatch
// messages, which a hand-written decoder turns into the generated structs.
type egressCodec struct{}

func (egressCodec) Marshal(v any) (mem.BufferSlice, error) {
	return encoding.GetCodecV2("proto").Marshal(v)
}

func (egressCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return encoding.GetCodecV2("proto").Unmarshal(data, v)
}

// Name is the content-subtype on the wire; the server sees plain proto.
func (egressCodec) Name() string { return "proto" }
