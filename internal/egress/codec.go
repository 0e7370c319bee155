package egress

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// RawBatch receives one EnvelopeBatch message without decoding it. It
// holds a reference to gRPC's receive buffer until Free.
type RawBatch struct {
	buf mem.Buffer
}

// Bytes returns the encoded message; valid until Free.
func (r *RawBatch) Bytes() []byte {
	if r.buf == nil {
		return nil
	}
	return r.buf.ReadOnlyData()
}

// Free releases the buffer. It is safe to call more than once.
func (r *RawBatch) Free() {
	if r.buf != nil {
		r.buf.Free()
		r.buf = nil
	}
}

// Codec is gRPC's proto codec, except that it receives a *RawBatch
// undecoded. Its name is "proto", so the server sees plain protobuf.
type Codec struct{}

// CallOptions are the call options that make a stream use Codec.
var CallOptions = []grpc.CallOption{grpc.ForceCodecV2(Codec{})}

// Marshal encodes v with the proto codec.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	return encoding.GetCodecV2("proto").Marshal(v)
}

// Unmarshal keeps data in v when v is a *RawBatch (taking its own
// reference, or one contiguous copy when the message arrived in several
// buffers) and decodes it with the proto codec otherwise.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*RawBatch)
	if !ok {
		return encoding.GetCodecV2("proto").Unmarshal(data, v)
	}
	r.Free()
	switch len(data) {
	case 0:
	case 1:
		data[0].Ref()
		r.buf = data[0]
	default:
		r.buf = data.MaterializeToBuffer(mem.DefaultBufferPool())
	}
	return nil
}

// Name is the content-subtype on the wire.
func (Codec) Name() string { return "proto" }
