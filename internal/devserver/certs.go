package devserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/certs"
)

// LoadOrGenerateCerts returns the certificates in dir when all five files
// are present, match the CA and stay valid for at least another day;
// otherwise it generates new ones there, valid for DefaultCertValidity.
// Reusing them lets clients started against an earlier run keep working.
func LoadOrGenerateCerts(dir string) (set *certs.Set, generated bool, err error) {
	if dir == "" {
		return nil, false, errors.New("no certificate directory given")
	}
	if set, err := loadCerts(dir); err == nil {
		return set, false, nil
	}
	set, err = certs.Generate(dir, DefaultCertValidity)
	if err != nil {
		return nil, false, err
	}
	return set, true, nil
}

func loadCerts(dir string) (*certs.Set, error) {
	set := &certs.Set{Dir: dir, CAPool: x509.NewCertPool()}
	caPEM, err := os.ReadFile(set.Path(certs.CAFile))
	if err != nil {
		return nil, err
	}
	if !set.CAPool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no certificate", set.Path(certs.CAFile))
	}
	if set.Server, err = tls.LoadX509KeyPair(set.Path(certs.ServerCertFile), set.Path(certs.ServerKeyFile)); err != nil {
		return nil, err
	}
	if set.Client, err = tls.LoadX509KeyPair(set.Path(certs.ClientCertFile), set.Path(certs.ClientKeyFile)); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(24 * time.Hour)
	for _, pair := range []tls.Certificate{set.Server, set.Client} {
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, err
		}
		if leaf.NotAfter.Before(deadline) {
			return nil, errors.New("certificate expires soon")
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: set.CAPool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: deadline}); err != nil {
			return nil, err
		}
	}
	return set, nil
}
