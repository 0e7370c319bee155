package main

import (
	"context"
	"crypto/x509"
	"io"
	"log"
	"net/http"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// tokenDoer adds the Authorization header the gateway expects.
type tokenDoer struct {
	client *http.Client
	token  string
}

func (d tokenDoer) Do(req *http.Request) (*http.Response, error) {
	if d.token != "" {
		req.Header.Set("Authorization", "bearer "+d.token)
	}
	return d.client.Do(req)
}

func gatewayStream(ctx context.Context, o tailOptions, req *loggregator_v2.EgressBatchRequest, stderr io.Writer) (loggregator.EnvelopeStream, error) {
	return newGatewayClient(ctx, o, stderr).Stream(ctx, req), nil
}

// newGatewayClient returns a client for o.gateway whose idle connections
// are closed when ctx ends.
func newGatewayClient(ctx context.Context, o tailOptions, stderr io.Writer) *loggregator.RLPGatewayClient {
	tr := &http.Transport{TLSClientConfig: gatewayTLS(o), ForceAttemptHTTP2: true}
	go func() {
		<-ctx.Done()
		tr.CloseIdleConnections()
	}()
	out := io.Discard
	if o.verbose {
		out = stderr
	}
	return loggregator.NewRLPGatewayClient(o.gateway,
		loggregator.WithRLPGatewayHTTPClient(tokenDoer{client: &http.Client{Transport: tr}, token: o.token}),
		loggregator.WithRLPGatewayClientLogger(log.New(out, "tail: ", log.LstdFlags)),
	)
}

func systemPoolWith(pem []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	return pool, nil
}
