// Package certs writes a throw-away certificate authority with one server
// and one client certificate, for mutual TLS on loopback: the test servers
// in testhelpers and the `loggregator dev` command use it.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ServerNames are the DNS names in every server certificate: the names the
// library's TLS helpers expect (metron for ingress, reverselogproxy for
// egress) and localhost. The certificate also covers 127.0.0.1 and ::1.
var ServerNames = []string{"metron", "reverselogproxy", "localhost"}

// File names written by Generate inside its directory.
const (
	CAFile         = "ca.crt"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
	ClientCertFile = "client.crt"
	ClientKeyFile  = "client.key"
)

// Set is a generated CA with its server and client key pairs, both in
// memory and as PEM files in Dir.
type Set struct {
	Dir    string
	CAPool *x509.CertPool
	Server tls.Certificate
	Client tls.Certificate
}

// Path returns the path of one of the files named by the *File constants.
func (s *Set) Path(name string) string { return filepath.Join(s.Dir, name) }

// ServerTLSConfig returns a server configuration that presents the server
// certificate and requires a client certificate signed by the CA.
func (s *Set) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.Server},
		ClientCAs:    s.CAPool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientTLSConfig returns a client configuration that presents the client
// certificate and trusts the CA, verifying the server as serverName.
func (s *Set) ClientTLSConfig(serverName string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.Client},
		RootCAs:      s.CAPool,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
	}
}

// Generate creates dir if needed and writes a new CA, server and client
// certificate (ECDSA P-256, valid from one hour ago until validFor from
// now) into it. Private keys are written with mode 0600.
func Generate(dir string, validFor time.Duration) (*Set, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: create %s: %w", dir, err)
	}
	notBefore := time.Now().Add(-time.Hour)
	notAfter := notBefore.Add(validFor + time.Hour)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: CA key: %w", err)
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "go-loggregator test CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("certs: CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("certs: parse CA: %w", err)
	}
	if err := writePEM(filepath.Join(dir, CAFile), "CERTIFICATE", caDER, 0o644); err != nil {
		return nil, err
	}

	set := &Set{Dir: dir, CAPool: x509.NewCertPool()}
	set.CAPool.AddCert(caCert)

	leaf := func(cn string, usage x509.ExtKeyUsage, certFile, keyFile string, withSANs bool) (tls.Certificate, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("certs: %s key: %w", cn, err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    notBefore,
			NotAfter:     notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if withSANs {
			tmpl.DNSNames = ServerNames
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("certs: %s certificate: %w", cn, err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("certs: %s key encoding: %w", cn, err)
		}
		if err := writePEM(filepath.Join(dir, certFile), "CERTIFICATE", der, 0o644); err != nil {
			return tls.Certificate{}, err
		}
		if err := writePEM(filepath.Join(dir, keyFile), "PRIVATE KEY", keyDER, 0o600); err != nil {
			return tls.Certificate{}, err
		}
		return tls.X509KeyPair(
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		)
	}
	if set.Server, err = leaf("metron", x509.ExtKeyUsageServerAuth, ServerCertFile, ServerKeyFile, true); err != nil {
		return nil, err
	}
	if set.Client, err = leaf("go-loggregator client", x509.ExtKeyUsageClientAuth, ClientCertFile, ClientKeyFile, false); err != nil {
		return nil, err
	}
	return set, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func writePEM(path, blockType string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	return nil
}
