package testhelpers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// EgressServer is an in-process Loggregator egress endpoint (what the
// Reverse Log Proxy offers): a gRPC server with mutual TLS on 127.0.0.1
// implementing /loggregator.v2.Egress/BatchedReceiver and Receiver.
//
// A test queues envelopes with Send, SendBatch or SendRepeated; each
// queued batch goes to exactly one open stream (as if all streams shared a
// shard id) and waits in the queue while no stream is open. A batch whose
// send fails is put back at the front of the queue, so only batches the
// server had already handed to gRPC can be lost when a connection breaks.
// The server records every request, counts stream attempts, keeps the
// open and close time of every stream, and can drop its streams (with an
// error or cleanly), refuse new ones or end them at once, go away for a
// while and restart on the same address.
//
// All methods are safe for concurrent use. Stop must be called to release
// the listener and goroutines.
type EgressServer struct {
	certs *Certs
	cfg   egressServerConfig

	mu       sync.Mutex
	addr     string
	srv      *grpc.Server
	serveWG  sync.WaitGroup
	stopped  bool
	refuse   bool
	endNew   bool
	down     bool
	attempts int
	spans    []StreamSpan
	requests []*loggregator_v2.EgressBatchRequest
	rxReqs   []*loggregator_v2.EgressRequest
	streams  map[*egressStream]struct{}
	queue    []*egressItem
	changed  chan struct{} // closed and replaced on every state change
}

// EgressServerOption configures an EgressServer.
type EgressServerOption func(*egressServerConfig)

type egressServerConfig struct {
	serverOpts []grpc.ServerOption
}

// WithEgressServerOptions adds gRPC server options (for example
// grpc.MaxConcurrentStreams). The server's credentials and codec are set
// by NewEgressServer and cannot be replaced.
func WithEgressServerOptions(opts ...grpc.ServerOption) EgressServerOption {
	return func(c *egressServerConfig) { c.serverOpts = append(c.serverOpts, opts...) }
}

// egressStream is one open Receiver or BatchedReceiver stream.
type egressStream struct {
	drop  chan struct{} // closed by DropStreams and EndStreams
	clean bool          // set by EndStreams before drop is closed
	span  int           // index in EgressServer.spans
}

// StreamSpan is when one stream was opened and closed (Closed is zero
// while it is open). Refused attempts have no span.
type StreamSpan struct {
	Opened, Closed time.Time
}

// egressItem is one queued batch: the envelopes, their encoding as an
// EnvelopeBatch, and how many more times it is to be sent.
type egressItem struct {
	envs   []*loggregator_v2.Envelope
	raw    []byte
	repeat int
}

// NewEgressServer starts an EgressServer on 127.0.0.1 with a random port,
// serving the server certificate of certs and requiring client
// certificates signed by its CA.
func NewEgressServer(certs *Certs, opts ...EgressServerOption) (*EgressServer, error) {
	if certs == nil {
		return nil, errors.New("testhelpers: NewEgressServer needs certificates")
	}
	s := &EgressServer{
		certs:   certs,
		streams: make(map[*egressStream]struct{}),
		changed: make(chan struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(&s.cfg)
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testhelpers: egress server listen: %w", err)
	}
	s.mu.Lock()
	s.addr = lis.Addr().String()
	s.serveLocked(lis)
	s.mu.Unlock()
	return s, nil
}

// serveLocked starts a gRPC server on lis. s.mu must be held.
func (s *EgressServer) serveLocked(lis net.Listener) {
	opts := append([]grpc.ServerOption{}, s.cfg.serverOpts...)
	opts = append(opts,
		grpc.Creds(credentials.NewTLS(s.certs.ServerTLSConfig())),
		grpc.ForceServerCodecV2(rawBatchCodec{}),
	)
	srv := grpc.NewServer(opts...)
	loggregator_v2.RegisterEgressServer(srv, &egressService{s: s})
	s.srv = srv
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		_ = srv.Serve(lis) // returns when the server is stopped
	}()
}

// Addr returns the server's address (127.0.0.1:port). It stays the same
// across Restart.
func (s *EgressServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Send queues envs as one batch.
func (s *EgressServer) Send(envs ...*loggregator_v2.Envelope) {
	s.SendBatch(envs)
}

// SendBatch queues envs as one batch. An empty batch is sent as an empty
// EnvelopeBatch (to a Receiver stream it sends nothing).
func (s *EgressServer) SendBatch(envs []*loggregator_v2.Envelope) {
	_ = s.SendRepeated(envs, 1)
}

// SendRepeated queues envs as one batch to be sent times times in a row
// (to the same stream unless it breaks). The batch is encoded once, here,
// so this is the way to feed benchmarks. It returns an error only when the
// batch cannot be encoded; times < 1 queues nothing.
func (s *EgressServer) SendRepeated(envs []*loggregator_v2.Envelope, times int) error {
	if times < 1 {
		return nil
	}
	raw, err := proto.Marshal(&loggregator_v2.EnvelopeBatch{Batch: envs})
	if err != nil {
		return fmt.Errorf("testhelpers: encoding batch: %w", err)
	}
	s.mu.Lock()
	s.queue = append(s.queue, &egressItem{envs: envs, raw: raw, repeat: times})
	s.notifyLocked()
	s.mu.Unlock()
	return nil
}

// Pending returns how many batch sends are queued and not yet handed to a
// stream.
func (s *EgressServer) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, it := range s.queue {
		n += it.repeat
	}
	return n
}

// ClearQueue discards everything queued and not yet sent.
func (s *EgressServer) ClearQueue() {
	s.mu.Lock()
	s.queue = nil
	s.notifyLocked()
	s.mu.Unlock()
}

// Requests returns every BatchedReceiver request received so far, in
// order, including refused ones.
func (s *EgressServer) Requests() []*loggregator_v2.EgressBatchRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*loggregator_v2.EgressBatchRequest, len(s.requests))
	copy(out, s.requests)
	return out
}

// ReceiverRequests returns every (unbatched) Receiver request received so
// far, in order, including refused ones.
func (s *EgressServer) ReceiverRequests() []*loggregator_v2.EgressRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*loggregator_v2.EgressRequest, len(s.rxReqs))
	copy(out, s.rxReqs)
	return out
}

// StreamAttempts returns how many Receiver and BatchedReceiver calls the
// server has seen, refused ones included.
func (s *EgressServer) StreamAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// StreamCount returns how many streams are open right now.
func (s *EgressServer) StreamCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// WaitForStreams blocks until at least n streams are open or ctx is done,
// in which case it returns ctx's error.
func (s *EgressServer) WaitForStreams(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return len(s.streams) >= n })
}

// WaitForNoStreams blocks until no stream is open or ctx is done, in which
// case it returns ctx's error.
func (s *EgressServer) WaitForNoStreams(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return len(s.streams) == 0 })
}

// WaitForAttempts blocks until the server has seen at least n stream
// attempts or ctx is done, in which case it returns ctx's error.
func (s *EgressServer) WaitForAttempts(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return s.attempts >= n })
}

// WaitForDrained blocks until the queue is empty (everything queued has
// been handed to a stream) or ctx is done.
func (s *EgressServer) WaitForDrained(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return len(s.queue) == 0 })
}

func (s *EgressServer) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// DropStreams ends every open stream with status Unavailable, as a proxy
// going away would. The connections stay up; clients are expected to open
// new streams.
func (s *EgressServer) DropStreams() { s.endStreams(false) }

// EndStreams ends every open stream cleanly (status OK), as a Reverse Log
// Proxy's routine close does. The connections stay up.
func (s *EgressServer) EndStreams() { s.endStreams(true) }

func (s *EgressServer) endStreams(clean bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for st := range s.streams {
		st.clean = clean
		close(st.drop)
		delete(s.streams, st)
		s.spans[st.span].Closed = now
	}
	s.notifyLocked()
}

// EndStreamsAtOnce makes the server end every new stream cleanly (status
// OK) as soon as it is opened, without sending anything (on true), or
// serve them again (on false). Such streams are counted and have a span.
func (s *EgressServer) EndStreamsAtOnce(on bool) {
	s.mu.Lock()
	s.endNew = on
	s.notifyLocked()
	s.mu.Unlock()
}

// StreamSpans returns the open and close times of every stream the server
// has served, in the order they were opened.
func (s *EgressServer) StreamSpans() []StreamSpan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StreamSpan(nil), s.spans...)
}

// RefuseStreams makes the server answer every new stream with status
// Unavailable (refuse true) or serve them again (refuse false). Refused
// attempts are counted and their requests recorded.
func (s *EgressServer) RefuseStreams(refuse bool) {
	s.mu.Lock()
	s.refuse = refuse
	s.notifyLocked()
	s.mu.Unlock()
}

// Restart stops the gRPC server, closing every connection, and starts a
// new one on the same address: Suspend followed by Resume.
func (s *EgressServer) Restart() error {
	if err := s.Suspend(); err != nil {
		return err
	}
	return s.Resume()
}

// Suspend stops the gRPC server as a crash would: the listener and every
// connection are closed, so new connections are refused until Resume.
// Address, queue, requests and counters are kept. Suspending a suspended
// server does nothing; it fails after Stop.
func (s *EgressServer) Suspend() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return errors.New("testhelpers: egress server is stopped")
	}
	srv := s.srv
	s.srv = nil
	s.down = true
	s.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
	s.serveWG.Wait()
	return nil
}

// Resume starts a suspended server again on the same address. It does
// nothing when the server is running, and fails after Stop or when the
// address cannot be had again.
func (s *EgressServer) Resume() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return errors.New("testhelpers: egress server is stopped")
	}
	if !s.down {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	var lis net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port can take a moment to be free again
		lis, err = net.Listen("tcp", s.addr)
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("testhelpers: egress server restart on %s: %w", s.addr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || !s.down {
		lis.Close()
		if s.stopped {
			return errors.New("testhelpers: egress server is stopped")
		}
		return nil
	}
	s.down = false
	s.serveLocked(lis)
	return nil
}

// Stop closes the listener and every connection and waits for the
// server's goroutines to end. It is idempotent.
func (s *EgressServer) Stop() {
	s.mu.Lock()
	s.stopped = true
	srv := s.srv
	s.srv = nil
	s.notifyLocked()
	s.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
	s.serveWG.Wait()
}

func (s *EgressServer) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// open records an attempt and registers a stream, or reports refusal.
func (s *EgressServer) open(batchReq *loggregator_v2.EgressBatchRequest, req *loggregator_v2.EgressRequest) (*egressStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if batchReq != nil {
		s.requests = append(s.requests, proto.Clone(batchReq).(*loggregator_v2.EgressBatchRequest))
	}
	if req != nil {
		s.rxReqs = append(s.rxReqs, proto.Clone(req).(*loggregator_v2.EgressRequest))
	}
	defer s.notifyLocked()
	if s.refuse {
		return nil, status.Error(codes.Unavailable, "testhelpers: stream refused")
	}
	st := &egressStream{drop: make(chan struct{}), span: len(s.spans)}
	s.spans = append(s.spans, StreamSpan{Opened: time.Now()})
	if s.endNew {
		s.spans[st.span].Closed = time.Now()
		st.clean = true
		close(st.drop)
		return st, nil
	}
	s.streams[st] = struct{}{}
	return st, nil
}

func (s *EgressServer) close(st *egressStream) {
	s.mu.Lock()
	if _, ok := s.streams[st]; ok {
		delete(s.streams, st)
		s.spans[st.span].Closed = time.Now()
	}
	s.notifyLocked()
	s.mu.Unlock()
}

var errDropped = status.Error(codes.Unavailable, "testhelpers: stream dropped")

// take waits for a queued item and claims one send of it.
func (s *EgressServer) take(ctx context.Context, st *egressStream) (*egressItem, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			it := s.queue[0]
			s.queue = s.queue[1:]
			s.notifyLocked()
			s.mu.Unlock()
			return it, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-st.drop:
			return nil, errDropped
		case <-ch:
		}
	}
}

// giveBack puts the unsent rest of an item back at the queue's front.
func (s *EgressServer) giveBack(it *egressItem) {
	if it.repeat < 1 {
		return
	}
	s.mu.Lock()
	s.queue = append([]*egressItem{it}, s.queue...)
	s.notifyLocked()
	s.mu.Unlock()
}

// serve sends queued items on one stream until it breaks or is dropped or
// ended.
func (s *EgressServer) serve(ctx context.Context, st *egressStream, send func(*egressItem) error) error {
	defer s.close(st)
	for {
		it, err := s.take(ctx, st)
		if err == errDropped && st.clean {
			return nil
		}
		if err != nil {
			return err
		}
		for it.repeat > 0 {
			select {
			case <-st.drop:
				s.giveBack(it)
				if st.clean {
					return nil
				}
				return errDropped
			default:
			}
			if err := send(it); err != nil {
				s.giveBack(it)
				return err
			}
			it.repeat--
		}
	}
}

type egressService struct {
	loggregator_v2.UnimplementedEgressServer
	s *EgressServer
}

func (e *egressService) BatchedReceiver(req *loggregator_v2.EgressBatchRequest, stream loggregator_v2.Egress_BatchedReceiverServer) error {
	st, err := e.s.open(req, nil)
	if err != nil {
		return err
	}
	return e.s.serve(stream.Context(), st, func(it *egressItem) error {
		return stream.SendMsg(rawBatch(it.raw))
	})
}

func (e *egressService) Receiver(req *loggregator_v2.EgressRequest, stream loggregator_v2.Egress_ReceiverServer) error {
	st, err := e.s.open(nil, req)
	if err != nil {
		return err
	}
	return e.s.serve(stream.Context(), st, func(it *egressItem) error {
		for _, env := range it.envs {
			if err := stream.Send(env); err != nil {
				return err
			}
		}
		return nil
	})
}

// rawBatch is an already encoded EnvelopeBatch.
type rawBatch []byte

// rawBatchCodec is the proto codec, except that a rawBatch is written as
// is instead of being encoded again.
type rawBatchCodec struct{}

func (rawBatchCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(rawBatch); ok {
		return mem.BufferSlice{mem.SliceBuffer(r)}, nil
	}
	return encoding.GetCodecV2("proto").Marshal(v)
}

func (rawBatchCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return encoding.GetCodecV2("proto").Unmarshal(data, v)
}

func (rawBatchCodec) Name() string { return "proto" }
