package protobin

import (
	"errors"
	"fmt"

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
		return nil, errors.New("encode: no proto codec registered")
	}
	return c, nil
}

// Marshal copies a *Raw into a buffer from gRPC's pool (gRPC may still
// hold the buffer after SendMsg returns, so the caller's bytes must not
// be shared) and marshals anything else with the proto codec.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*Raw); ok {
		if r == nil {
			return nil, errors.New("encode: nil *Raw")
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
			return errors.New("encode: nil *Raw")
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

// CountBatchEntries counts the envelopes in the binary encoding of an
// EnvelopeBatch without decoding them: the number of field-1 entries. It
// skips fields of other numbers and returns an error for malformed input.
func CountBatchEntries(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		key, k := consumeVarint(b)
		if k == 0 {
			return n, errors.New("encode: truncated field key")
		}
		b = b[k:]
		switch key & 7 {
		case wireVarint:
			_, k = consumeVarint(b)
			if k == 0 {
				return n, errors.New("encode: truncated varint")
			}
			b = b[k:]
		case wireFixed64:
			if len(b) < 8 {
				return n, errors.New("encode: truncated fixed64")
			}
			b = b[8:]
		case 5: // fixed32
			if len(b) < 4 {
				return n, errors.New("encode: truncated fixed32")
			}
			b = b[4:]
		case wireBytes:
			l, k := consumeVarint(b)
			if k == 0 || uint64(len(b)-k) < l {
				return n, errors.New("encode: truncated length-delimited field")
			}
			b = b[k+int(l):]
			if key>>3 == 1 {
				n++
			}
		default:
			return n, fmt.Errorf("encode: unsupported wire type %d", key&7)
		}
	}
	return n, nil
}

// consumeVarint decodes a varint, returning the value and the number of
// bytes read (0 when b is truncated or the varint is too long).
func consumeVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}
