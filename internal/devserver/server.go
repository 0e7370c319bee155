package devserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"code.cloudfoundry.org/go-loggregator/internal/certs"
	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Server is a running dev server. Create it with New.
type Server struct {
	cfg       Config
	certs     *certs.Set
	generated bool
	router    *router.Router

	addrs Addrs

	ingressGRPC *grpc.Server
	egressGRPC  *grpc.Server
	udp         net.PacketConn
	httpServer  *http.Server
	cancel      context.CancelFunc

	wg        sync.WaitGroup
	closeOnce sync.Once

	v2Received           atomic.Uint64
	v1Received           atomic.Uint64
	v1Invalid            atomic.Uint64
	egressOversized      atomic.Uint64
	gatewayWriteTimeouts atomic.Uint64
}

// Addrs are the addresses a Server listens on; empty for disabled
// listeners.
type Addrs struct {
	Ingress, UDP, Egress, Gateway string
	// GatewayURL is the gateway's base URL (http:// or https://).
	GatewayURL string
}

// Stats are counters of a running server.
type Stats struct {
	// V2Received counts envelopes received on gRPC ingress.
	V2Received uint64
	// V1Received counts v1 datagrams accepted; V1Invalid those dropped as
	// undecodable or with a payload not matching their event type.
	V1Received, V1Invalid uint64
	// Subscribers is the number of connected egress subscribers.
	Subscribers int
	// Dropped counts envelopes dropped for slow subscribers (buffer full
	// in envelopes or in bytes).
	Dropped uint64
	// EgressOversized counts envelopes dropped by gRPC egress because
	// their message would exceed gRPC's default 4 MiB receive limit.
	EgressOversized uint64
	// GatewayWriteTimeouts counts gateway subscribers disconnected
	// because a write did not complete within Config.GatewayWriteTimeout.
	GatewayWriteTimeouts uint64
}

// New loads or generates certificates, opens every configured listener and
// starts serving. On error nothing is left running.
func New(cfg Config) (*Server, error) {
	cfg.withDefaults()
	set, generated, err := LoadOrGenerateCerts(cfg.CertDir)
	if err != nil {
		return nil, fmt.Errorf("certificates in %q: %w", cfg.CertDir, err)
	}
	s := &Server{cfg: cfg, certs: set, generated: generated, router: router.New(cfg.Logger)}
	if err := s.listen(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) listen() error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	var (
		ingressLis, egressLis, gatewayLis net.Listener
		err                               error
	)
	open := func(name, addr string) (net.Listener, error) {
		if addr == "" {
			return nil, nil
		}
		a, err := LoopbackAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (is another dev server running? choose a port with the flag)", name, err)
		}
		return l, nil
	}
	if ingressLis, err = open("v2 ingress", s.cfg.IngressAddr); err != nil {
		return err
	}
	if egressLis, err = open("gRPC egress", s.cfg.EgressAddr); err != nil {
		closeAll(ingressLis)
		return err
	}
	if gatewayLis, err = open("gateway", s.cfg.GatewayAddr); err != nil {
		closeAll(ingressLis, egressLis)
		return err
	}
	if s.cfg.UDPAddr != "" {
		a, err := LoopbackAddr(s.cfg.UDPAddr)
		if err == nil {
			s.udp, err = net.ListenPacket("udp", a)
		}
		if err != nil {
			closeAll(ingressLis, egressLis, gatewayLis)
			return fmt.Errorf("v1 UDP ingress: %w", err)
		}
		s.addrs.UDP = s.udp.LocalAddr().String()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveUDP(s.udp)
		}()
	}

	creds := credentials.NewTLS(s.certs.ServerTLSConfig())
	if ingressLis != nil {
		s.ingressGRPC = grpc.NewServer(grpc.Creds(creds), grpc.WaitForHandlers(true))
		loggregator_v2.RegisterIngressServer(s.ingressGRPC, &ingress{router: s.router, received: &s.v2Received})
		s.addrs.Ingress = ingressLis.Addr().String()
		s.serve(func() { _ = s.ingressGRPC.Serve(ingressLis) })
	}
	if egressLis != nil {
		s.egressGRPC = grpc.NewServer(grpc.Creds(creds), grpc.WaitForHandlers(true))
		loggregator_v2.RegisterEgressServer(s.egressGRPC, &egress{s: s})
		s.addrs.Egress = egressLis.Addr().String()
		s.serve(func() { _ = s.egressGRPC.Serve(egressLis) })
	}
	if gatewayLis != nil {
		s.httpServer = &http.Server{
			Handler:           s,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		}
		s.addrs.Gateway = gatewayLis.Addr().String()
		s.addrs.GatewayURL = "http://" + s.addrs.Gateway
		if s.cfg.GatewayTLS {
			tc := &tls.Config{Certificates: []tls.Certificate{s.certs.Server}, MinVersion: tls.VersionTLS12}
			gatewayLis = tls.NewListener(gatewayLis, tc)
			s.addrs.GatewayURL = "https://" + s.addrs.Gateway
		}
		s.serve(func() {
			if err := s.httpServer.Serve(gatewayLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.logf("gateway: %v", err)
			}
		})
	}
	return nil
}

func closeAll(ls ...net.Listener) {
	for _, l := range ls {
		if l != nil {
			_ = l.Close()
		}
	}
}

func (s *Server) serve(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logger != nil {
		s.cfg.Logger.Printf(format, args...)
	}
}

// Addrs returns the listening addresses (with the ports actually chosen).
func (s *Server) Addrs() Addrs { return s.addrs }

// Certs returns the certificates in use.
func (s *Server) Certs() *certs.Set { return s.certs }

// GeneratedCerts reports whether New generated the certificates (rather
// than reusing those in the directory).
func (s *Server) GeneratedCerts() bool { return s.generated }

// Router returns the server's router.
func (s *Server) Router() *router.Router { return s.router }

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		V2Received:  s.v2Received.Load(),
		V1Received:  s.v1Received.Load(),
		V1Invalid:   s.v1Invalid.Load(),
		Subscribers: s.router.Subscriptions(),
		Dropped:     s.router.Dropped(),

		EgressOversized:      s.egressOversized.Load(),
		GatewayWriteTimeouts: s.gatewayWriteTimeouts.Load(),
	}
}

// Env returns the environment variables (NAME=value) that the examples and
// the loggregator command read, in a fixed order.
func (s *Server) Env() []string {
	env := []string{
		"CA_CERT_PATH=" + s.certs.Path(certs.CAFile),
		"CERT_PATH=" + s.certs.Path(certs.ClientCertFile),
		"KEY_PATH=" + s.certs.Path(certs.ClientKeyFile),
	}
	if s.addrs.Ingress != "" {
		env = append(env, "INGRESS_ADDR="+s.addrs.Ingress)
	}
	if s.addrs.UDP != "" {
		env = append(env, "DROPSONDE_DESTINATION="+s.addrs.UDP)
	}
	if s.addrs.Egress != "" {
		env = append(env, "LOGS_API_ADDR="+s.addrs.Egress)
	}
	if s.addrs.GatewayURL != "" {
		env = append(env, "LOG_STREAM_ADDR="+s.addrs.GatewayURL)
	}
	return env
}

// Close stops every listener, ends every stream and waits for all the
// server's goroutines. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.router.Close()
		if s.udp != nil {
			_ = s.udp.Close()
		}
		if s.ingressGRPC != nil {
			s.ingressGRPC.Stop()
		}
		if s.egressGRPC != nil {
			s.egressGRPC.Stop()
		}
		if s.httpServer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.httpServer.Shutdown(ctx); err != nil {
				_ = s.httpServer.Close()
			}
			cancel()
		}
		s.wg.Wait()
	})
}
