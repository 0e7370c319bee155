package devserver

import (
	"fmt"
	"log"
	"net"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/router"
)

// Default addresses of the listeners, the ports Loggregator uses.
const (
	DefaultIngressAddr = "127.0.0.1:3458"
	DefaultUDPAddr     = "127.0.0.1:3457"
	DefaultEgressAddr  = "127.0.0.1:8082"
	DefaultGatewayAddr = "127.0.0.1:8088"
)

// Gateway timing defaults, those of the real RLP gateway.
const (
	DefaultHeartbeatInterval = 15 * time.Second
	DefaultStreamTimeout     = 14 * time.Minute
)

// Per-subscriber buffer defaults: a subscriber that does not keep up
// holds at most DefaultBufferSize envelopes and DefaultBufferBytes (each
// envelope counted by router.Size, an estimate of its decoded memory);
// what does not fit is dropped and counted.
const (
	DefaultBufferSize  = router.DefaultBufferSize
	DefaultBufferBytes = router.DefaultBufferBytes
)

// DefaultGatewayWriteTimeout is how long one write of the gateway to a
// subscriber may take before the subscriber is considered dead, dropped
// and counted (Stats.GatewayWriteTimeouts).
const DefaultGatewayWriteTimeout = 10 * time.Second

// DefaultCertValidity is how long generated certificates are valid.
const DefaultCertValidity = 30 * 24 * time.Hour

// Config configures a Server. Zero values take the defaults noted per field.
type Config struct {
	// IngressAddr, UDPAddr, EgressAddr and GatewayAddr are the listen
	// addresses. An empty address disables that listener. The host must be
	// a loopback address or "localhost"; an empty host (":0") means
	// 127.0.0.1. Port 0 picks a free port (see Server.Addrs).
	IngressAddr, UDPAddr, EgressAddr, GatewayAddr string

	// CertDir holds the CA and the server and client key pairs
	// (internal/certs file names). Required.
	CertDir string

	// GatewayTLS serves the gateway over HTTPS with the server
	// certificate (no client certificate required).
	GatewayTLS bool

	// GatewayToken, when set, makes the gateway require the header
	// "Authorization: Bearer <token>": the scheme in any letter case, at
	// least one space, then the token, compared in constant time
	// (gateway.CheckBearer). Anything else gets 404 not_found, as from the
	// real gateway. Empty accepts every request.
	GatewayToken string

	// BufferSize is each subscriber's buffer in envelopes
	// (DefaultBufferSize when zero or less).
	BufferSize int

	// BufferBytes is each subscriber's buffer in bytes, envelopes counted
	// by router.Size, an estimate of their decoded memory
	// (DefaultBufferBytes when zero or less). An empty buffer accepts one
	// envelope whatever its size.
	//
	// Memory bound: a subscriber that stops reading pins at most
	// BufferBytes in its buffer plus what its sender took but could not
	// write. For gRPC egress that is one batch (at most 1 MiB) in decoded
	// form and two encoded messages: BufferBytes + 3 MiB, or
	// BufferBytes + 3.25 x E when an envelope of E > 1 MiB is in flight
	// (E is at most 4 MiB, gRPC ingress's limit). For the gateway it is one
	// chunk of at most 256 KiB (or one larger envelope) and its JSON:
	// BufferBytes + 7 x max(256 KiB, E), until GatewayWriteTimeout drops
	// the subscriber and frees it all. With the defaults and envelopes up
	// to 1 MiB: 19 MiB per gRPC and under 18 MiB per gateway subscriber.
	// Envelopes held by several subscribers are shared, not copied, so
	// the total is usually far lower than the sum.
	BufferBytes int

	// GatewayWriteTimeout bounds each write of a gateway response (a batch
	// of frames, a heartbeat or the closing event) through
	// http.ResponseController.SetWriteDeadline. A subscriber whose write
	// does not complete in time (a dead or stalled reader) is
	// disconnected, logged and counted in Stats.GatewayWriteTimeouts.
	// Zero means DefaultGatewayWriteTimeout; negative means no deadline.
	GatewayWriteTimeout time.Duration

	// HeartbeatInterval is the gateway's silence before a heartbeat event
	// (DefaultHeartbeatInterval when zero or less).
	HeartbeatInterval time.Duration

	// StreamTimeout ends each gateway response with the closing event
	// (DefaultStreamTimeout when zero or less).
	StreamTimeout time.Duration

	// Logger receives connection and drop reports. Nil discards them.
	Logger *log.Logger
}

func (c *Config) withDefaults() {
	if c.BufferSize <= 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.GatewayWriteTimeout == 0 {
		c.GatewayWriteTimeout = DefaultGatewayWriteTimeout
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.StreamTimeout <= 0 {
		c.StreamTimeout = DefaultStreamTimeout
	}
}

// LoopbackAddr checks that addr is a host:port on loopback and returns it
// with an empty host replaced by 127.0.0.1.
func LoopbackAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: want host:port, e.g. 127.0.0.1:3458 or :0", addr)
	}
	switch host {
	case "":
		host = "127.0.0.1"
	case "localhost":
	default:
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("address %q: dev listens on loopback only; use 127.0.0.1, ::1 or localhost", addr)
		}
	}
	return net.JoinHostPort(host, port), nil
}
