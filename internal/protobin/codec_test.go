package protobin_test

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/protobin"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func TestCodecPassesRawThrough(t *testing.T) {
	in := &protobin.Raw{Bytes: []byte{0x0a, 0x02, 0x08, 0x01}}
	out, err := protobin.Codec{}.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Free()
	in.Bytes[0] = 0xff // the codec copied the caller's bytes
	if got := out.Materialize(); !bytes.Equal(got, []byte{0x0a, 0x02, 0x08, 0x01}) {
		t.Fatalf("Marshal sent % x", got)
	}

	got := &protobin.Raw{Bytes: []byte("stale contents")}
	data := mem.BufferSlice{mem.SliceBuffer{0x0a, 0x02}, mem.SliceBuffer{0x08, 0x01}}
	if err := (protobin.Codec{}).Unmarshal(data, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes, []byte{0x0a, 0x02, 0x08, 0x01}) {
		t.Fatalf("Unmarshal stored % x", got.Bytes)
	}
}

func TestCodecFallsBackToProto(t *testing.T) {
	msg := &loggregator_v2.EnvelopeBatch{Batch: []*loggregator_v2.Envelope{{SourceId: "s", Timestamp: 3}}}
	want, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := protobin.Codec{}.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Free()
	if got := out.Materialize(); !bytes.Equal(got, want) {
		t.Fatalf("Marshal wrote % x, proto.Marshal % x", got, want)
	}
	var back loggregator_v2.EnvelopeBatch
	if err := (protobin.Codec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(want)}, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&back, msg) {
		t.Fatalf("Unmarshal decoded %v, want %v", &back, msg)
	}
	if err := (protobin.Codec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer{0xff}}, &back); err == nil {
		t.Fatal("Unmarshal of malformed data gave no error")
	}
}

func TestCodecNilRaw(t *testing.T) {
	var r *protobin.Raw
	if _, err := (protobin.Codec{}).Marshal(r); err == nil {
		t.Error("Marshal(nil *Raw) gave no error")
	}
	if err := (protobin.Codec{}).Unmarshal(nil, r); err == nil {
		t.Error("Unmarshal into nil *Raw gave no error")
	}
}

func TestCodecName(t *testing.T) {
	if got := (protobin.Codec{}).Name(); got != "proto" {
		t.Fatalf("Name() = %q, want proto (peers must see ordinary protobuf traffic)", got)
	}
}
