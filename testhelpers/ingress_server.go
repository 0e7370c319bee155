package testhelpers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/protobin"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Names of the loggregator.v2.Ingress RPCs, as recorded in IngressRecord.RPC.
const (
	IngressRPCSender      = "Sender"
	IngressRPCBatchSender = "BatchSender"
	IngressRPCSend        = "Send"
)

// IngressMaxMessageSize is the largest gRPC message the IngressServer
// accepts (10 MiB, as the Loggregator agent).
const IngressMaxMessageSize = 10 << 20

// IngressRecord is one envelope the IngressServer received, with the RPC
// it came through.
type IngressRecord struct {
	// RPC is IngressRPCSender, IngressRPCBatchSender or IngressRPCSend.
	RPC string
	// Envelope is the decoded envelope.
	Envelope *loggregator_v2.Envelope
}

// IngressServer is an in-process Loggregator agent: a mutual-TLS gRPC
// server on 127.0.0.1 implementing loggregator.v2.Ingress (Sender,
// BatchSender and Send) that counts the envelopes it receives and, by
// default, records them.
//
// By default it decodes every envelope, as the agent does, records it
// (Envelopes, Records) and answers a closed stream with status OK. Options
// change that:
//   - WithIngressCountOnly counts without decoding or recording; a figure
//     measured against it is the client in isolation.
//   - WithIngressDiscard decodes every envelope, as the agent does, but
//     does not record it (load tests).
//   - WithIngressAgentQueue adds the agent's bounded queue, drain rate and
//     start-up delay (envelopes that find the queue full are dropped and
//     counted in AgentDropped, not in Count), and its Unknown "EOF" answer.
//   - WithIngressAbortAfter ends each BatchSender stream after n batches.
//
// At run time Stall, StallOpenStreams, Down, Up and Restart make it stop
// reading or go away as a real agent can.
//
// Its methods are safe for concurrent use. Stop it when done.
type IngressServer struct {
	certs *Certs
	cfg   ingressServerConfig
	addr  string

	count      atomic.Int64
	agent      *agentQueue  // non-nil in agent-like mode
	streamGen  atomic.Int64 // number of the latest stream opened
	stallBelow atomic.Int64 // streams numbered below it are stalled

	mu      sync.Mutex
	srv     *grpc.Server
	wg      sync.WaitGroup // Serve goroutines
	records []IngressRecord
	notify  chan struct{} // closed and replaced whenever envelopes arrive
	stall   chan struct{} // non-nil while stalled; closed by Stall(false)
	streams int
	stopped bool
	down    bool
}

// IngressServerOption configures an IngressServer.
type IngressServerOption func(*ingressServerConfig)

type ingressServerConfig struct {
	countOnly  bool
	discard    bool
	serverOpts []grpc.ServerOption
	agent      *AgentQueue
	abortAfter int
}

// WithIngressCountOnly makes the server count envelopes without decoding
// or recording them: it counts the entries of each EnvelopeBatch on the
// raw bytes (a batch that is malformed at its top level ends the stream
// with an error) and counts each Sender message as one envelope. Count
// and WaitForCount work as usual; Envelopes and Records stay empty. The
// server then costs far less than a real agent, so a figure measured
// against it is the client in isolation.
func WithIngressCountOnly() IngressServerOption {
	return func(c *ingressServerConfig) { c.countOnly = true }
}

// WithIngressDiscard makes the server decode every envelope, as the
// agent does, and then forget it instead of recording it: Count and
// WaitForCount work as usual; Envelopes and Records stay empty. Use it for
// load tests that must pay the agent's decoding cost without the memory
// of recording millions of envelopes.
func WithIngressDiscard() IngressServerOption {
	return func(c *ingressServerConfig) { c.discard = true }
}

// WithIngressServerOptions adds gRPC server options (appended after the
// server's own TLS credentials, codec and message size options).
func WithIngressServerOptions(opts ...grpc.ServerOption) IngressServerOption {
	return func(c *ingressServerConfig) { c.serverOpts = append(c.serverOpts, opts...) }
}

// NewIngressServer starts an IngressServer on 127.0.0.1 with an ephemeral
// port, presenting the server certificate of certs and requiring client
// certificates signed by its CA.
func NewIngressServer(certs *Certs, opts ...IngressServerOption) (*IngressServer, error) {
	if certs == nil {
		return nil, errors.New("testhelpers: NewIngressServer needs certificates")
	}
	s := &IngressServer{certs: certs, notify: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(&s.cfg)
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testhelpers: listen: %w", err)
	}
	s.addr = lis.Addr().String()
	if s.cfg.agent != nil {
		s.agent = &agentQueue{cfg: *s.cfg.agent}
	}
	s.mu.Lock()
	s.serveLocked(lis)
	s.mu.Unlock()
	return s, nil
}

func (s *IngressServer) serveLocked(lis net.Listener) {
	opts := append([]grpc.ServerOption{
		grpc.Creds(credentials.NewTLS(s.certs.ServerTLSConfig())),
		grpc.ForceServerCodecV2(protobin.Codec{}),
		grpc.MaxRecvMsgSize(IngressMaxMessageSize),
	}, s.cfg.serverOpts...)
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&ingressServiceDesc, s)
	s.srv = srv
	if s.agent != nil {
		s.agent.start()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(lis)
	}()
}

// Addr returns the server's address, host:port.
func (s *IngressServer) Addr() string { return s.addr }

// Envelopes returns a copy of the list of envelopes recorded so far, in
// arrival order. It stays empty with WithIngressCountOnly or
// WithIngressDiscard; in agent-like mode it holds only the envelopes the
// queue admitted.
func (s *IngressServer) Envelopes() []*loggregator_v2.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*loggregator_v2.Envelope, len(s.records))
	for i, r := range s.records {
		out[i] = r.Envelope
	}
	return out
}

// Records returns a copy of the list of envelopes recorded so far (see
// Envelopes) with the RPC each came through.
func (s *IngressServer) Records() []IngressRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]IngressRecord(nil), s.records...)
}

// Count returns how many envelopes the server received, in every mode; in
// agent-like mode only those its queue admitted (see AgentDropped).
func (s *IngressServer) Count() int { return int(s.count.Load()) }

// StreamCount returns how many Sender and BatchSender streams were opened.
func (s *IngressServer) StreamCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams
}

// WaitForEnvelopes waits until Count reaches at least n and returns the
// recorded envelopes (see Envelopes), or returns those so far and ctx's
// error.
func (s *IngressServer) WaitForEnvelopes(ctx context.Context, n int) ([]*loggregator_v2.Envelope, error) {
	_, err := s.WaitForCount(ctx, n)
	return s.Envelopes(), err
}

// WaitForCount waits until Count reaches at least n and returns it, or
// returns the count so far and ctx's error.
func (s *IngressServer) WaitForCount(ctx context.Context, n int) (int, error) {
	for {
		s.mu.Lock()
		ch := s.notify
		s.mu.Unlock()
		if c := s.Count(); c >= n {
			return c, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Count(), fmt.Errorf("testhelpers: %d of %d envelopes received: %w", s.Count(), n, ctx.Err())
		}
	}
}

// Stall makes the server stop reading (true) or read again (false). A
// stalled server still accepts connections and streams but receives no
// message, so gRPC flow control eventually blocks the sender.
func (s *IngressServer) Stall(stalled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case stalled && s.stall == nil:
		s.stall = make(chan struct{})
	case !stalled && s.stall != nil:
		close(s.stall)
		s.stall = nil
	}
}

// Restart stops the server, ending every connection and stream, and
// starts it again on the same address. Recorded envelopes are kept.
func (s *IngressServer) Restart() error {
	s.Down()
	return s.Up()
}

// Down stops serving, ending every connection and stream and closing the
// listener, as an agent that went away; Up brings it back on the same
// address. Recorded envelopes are kept. Down on a server that is down or
// stopped does nothing.
func (s *IngressServer) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.down {
		return
	}
	s.down = true
	s.srv.Stop()
	s.wg.Wait()
	if s.agent != nil {
		s.agent.halt()
	}
}

// Up listens again on the server's address after Down and serves (in
// agent-like mode with an empty queue and a new start-up delay). It does
// nothing on a server that is up.
func (s *IngressServer) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("testhelpers: Up of a stopped IngressServer")
	}
	if !s.down {
		return nil
	}
	var lis net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if lis, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("testhelpers: listen again on %s: %w", s.addr, err)
	}
	s.down = false
	s.serveLocked(lis)
	return nil
}

// Stop ends every connection and stream and waits for the server's
// goroutines. Stop may be called more than once.
func (s *IngressServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	if !s.down {
		s.srv.Stop()
		s.wg.Wait()
		if s.agent != nil {
			s.agent.halt()
		}
	}
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
}

// waitUnstalled blocks while the server is stalled; false if ctx ended.
func (s *IngressServer) waitUnstalled(ctx context.Context) bool {
	s.mu.Lock()
	ch := s.stall
	s.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// receive accounts for the encoding of one EnvelopeBatch (batch true) or
// one Envelope arriving through rpc.
func (s *IngressServer) receive(rpc string, raw []byte, batch bool) error {
	var recs []IngressRecord
	n := 1
	switch {
	case s.cfg.countOnly && batch:
		c, err := protobin.CountBatchEntries(raw)
		if err != nil {
			return err
		}
		n = c
	case batch:
		var eb loggregator_v2.EnvelopeBatch
		if err := proto.Unmarshal(raw, &eb); err != nil {
			return err
		}
		n = len(eb.Batch)
		for _, e := range eb.Batch {
			recs = append(recs, IngressRecord{RPC: rpc, Envelope: e})
		}
	case !s.cfg.countOnly:
		var e loggregator_v2.Envelope
		if err := proto.Unmarshal(raw, &e); err != nil {
			return err
		}
		recs = append(recs, IngressRecord{RPC: rpc, Envelope: &e})
	}
	if s.cfg.discard {
		recs = nil
	}
	if s.agent != nil {
		ok := s.agent.admit(n)
		if len(recs) > ok {
			recs = recs[:ok]
		}
		n = ok
	}
	s.mu.Lock()
	s.records = append(s.records, recs...)
	s.count.Add(int64(n))
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	return nil
}

func (s *IngressServer) serveStream(stream grpc.ServerStream, rpc string, batch bool, resp proto.Message) error {
	s.mu.Lock()
	s.streams++
	s.mu.Unlock()
	gen := s.streamGen.Add(1)
	ctx := stream.Context()
	var raw protobin.Raw
	for n := 0; ; n++ {
		if !s.waitUnstalled(ctx) {
			return ctx.Err()
		}
		if gen < s.stallBelow.Load() {
			<-ctx.Done() // stalled for good by StallOpenStreams
			return ctx.Err()
		}
		if err := stream.RecvMsg(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				if s.agent != nil {
					// What the Loggregator agent answers.
					return status.Error(codes.Unknown, "EOF")
				}
				return stream.SendMsg(resp)
			}
			return err
		}
		if gen < s.stallBelow.Load() {
			<-ctx.Done() // stalled while this message was on its way: never read
			return ctx.Err()
		}
		if batch && s.cfg.abortAfter > 0 && n >= s.cfg.abortAfter {
			return status.Errorf(codes.Unavailable, "testhelpers: stream aborted after %d batches", n)
		}
		if err := s.receive(rpc, raw.Bytes, batch); err != nil {
			return err
		}
	}
}

func (s *IngressServer) send(ctx context.Context, dec func(any) error) (any, error) {
	if !s.waitUnstalled(ctx) {
		return nil, ctx.Err()
	}
	var raw protobin.Raw
	if err := dec(&raw); err != nil {
		return nil, err
	}
	if err := s.receive(IngressRPCSend, raw.Bytes, true); err != nil {
		return nil, err
	}
	return &loggregator_v2.SendResponse{}, nil
}

// ingressServiceDesc serves loggregator.v2.Ingress with raw message bytes,
// so that the count-only mode can skip decoding.
var ingressServiceDesc = grpc.ServiceDesc{
	ServiceName: "loggregator.v2.Ingress",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: IngressRPCSend,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			s := srv.(*IngressServer)
			if interceptor == nil {
				return s.send(ctx, dec)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/loggregator.v2.Ingress/Send"}
			return interceptor(ctx, nil, info, func(ctx context.Context, _ any) (any, error) { return s.send(ctx, dec) })
		},
	}},
	Streams: []grpc.StreamDesc{
		{
			StreamName: IngressRPCSender,
			Handler: func(srv any, stream grpc.ServerStream) error {
				return srv.(*IngressServer).serveStream(stream, IngressRPCSender, false, &loggregator_v2.IngressResponse{})
			},
			ClientStreams: true,
		},
		{
			StreamName: IngressRPCBatchSender,
			Handler: func(srv any, stream grpc.ServerStream) error {
				return srv.(*IngressServer).serveStream(stream, IngressRPCBatchSender, true, &loggregator_v2.BatchSenderResponse{})
			},
			ClientStreams: true,
		},
	},
	Metadata: "ingress.proto",
}
