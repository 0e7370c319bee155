package main

import (
	"crypto/rand"
	"crypto/rsa"
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

// The real servers offer only ECDHE-RSA cipher suites for TLS 1.2, and the
// library's own generator (internal/certs) writes ECDSA keys with fixed
// names, so the suite writes its own RSA authority here.

// keyPair names the PEM files of one certificate and its key.
type keyPair struct {
	Cert, Key string
}

// authority is a throw-away CA that signs leaf certificates into dir.
type authority struct {
	dir     string
	caFile  string
	cert    *x509.Certificate
	key     *rsa.PrivateKey
	expires time.Time
}

// newAuthority writes a new RSA CA certificate called name+".crt" into dir.
func newAuthority(dir, name string) (*authority, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("certs: %s key: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serialNumber(),
		Subject:               pkix.Name{CommonName: "go-loggregator interop " + name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: %s certificate: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse %s: %w", name, err)
	}
	a := &authority{dir: dir, caFile: filepath.Join(dir, name+".crt"), cert: cert, key: key, expires: tmpl.NotAfter}
	if err := writePEMFile(a.caFile, "CERTIFICATE", der, 0o644); err != nil {
		return nil, err
	}
	return a, nil
}

// issue writes an RSA leaf certificate with common name cn, valid for the
// DNS names cn and localhost and the address 127.0.0.1, for server and
// client use, as <file>.crt and <file>.key.
func (a *authority) issue(file, cn string) (keyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return keyPair{}, fmt.Errorf("certs: %s key: %w", cn, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     a.expires,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{cn, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("certs: %s certificate: %w", cn, err)
	}
	kp := keyPair{Cert: filepath.Join(a.dir, file+".crt"), Key: filepath.Join(a.dir, file+".key")}
	if err := writePEMFile(kp.Cert, "CERTIFICATE", der, 0o644); err != nil {
		return keyPair{}, err
	}
	if err := writePEMFile(kp.Key, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), 0o600); err != nil {
		return keyPair{}, err
	}
	return kp, nil
}

// pki holds every certificate the suite uses.
type pki struct {
	ca       *authority
	otherCA  *authority // signs nothing the servers trust: the "wrong CA" case
	agent    keyPair    // metron
	router   keyPair    // doppler
	rlp      keyPair    // reverselogproxy
	gateway  keyPair    // the gateway's HTTPS, its client cert for CC, and the stubs
	client   keyPair    // our library clients
	ccServer keyPair    // the stub Cloud Controller (LOG_ACCESS_COMMON_NAME)
}

const ccCommonName = "cloud-controller-ng.service.cf.internal"

func newPKI(dir string) (*pki, error) {
	ca, err := newAuthority(dir, "ca")
	if err != nil {
		return nil, err
	}
	other, err := newAuthority(dir, "other-ca")
	if err != nil {
		return nil, err
	}
	p := &pki{ca: ca, otherCA: other}
	for _, l := range []struct {
		dst      *keyPair
		file, cn string
	}{
		{&p.agent, "agent", "metron"},
		{&p.router, "router", "doppler"},
		{&p.rlp, "rlp", "reverselogproxy"},
		{&p.gateway, "gateway", "localhost"},
		{&p.client, "client", "interop-client"},
		{&p.ccServer, "cc", ccCommonName},
	} {
		if *l.dst, err = ca.issue(l.file, l.cn); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func serialNumber() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func writePEMFile(path, blockType string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	return nil
}
