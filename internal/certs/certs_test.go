package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGenerateWritesVerifiableChain(t *testing.T) {
	set, err := Generate(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(set.Path(name))
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(data); b == nil {
				t.Fatalf("%s holds no PEM block", name)
			}
		})
	}
	if _, err := tls.LoadX509KeyPair(set.Path(ServerCertFile), set.Path(ServerKeyFile)); err != nil {
		t.Fatalf("server pair from files: %v", err)
	}
	leaf, err := x509.ParseCertificate(set.Server.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ServerNames {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: set.CAPool}); err != nil {
			t.Errorf("server certificate for %q: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: set.CAPool}); err != nil {
		t.Errorf("server certificate for 127.0.0.1: %v", err)
	}
	client, err := x509.ParseCertificate(set.Client.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: set.CAPool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	other, err := Generate(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "metron", Roots: other.CAPool}); err == nil {
		t.Error("server certificate verified against another CA")
	}
}
