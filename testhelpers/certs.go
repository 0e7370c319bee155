package testhelpers

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/certs"
)

// Certs is a throw-away certificate authority with a server and a client
// certificate, as PEM files in Dir and as ready TLS configurations. The
// server certificate is valid for the names "metron", "reverselogproxy"
// and "localhost" and the addresses 127.0.0.1 and ::1, so it satisfies both
// loggregator.NewIngressTLSConfig and loggregator.NewEgressTLSConfig.
type Certs struct {
	// Dir is the directory holding the files below.
	Dir string
	// CAFile is the PEM file of the CA certificate.
	CAFile string
	// ServerCertFile and ServerKeyFile are the server key pair.
	ServerCertFile, ServerKeyFile string
	// ClientCertFile and ClientKeyFile are the client key pair.
	ClientCertFile, ClientKeyFile string

	set *certs.Set
}

// TB is the part of testing.TB that NewCerts uses.
type TB interface {
	Helper()
	TempDir() string
	Fatalf(format string, args ...any)
}

// GenerateCerts writes a new CA, server and client certificate into dir
// (created if missing), valid for one day.
func GenerateCerts(dir string) (*Certs, error) {
	set, err := certs.Generate(dir, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	return &Certs{
		Dir:            dir,
		CAFile:         set.Path(certs.CAFile),
		ServerCertFile: set.Path(certs.ServerCertFile),
		ServerKeyFile:  set.Path(certs.ServerKeyFile),
		ClientCertFile: set.Path(certs.ClientCertFile),
		ClientKeyFile:  set.Path(certs.ClientKeyFile),
		set:            set,
	}, nil
}

// NewCerts generates certificates into t.TempDir(), failing the test on error.
func NewCerts(t TB) *Certs {
	t.Helper()
	c, err := GenerateCerts(t.TempDir())
	if err != nil {
		t.Fatalf("testhelpers: %v", err)
	}
	return c
}

// NewTempCerts generates certificates into a new temporary directory and
// returns a function that removes it; for programs (such as examples) that
// have no testing.T.
func NewTempCerts() (*Certs, func(), error) {
	dir, err := os.MkdirTemp("", "go-loggregator-certs-")
	if err != nil {
		return nil, nil, fmt.Errorf("testhelpers: %w", err)
	}
	c, err := GenerateCerts(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return c, func() { os.RemoveAll(dir) }, nil
}

// CAPool returns a pool holding only the CA certificate.
func (c *Certs) CAPool() *x509.CertPool { return c.set.CAPool }

// ServerTLSConfig returns a server configuration that presents the server
// certificate and requires client certificates signed by the CA.
func (c *Certs) ServerTLSConfig() *tls.Config { return c.set.ServerTLSConfig() }

// ClientTLSConfig returns a client configuration that presents the client
// certificate and trusts the CA, verifying the server as serverName
// ("metron", "reverselogproxy" or "localhost").
func (c *Certs) ClientTLSConfig(serverName string) *tls.Config {
	return c.set.ClientTLSConfig(serverName)
}
