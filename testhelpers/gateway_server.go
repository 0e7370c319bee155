package testhelpers

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"code.cloudfoundry.org/go-loggregator/internal/gateway"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// DefaultGatewayQueueSize is how many frames a GatewayServer holds for
// its streams before Send blocks.
const DefaultGatewayQueueSize = 4096

// GatewayServer is an in-process RLP gateway: an HTTP server on 127.0.0.1
// (HTTPS with WithGatewayTLS) serving GET /v2/read with the real gateway's
// framing, JSON and error answers (see loggregator.RLPGatewayClient).
//
// The query is parsed as the gateway does; a bad one is answered with the
// gateway's 400 body, another method with 405, another path with a plain
// 404, and, with WithGatewayToken, a wrong Authorization with 404
// not_found. A valid request gets an event stream: every frame queued with
// Send, SendBatch or SendRaw goes to exactly one open stream (frames wait
// in the queue while none is open), a heartbeat follows each silence of
// the heartbeat interval, and the stream ends with a closing event after
// the stream timeout. Stream selectors do not filter what is sent.
//
// The server records every request and can be told to answer every
// request with an error status, to drop its open streams, to close them
// with a closing event, to restart on the same address, and to stop (as a
// gateway that is away) and start again on the same address.
//
// All methods are safe for concurrent use. Close must be called to release
// the listener, connections and goroutines.
type GatewayServer struct {
	cfg    gatewayServerConfig
	frames chan []byte

	mu        sync.Mutex
	addr      string
	srv       *http.Server
	serveDone chan struct{}
	closed    bool
	status    int
	requests  []GatewayRequest
	streams   map[*gatewayStream]struct{}
}

// GatewayRequest is a request received by a GatewayServer.
type GatewayRequest struct {
	// Method is the HTTP method.
	Method string
	// URL is the request URI as sent (path and raw query).
	URL string
	// Header is a copy of the request headers.
	Header http.Header
	// Request is the query as the gateway understood it, or nil when the
	// query was rejected.
	Request *loggregator_v2.EgressBatchRequest
	// Time is when the request arrived.
	Time time.Time
}

// GatewayServerOption configures a GatewayServer.
type GatewayServerOption func(*gatewayServerConfig)

type gatewayServerConfig struct {
	certs     *Certs
	token     string
	heartbeat time.Duration
	timeout   time.Duration
	queue     int
}

// WithGatewayTLS makes the server speak HTTPS (HTTP/2 or HTTP/1.1, like
// the real gateway) with the server certificate of c. Clients need no
// certificate; they must trust c's CA (see GatewayServer.HTTPClient).
func WithGatewayTLS(c *Certs) GatewayServerOption {
	return func(cfg *gatewayServerConfig) { cfg.certs = c }
}

// WithGatewayToken makes the server require the header
// "Authorization: bearer <token>": the scheme in any case ("bearer", as the
// cf CLI sends it, or "Bearer"), then at least one space, then the token
// (surrounding spaces ignored), compared in constant time. Other requests,
// including a bare token, get 404 not_found, as the real gateway answers
// an unauthorised one. By default any request is authorized.
func WithGatewayToken(token string) GatewayServerOption {
	return func(cfg *gatewayServerConfig) { cfg.token = token }
}

// WithGatewayHeartbeat sets the silence after which a heartbeat event is
// sent (default 15 s, like the real gateway; negative disables heartbeats).
func WithGatewayHeartbeat(d time.Duration) GatewayServerOption {
	return func(cfg *gatewayServerConfig) { cfg.heartbeat = d }
}

// WithGatewayStreamTimeout sets how long a stream lasts before the server
// sends a closing event and ends it (default 14 min, like the real
// gateway; negative means never).
func WithGatewayStreamTimeout(d time.Duration) GatewayServerOption {
	return func(cfg *gatewayServerConfig) { cfg.timeout = d }
}

// WithGatewayQueueSize sets how many frames wait for a stream before Send
// blocks (default DefaultGatewayQueueSize; values below 1 mean the
// default).
func WithGatewayQueueSize(n int) GatewayServerOption {
	return func(cfg *gatewayServerConfig) { cfg.queue = n }
}

type gatewayStream struct {
	cancel  context.CancelFunc
	closing chan struct{}
	closed  bool // closing was closed
	dropped bool
}

// NewGatewayServer starts a gateway on 127.0.0.1 with an ephemeral port.
func NewGatewayServer(opts ...GatewayServerOption) (*GatewayServer, error) {
	var cfg gatewayServerConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.queue < 1 {
		cfg.queue = DefaultGatewayQueueSize
	}
	s := &GatewayServer{
		cfg:     cfg,
		frames:  make(chan []byte, cfg.queue),
		addr:    "127.0.0.1:0",
		streams: make(map[*gatewayStream]struct{}),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.startLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// startLocked listens on s.addr and serves.
func (s *GatewayServer) startLocked() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	if s.cfg.certs != nil {
		tc := s.cfg.certs.ServerTLSConfig()
		tc.ClientAuth = tls.NoClientCert
		tc.ClientCAs = nil
		srv.TLSConfig = tc
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s.cfg.certs != nil {
			_ = srv.ServeTLS(ln, "", "")
		} else {
			_ = srv.Serve(ln)
		}
	}()
	s.srv, s.serveDone = srv, done
	return nil
}

// URL returns the base URL to give to loggregator.NewRLPGatewayClient,
// such as "http://127.0.0.1:34567" or "https://127.0.0.1:34567".
func (s *GatewayServer) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.certs != nil {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// HTTPClient returns a new HTTP client that trusts the server (its CA with
// WithGatewayTLS). Call its CloseIdleConnections when done with it.
func (s *GatewayServer) HTTPClient() *http.Client {
	tr := &http.Transport{ForceAttemptHTTP2: true}
	if s.cfg.certs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.cfg.certs.CAPool(), MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}
}

var gatewayJSON = protojson.MarshalOptions{EmitUnpopulated: true}

// Send queues envs as one data frame (one EnvelopeBatch), encoded as the
// gateway does: protojson with unpopulated fields emitted, on one line. It
// blocks while the queue is full and returns an error only when the batch
// cannot be encoded (strings that are not valid UTF-8) or the server is
// closed.
func (s *GatewayServer) Send(envs ...*loggregator_v2.Envelope) error {
	return s.SendBatch(&loggregator_v2.EnvelopeBatch{Batch: envs})
}

// SendBatch queues b as one data frame, like Send.
func (s *GatewayServer) SendBatch(b *loggregator_v2.EnvelopeBatch) error {
	js, err := gatewayJSON.Marshal(b)
	if err != nil {
		return err
	}
	return s.SendRaw(gateway.AppendData(nil, js))
}

// SendRaw queues raw bytes to be written as they are to one stream, for
// tests of malformed or unusual streams. It blocks while the queue is
// full.
func (s *GatewayServer) SendRaw(frame []byte) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("testhelpers: gateway server closed")
	}
	s.frames <- frame
	return nil
}

// Queued returns how many frames wait for a stream.
func (s *GatewayServer) Queued() int { return len(s.frames) }

// Requests returns a copy of every request received so far, in order.
func (s *GatewayServer) Requests() []GatewayRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]GatewayRequest(nil), s.requests...)
}

// OpenStreams returns how many event streams are open.
func (s *GatewayServer) OpenStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// SetStatus makes the server answer every request with status and the
// real gateway's body for it (400 empty_query, 404 not_found, 405
// method_not_allowed, 500 streaming_unsupported, 503
// streaming_unavailable; other codes get a body of the same form). Zero or
// 200 restores normal answers. Open streams are not affected.
func (s *GatewayServer) SetStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == http.StatusOK {
		status = 0
	}
	s.status = status
}

// DropConnections ends every open stream abruptly, without a closing event:
// over HTTP/1.1 the connection is closed in the middle of the response
// (the client sees an unexpected EOF); over HTTP/2 the stream ends.
func (s *GatewayServer) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		st.dropped = true
		st.cancel()
	}
}

// EndStreams ends every open stream cleanly without a closing event, as
// the real gateway does when its upstream stream fails.
func (s *GatewayServer) EndStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		st.cancel()
	}
}

// SendClosing makes every open stream send the closing event and end, as
// when the gateway's stream timeout elapses.
func (s *GatewayServer) SendClosing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		if !st.closed {
			st.closed = true
			close(st.closing)
		}
	}
}

// Stop closes the listener and every connection, as a gateway that goes
// away: requests fail (connection refused) until Start. The address and
// the queued frames are kept. Stopping a stopped server does nothing.
func (s *GatewayServer) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("testhelpers: gateway server closed")
	}
	s.stopLocked()
	return nil
}

// Start listens again on the server's address after Stop. Starting a
// running server does nothing. It fails when the address has been taken
// in the meantime.
func (s *GatewayServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("testhelpers: gateway server closed")
	}
	if s.srv != nil {
		return nil
	}
	return s.startLocked()
}

// Restart closes the listener and every connection, then listens again on
// the same address. Queued frames are kept.
func (s *GatewayServer) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("testhelpers: gateway server closed")
	}
	s.stopLocked()
	return s.startLocked()
}

// Close stops the server, its connections and goroutines. It is
// idempotent.
func (s *GatewayServer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.stopLocked()
}

func (s *GatewayServer) stopLocked() {
	if s.srv == nil {
		return
	}
	for st := range s.streams {
		st.cancel()
	}
	_ = s.srv.Close()
	// Handlers may be waiting for s.mu; wait for Serve to return without
	// holding it.
	done := s.serveDone
	s.mu.Unlock()
	<-done
	s.mu.Lock()
	s.srv = nil
}

func (s *GatewayServer) handle(w http.ResponseWriter, r *http.Request) {
	rec := GatewayRequest{Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Time: time.Now()}
	if r.URL.Path != gateway.Path {
		s.record(rec)
		http.NotFound(w, r)
		return
	}
	req, gerr := gateway.ParseRequest(r)
	rec.Request = req
	status := s.record(rec)
	if s.cfg.token != "" && !bearerTokenMatches(r.Header.Get("Authorization"), s.cfg.token) {
		gateway.WriteError(w, gateway.ErrNotFound)
		return
	}
	if status != 0 {
		gateway.WriteError(w, gateway.ErrorForStatus(status))
		return
	}
	if gerr != nil {
		gateway.WriteError(w, *gerr)
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st := &gatewayStream{cancel: cancel, closing: make(chan struct{})}
	s.mu.Lock()
	if s.closed || s.srv == nil {
		s.mu.Unlock()
		gateway.WriteError(w, gateway.ErrStreamingUnavailable)
		return
	}
	s.streams[st] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, st)
		s.mu.Unlock()
	}()

	stream, err := gateway.StartStream(w)
	if err != nil {
		return
	}
	end, _ := gateway.Serve(ctx, stream, s.frames, st.closing, gateway.Config{Heartbeat: s.cfg.heartbeat, StreamTimeout: s.cfg.timeout})
	s.mu.Lock()
	dropped := st.dropped
	s.mu.Unlock()
	if end == gateway.EndContext && dropped {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

// bearerTokenMatches reports whether an Authorization header value is
// "bearer <token>": the scheme case-insensitively, a space, and the token
// (surrounding spaces ignored), compared in constant time.
func bearerTokenMatches(header, token string) bool {
	scheme, tok, ok := strings.Cut(strings.TrimLeft(header, " "), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return false
	}
	tok = strings.Trim(tok, " ")
	return subtle.ConstantTimeCompare([]byte(tok), []byte(token)) == 1
}

// record stores a request and returns the status override in effect.
func (s *GatewayServer) record(rec GatewayRequest) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	return s.status
}
