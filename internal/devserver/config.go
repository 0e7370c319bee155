package devserver

import (
	"fmt"
	"log"
	"net"
	"time"
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

// DefaultBufferSize is the per-subscriber buffer, in envelopes.
const DefaultBufferSize = 10000

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
