package egress

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/protobin"
	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, fmt.Sprintf(format, v...))
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.l...)
}

// rawServer is a BatchedReceiver endpoint with mutual TLS that sends the
// given messages as they are, whatever they contain, on every stream, and
// then keeps the stream open.
func rawServer(t *testing.T, certs *testhelpers.Certs, msgs ...[]byte) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(certs.ServerTLSConfig())), grpc.ForceServerCodecV2(bytesCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "loggregator.v2.Egress",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName:    "BatchedReceiver",
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				var req []byte
				if err := stream.RecvMsg(&req); err != nil {
					return err
				}
				for _, m := range msgs {
					if err := stream.SendMsg(m); err != nil {
						return err
					}
				}
				<-stream.Context().Done()
				return nil
			},
		}},
	}, nil)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return lis.Addr().String()
}

// bytesCodec sends and receives []byte as they are.
type bytesCodec struct{}

func (bytesCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (bytesCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

func (bytesCodec) Name() string { return "proto" }

func newReceiver(t *testing.T, certs *testhelpers.Certs, addr string, cfg Config) *Receiver {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(certs.ClientTLSConfig("reverselogproxy"))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return New(conn, &v2.EgressBatchRequest{}, cfg)
}

func marshal(t *testing.T, envs []*v2.Envelope) []byte {
	t.Helper()
	b, err := proto.Marshal(&v2.EnvelopeBatch{Batch: envs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReceiverChunksLargeBatches: a batch far above ChunkBytes comes out
// in chunks that each stay within ChunkBytes plus one envelope, in order,
// and empty batches are skipped.
func TestReceiverChunksLargeBatches(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	envs := make([]*v2.Envelope, 10000)
	for i := range envs {
		envs[i] = &v2.Envelope{Timestamp: int64(i)}
	}
	small := []*v2.Envelope{{Timestamp: 10000}}
	addr := rawServer(t, certs, marshal(t, envs), marshal(t, nil), marshal(t, small))
	const chunk = 64 << 10
	r := newReceiver(t, certs, addr, Config{HealthyAfter: time.Second, ChunkBytes: chunk, Logger: &lines{}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next, chunks := int64(0), 0
	one := protobin.HeapSize(&v2.Envelope{Timestamp: 1}, 2)
	for next <= 10000 {
		got, size := r.Next(ctx)
		if got == nil {
			t.Fatalf("stream ended at envelope %d", next)
		}
		chunks++
		if size > chunk+one {
			t.Fatalf("chunk of %d envelopes has size %d, bound %d", len(got), size, chunk+one)
		}
		for _, e := range got {
			if e.Timestamp != next {
				t.Fatalf("envelope %d arrived when %d was expected", e.Timestamp, next)
			}
			next++
		}
	}
	t.Logf("10001 envelopes in %d chunks", chunks)
	if chunks < 10 {
		t.Fatalf("%d chunks: the large batch was not split", chunks)
	}
	cancel()
	if got, _ := r.Next(ctx); got != nil {
		t.Fatalf("got %v after cancel", got)
	}
}

// TestReceiverMalformedBatch: the envelopes before a malformed part are
// delivered, the failure is logged and the stream is opened again.
func TestReceiverMalformedBatch(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	good := marshal(t, []*v2.Envelope{{SourceId: "good"}})
	bad := append(append([]byte(nil), good...), 0x0a, 0x05, 0x01) // truncated envelope
	addr := rawServer(t, certs, bad)
	log := &lines{}
	r := newReceiver(t, certs, addr, Config{HealthyAfter: time.Second, ChunkBytes: 1 << 20, Logger: log})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ { // once per stream
		got, _ := r.Next(ctx)
		if len(got) != 1 || got[0].SourceId != "good" {
			t.Fatalf("stream %d: got %v", i, got)
		}
	}
	l := log.get()
	if len(l) == 0 || !strings.Contains(l[0], "decoding batch") {
		t.Fatalf("log %q, want the decoding failure", l)
	}
	cancel()
	r.Next(ctx)
}

func TestCodec(t *testing.T) {
	data := marshal(t, []*v2.Envelope{{SourceId: "a"}, {SourceId: "b"}})
	tests := []struct {
		name  string
		slice mem.BufferSlice
	}{
		{"one buffer", mem.BufferSlice{mem.SliceBuffer(data)}},
		{"several buffers", mem.BufferSlice{mem.SliceBuffer(data[:3]), mem.SliceBuffer(data[3:])}},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r RawBatch
			if err := (Codec{}).Unmarshal(tt.slice, &r); err != nil {
				t.Fatal(err)
			}
			want := tt.slice.Materialize()
			if string(r.Bytes()) != string(want) {
				t.Fatalf("kept %x, want %x", r.Bytes(), want)
			}
			r.Free()
			r.Free()
			if r.Bytes() != nil {
				t.Fatal("bytes after Free")
			}
		})
	}
	var b v2.EnvelopeBatch
	if err := (Codec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, &b); err != nil || len(b.Batch) != 2 {
		t.Fatalf("proto fallback: %v, %v", &b, err)
	}
	out, err := (Codec{}).Marshal(&b)
	if err != nil || string(out.Materialize()) != string(data) {
		t.Fatalf("Marshal: %x, %v", out.Materialize(), err)
	}
	if (Codec{}).Name() != encoding.GetCodecV2("proto").Name() {
		t.Fatal("codec name is not proto's")
	}
}
