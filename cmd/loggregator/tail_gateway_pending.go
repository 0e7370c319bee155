//go:build !rlpgateway

package main

import (
	"context"
	"crypto/x509"
	"errors"
	"io"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// gatewayStream is unavailable until the root package's RLPGatewayClient
// lands; tail_gateway.go (build tag rlpgateway) holds the real one.
func gatewayStream(context.Context, tailOptions, *loggregator_v2.EgressBatchRequest, io.Writer) (loggregator.EnvelopeStream, error) {
	return nil, errors.New("--gateway is not available in this build yet (RLPGatewayClient pending); use gRPC egress (--addr)")
}

func systemPoolWith(pem []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool, nil
}
