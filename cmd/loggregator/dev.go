package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("loggregator dev", "loggregator dev [flags]\n\nRuns a local Loggregator on loopback until interrupted (Ctrl-C) and prints\nthe environment variables that emit, tail and the examples read.", stdout)
	cfg := devserver.Config{}
	fs.StringVar(&cfg.IngressAddr, "ingress-addr", devserver.DefaultIngressAddr, "v2 gRPC ingress `address` (mutual TLS); empty disables")
	fs.StringVar(&cfg.UDPAddr, "v1-addr", devserver.DefaultUDPAddr, "v1 dropsonde UDP ingress `address`; empty disables")
	fs.StringVar(&cfg.EgressAddr, "egress-addr", devserver.DefaultEgressAddr, "gRPC egress `address` (mutual TLS); empty disables")
	fs.StringVar(&cfg.GatewayAddr, "gateway-addr", devserver.DefaultGatewayAddr, "RLP gateway HTTP `address` (GET /v2/read); empty disables")
	fs.StringVar(&cfg.CertDir, "cert-dir", defaultCertDir(), "`directory` for the CA and certificates (reused when valid)")
	fs.BoolVar(&cfg.GatewayTLS, "gateway-tls", false, "serve the gateway over HTTPS with the server certificate")
	fs.StringVar(&cfg.GatewayToken, "gateway-token", "", "require \"Authorization: Bearer `TOKEN`\" (scheme in any case) on the gateway (default: accept any)")
	fs.IntVar(&cfg.BufferSize, "buffer", devserver.DefaultBufferSize, "per-subscriber buffer in `envelopes`; a full buffer drops")
	fs.IntVar(&cfg.BufferBytes, "buffer-bytes", devserver.DefaultBufferBytes, "per-subscriber buffer in `bytes` (decoded size estimate); a full buffer drops")
	fs.DurationVar(&cfg.GatewayWriteTimeout, "gateway-write-timeout", devserver.DefaultGatewayWriteTimeout, "drop a gateway subscriber when one write takes longer than `duration` (negative: never)")
	quiet := fs.Bool("quiet", false, "do not log subscriber connections and drops")
	sf := addStatsFlags(fs, "the server's")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := sf.validate(); err != nil {
		return usageError(stderr, fs.Name(), err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fs.Name(), fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	for _, a := range []*string{&cfg.IngressAddr, &cfg.UDPAddr, &cfg.EgressAddr, &cfg.GatewayAddr} {
		if *a == "" {
			continue
		}
		if _, err := devserver.LoopbackAddr(*a); err != nil {
			return usageError(stderr, fs.Name(), err.Error())
		}
	}
	if !*quiet {
		cfg.Logger = log.New(stderr, "dev: ", log.LstdFlags)
	}
	s, err := devserver.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loggregator dev: %v\n", err)
		return 1
	}
	defer s.Close()
	printDevBanner(stdout, s)
	rep := startStats(sf, stderr, "dev", func(time.Time) []statsField { return devStatsFields(s.Stats()) })
	<-ctx.Done()
	s.Close()
	rep.finish()
	st := s.Stats()
	fmt.Fprintf(stdout, "\nstopped: received %d v2 and %d v1 envelopes (%d invalid v1 datagrams), dropped %d for slow subscribers and %d over the 4 MiB egress limit, disconnected %d dead gateway readers\n",
		st.V2Received, st.V1Received, st.V1Invalid, st.Dropped, st.EgressOversized, st.GatewayWriteTimeouts)
	return 0
}

func printDevBanner(w io.Writer, s *devserver.Server) {
	a := s.Addrs()
	verb := "reusing"
	if s.GeneratedCerts() {
		verb = "generated"
	}
	fmt.Fprintf(w, "loggregator dev: %s certificates in %s\n", verb, s.Certs().Dir)
	line := func(name, addr string) {
		if addr != "" {
			fmt.Fprintf(w, "  %-28s %s\n", name, addr)
		}
	}
	line("v2 gRPC ingress (mTLS)", a.Ingress)
	line("v1 dropsonde UDP ingress", a.UDP)
	line("gRPC egress (mTLS)", a.Egress)
	line("RLP gateway", a.GatewayURL)
	fmt.Fprintln(w, "\nenvironment for the examples (paste into another shell):")
	for _, kv := range s.Env() {
		fmt.Fprintf(w, "  export %s\n", kv)
	}
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}
