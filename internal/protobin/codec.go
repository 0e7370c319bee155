// This file owns the gRPC side: Raw, a message that is already encoded,
// and Codec, which sends and receives it without decoding.

package protobin

import (
	"errors"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

	// Registers the "proto" codec that Codec falls back to.
	_ "google.golang.org/grpc/encoding/proto"
)

// Raw holds the protobuf binary encoding of one gRPC message. Codec sends a
// *Raw as is and, when receiving into a *Raw, stores the bytes undecoded.
type Raw struct {
	Bytes []byte
}

// Codec is a gRPC encoding.CodecV2 that passes *Raw messages through and
// hands every other message to the registered "proto" codec. Its name is
// "proto", so peers see ordinary protobuf traffic. Use it with
// grpc.ForceCodecV2 (client) or grpc.ForceServerCodecV2 (server).
type Codec struct{}

var _ encoding.CodecV2 = Codec{}

func protoCodec() (encoding.CodecV2, error) {
	c := encoding.GetCodecV2("proto")
	if c == nil {
		return nil, errors.New("protobin: no proto codec registered")
	}
	return c, nil
}

// Marshal copies a *Raw into a buffer from gRPC's pool (gRPC may still
// hold the buffer after SendMsg returns, so the caller's bytes must not
// be shared) and marshals anything else with the proto codec.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*Raw); ok {
		if r == nil {
			return nil, errors.New("protobin: nil *Raw")
		}
		return mem.BufferSlice{mem.Copy(r.Bytes, mem.DefaultBufferPool())}, nil
	}
	c, err := protoCodec()
	if err != nil {
		return nil, err
	}
	return c.Marshal(v)
}

// Unmarshal stores the message bytes in a *Raw (reusing its slice) and
// decodes anything else with the proto codec.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*Raw); ok {
		if r == nil {
			return errors.New("protobin: nil *Raw")
		}
		r.Bytes = r.Bytes[:0]
		for _, b := range data {
			r.Bytes = append(r.Bytes, b.ReadOnlyData()...)
		}
		return nil
	}
	c, err := protoCodec()
	if err != nil {
		return err
	}
	return c.Unmarshal(data, v)
}

// Name returns "proto".
func (Codec) Name() string { return "proto" }
