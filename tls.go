package loggregator

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Server names the TLS helpers verify the server certificate against.
const (
	// IngressServerName is the name the Loggregator agent's certificate
	// carries; NewIngressTLSConfig verifies against it.
	IngressServerName = "metron"
	// EgressServerName is the name the Reverse Log Proxy's certificate
	// carries; NewEgressTLSConfig verifies against it.
	EgressServerName = "reverselogproxy"
)

// NewIngressTLSConfig provides a convenient means for creating a *tls.Config
// which uses the CA, cert, and key for the ingress endpoint.
//
// The configuration presents the key pair as client certificate, trusts
// only the CA bundle and verifies the server as "metron". It requires TLS
// 1.2 or later (the original set no minimum). Errors wrap the cause
// (errors.Is works) and use the wording of v8 and later: "failed to load
// keypair: ...".
func NewIngressTLSConfig(caPath, certPath, keyPath string) (*tls.Config, error) {
	return newTLSConfig(caPath, certPath, keyPath, IngressServerName)
}

// NewEgressTLSConfig provides a convenient means for creating a *tls.Config
// which uses the CA, cert, and key for the egress endpoint.
//
// The configuration presents the key pair as client certificate, trusts
// only the CA bundle and verifies the server as "reverselogproxy". It
// requires TLS 1.2 or later. Errors wrap the cause (errors.Is works) and
// use the wording of v8 and later: "failed to load keypair: ...".
func NewEgressTLSConfig(caPath, certPath, keyPath string) (*tls.Config, error) {
	return newTLSConfig(caPath, certPath, keyPath, EgressServerName)
}

func newTLSConfig(caPath, certPath, keyPath, serverName string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			// The error names the file already; the text is then exactly
			// that of v8 and later.
			return nil, fmt.Errorf("failed to load keypair: %w", err)
		}
		return nil, fmt.Errorf("failed to load keypair (cert %q, key %q): %w", certPath, keyPath, err)
	}
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("failed to read certificate(s) at path %q: %w", caPath, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("cannot parse ca cert %q: no PEM certificate found", caPath)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
