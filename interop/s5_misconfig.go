package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

const s5StreamFor = 3 * time.Second

func scenarioMisconfig(ctx context.Context, e *env) result {
	var b strings.Builder
	pass := true
	report := func(name string, ok bool, figures string) {
		status := "ok"
		if !ok {
			status = "FAILED"
			pass = false
		}
		fmt.Fprintf(&b, "[%s %s] %s; ", name, status, figures)
	}

	caPool, err := loadPool(e.k.ca.caFile)
	if err != nil {
		return result{false, err.Error()}
	}
	wrongCA := func(server string) (*tls.Config, error) {
		if server == loggregator.IngressServerName {
			return loggregator.NewIngressTLSConfig(e.k.otherCA.caFile, e.k.client.Cert, e.k.client.Key)
		}
		return loggregator.NewEgressTLSConfig(e.k.otherCA.caFile, e.k.client.Cert, e.k.client.Key)
	}
	noClientCert := func(server string) (*tls.Config, error) {
		return &tls.Config{RootCAs: caPool, ServerName: server, MinVersion: tls.VersionTLS12}, nil
	}

	for _, c := range []struct {
		name string
		cfg  func(server string) (*tls.Config, error)
	}{{"wrong CA", wrongCA}, {"no client certificate", noClientCert}} {
		cfg, err := c.cfg(loggregator.IngressServerName)
		if err != nil {
			report("ingress, "+c.name, false, err.Error())
			continue
		}
		ok, figures := misconfiguredIngress(ctx, e, cfg)
		report("ingress, "+c.name, ok, figures)

		if cfg, err = c.cfg(loggregator.EgressServerName); err != nil {
			report("connector, "+c.name, false, err.Error())
			continue
		}
		ok, figures = misconfiguredConnector(ctx, e, cfg)
		report("connector, "+c.name, ok, figures)
	}

	for _, c := range []struct {
		name, token, caFile string
	}{
		{"bad token", "not-a-valid-token", e.k.ca.caFile},
		{"no token", "", e.k.ca.caFile},
		{"wrong CA", userToken, e.k.otherCA.caFile},
	} {
		ok, figures := misconfiguredGateway(ctx, e, c.token, c.caFile)
		report("gateway, "+c.name, ok, figures)
	}
	return result{pass, strings.TrimSuffix(b.String(), "; ") + "; no panic"}
}

func loadPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in " + caFile)
	}
	return p, nil
}

// misconfiguredIngress emits with a TLS configuration the agent refuses:
// EmitEvent must return an error, CloseSend must end within its timeout
// and report the undelivered envelopes.
func misconfiguredIngress(ctx context.Context, e *env, cfg *tls.Config) (bool, string) {
	logger := &captureLogger{}
	client, err := loggregator.NewIngressClient(cfg, loggregator.WithAddr(e.c.agentAddr), loggregator.WithLogger(logger))
	if err != nil {
		return true, "NewIngressClient: " + err.Error()
	}
	for i := range 100 {
		client.EmitLog(fmt.Sprintf("misconfigured %d", i))
	}
	ectx, cancel := context.WithTimeout(ctx, 3*time.Second)
	evStart := time.Now()
	evErr := client.EmitEvent(ectx, "misconfigured", "body")
	evDur := time.Since(evStart)
	cancel()
	start := time.Now()
	closeErr := client.CloseSend()
	closeDur := time.Since(start)
	ok := evErr != nil && closeErr != nil && closeDur <= loggregator.DefaultIngressCloseTimeout+time.Second
	return ok, fmt.Sprintf("EmitEvent after %s: %q; CloseSend %s: %q; Dropped %d; first log line: %q",
		ms(evDur), errText(evErr), ms(closeDur), errText(closeErr), client.Dropped(), short(logger.first(), 220))
}

// misconfiguredConnector streams with a TLS configuration the RLP refuses:
// nothing arrives, the failure is logged, and the stream ends promptly
// when its context does.
func misconfiguredConnector(ctx context.Context, e *env, cfg *tls.Config) (bool, string) {
	logger := &captureLogger{}
	dials := &dialCounter{}
	conn := loggregator.NewEnvelopeStreamConnector(e.c.rlpAddr, cfg,
		loggregator.WithEnvelopeStreamLogger(logger),
		loggregator.WithEnvelopeStreamConnectorDialOptions(dials.option()))
	sctx, cancel := context.WithCancel(ctx)
	got := 0
	done := collect(conn.Stream(sctx, logRequest(newGUID())), func(_ time.Time, b []*loggregator_v2.Envelope) { got += len(b) })
	sleepCtx(ctx, s5StreamFor)
	cancel()
	start := time.Now()
	<-done
	endDur := time.Since(start)
	lines := logger.snapshot()
	ok := got == 0 && len(lines) > 0 && endDur < time.Second
	return ok, fmt.Sprintf("%d envelopes, %d dials and %d log lines in %s, stream ended %s after cancel; first log line: %q",
		got, dials.n.Load(), len(lines), secs(s5StreamFor), ms(endDur), short(logger.first(), 220))
}

// misconfiguredGateway streams from the gateway with a bad or missing
// token, or an untrusted certificate: nothing arrives, the error names the
// cause, and the stream ends promptly when its context does.
func misconfiguredGateway(ctx context.Context, e *env, token, caFile string) (bool, string) {
	doer, err := e.gatewayDoer(caFile, token)
	if err != nil {
		return false, err.Error()
	}
	errs := make(chan error, 100)
	lw := &lineWriter{}
	gw := e.newGatewayClient(doer, logWriter(lw), errs)
	sid := newGUID()
	e.stubs.allow(sid)
	sctx, cancel := context.WithCancel(ctx)
	got := 0
	done := collect(gw.Stream(sctx, logRequest(sid)), func(_ time.Time, b []*loggregator_v2.Envelope) { got += len(b) })
	sleepCtx(ctx, s5StreamFor)
	cancel()
	start := time.Now()
	<-done
	endDur := time.Since(start)
	// As in v8, individual failures go to the logger only; the error
	// channel carries just the final give-up, which an unlimited client
	// never reaches, so it must stay empty.
	lines := lw.snapshot()
	ok := got == 0 && len(lines) > 0 && len(errs) == 0 && endDur < time.Second
	return ok, fmt.Sprintf("%d envelopes, %d requests in %s, stream ended %s after cancel; %d errors on the channel; first log line: %q",
		got, doer.requests.Load(), secs(s5StreamFor), ms(endDur), len(errs), short(lw.first(), 260))
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
