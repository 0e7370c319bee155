package testhelpers_test

import (
	"crypto/tls"
	"testing"

	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func TestCertsHandshake(t *testing.T) {
	c := testhelpers.NewCerts(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.ServerTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		done <- conn.(*tls.Conn).Handshake()
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), c.ClientTLSConfig("metron"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
}
