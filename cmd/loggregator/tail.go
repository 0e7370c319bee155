package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/internal/certs"
	"code.cloudfoundry.org/go-loggregator/internal/devserver"
	"code.cloudfoundry.org/go-loggregator/internal/rlpquery"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

type tailOptions struct {
	gateway, token, addr string
	ca, cert, key        string
	certDir              string
	insecure             bool
	sourceIDs, types     listFlag
	shardID              string
	json                 bool
	count                int
	verbose              bool
}

func runTail(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("loggregator tail", "loggregator tail [flags]\n\nPrints envelopes from gRPC egress (--addr, default: the dev server's) or from\nan RLP gateway (--gateway URL), one line each, until interrupted.", stdout)
	var o tailOptions
	fs.StringVar(&o.gateway, "gateway", "", "RLP gateway `URL` (e.g. http://127.0.0.1:8088); reads gRPC egress when empty")
	fs.StringVar(&o.token, "token", "", "token for the gateway's Authorization header (default $CF_TOKEN)")
	fs.BoolVar(&o.insecure, "skip-tls-verify", false, "do not verify the gateway's certificate")
	fs.StringVar(&o.addr, "addr", devserver.DefaultEgressAddr, "gRPC egress `address`")
	fs.StringVar(&o.certDir, "cert-dir", defaultCertDir(), "`directory` with the dev certificates (default for --ca/--cert/--key)")
	fs.StringVar(&o.ca, "ca", "", "CA certificate `file` (default <cert-dir>/ca.crt; also trusted for an https gateway)")
	fs.StringVar(&o.cert, "cert", "", "client certificate `file` (default <cert-dir>/client.crt)")
	fs.StringVar(&o.key, "key", "", "client key `file` (default <cert-dir>/client.key)")
	fs.Var(&o.sourceIDs, "source-id", "only envelopes of this source `id` (repeatable; default all)")
	fs.Var(&o.types, "type", "envelope `kind`: log, counter, gauge, timer or event (repeatable; default all)")
	fs.StringVar(&o.shardID, "shard-id", "", "shard `id`: tails with the same id share the stream")
	fs.BoolVar(&o.json, "json", false, "print each envelope as one line of the gateway's JSON")
	fs.IntVar(&o.count, "count", 0, "exit after `n` envelopes (0: run until interrupted)")
	fs.BoolVar(&o.verbose, "v", false, "log connection errors to stderr")
	sf := addStatsFlags(fs, "the client's (EnvelopeStreamConnector or RLPGatewayClient)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := sf.validate(); err != nil {
		return usageError(stderr, fs.Name(), err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fs.Name(), fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	req, err := tailRequest(o)
	if err != nil {
		return usageError(stderr, fs.Name(), err.Error())
	}
	if o.count < 0 {
		return usageError(stderr, fs.Name(), "--count must be 0 or more")
	}
	o.ca, o.cert, o.key = certPaths(o.certDir, o.ca, o.cert, o.key)

	// Streams end with the command, also when --count ends it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stream loggregator.EnvelopeStream
	var snap func(time.Time) []statsField
	if o.gateway != "" {
		u, err := url.Parse(o.gateway)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError(stderr, fs.Name(), fmt.Sprintf("--gateway %q: want a URL like http://127.0.0.1:8088", o.gateway))
		}
		if o.token == "" {
			o.token = os.Getenv("CF_TOKEN")
		}
		c := newGatewayClient(ctx, o, stderr)
		stream = c.Stream(ctx, req)
		snap = func(now time.Time) []statsField { return gatewayStatsFields(c.Stats(), now) }
	} else {
		tlsConf, err := loggregator.NewEgressTLSConfig(o.ca, o.cert, o.key)
		if err != nil {
			fmt.Fprintf(stderr, "loggregator tail: %v (run `loggregator dev` first, or pass --ca, --cert and --key)\n", err)
			return 1
		}
		var opts []loggregator.EnvelopeStreamOption
		if o.verbose {
			opts = append(opts, loggregator.WithEnvelopeStreamLogger(log.New(stderr, "tail: ", log.LstdFlags)))
		}
		req.UsePreferredTags = true
		c := loggregator.NewEnvelopeStreamConnector(o.addr, tlsConf, opts...)
		stream = c.Stream(ctx, req)
		snap = func(now time.Time) []statsField { return streamStatsFields(c.Stats(), now) }
	}
	rep := startStats(sf, stderr, "tail", snap)
	code := printStream(ctx, stream, o, stdout)
	rep.finish()
	return code
}

// printStream prints envelopes until ctx ends or o.count were printed.
func printStream(ctx context.Context, stream loggregator.EnvelopeStream, o tailOptions, stdout io.Writer) int {
	w := bufio.NewWriterSize(stdout, 64<<10)
	defer w.Flush()
	var line []byte
	n := 0
	for ctx.Err() == nil {
		envs := stream()
		for _, e := range envs {
			if o.json {
				line = appendJSON(line[:0], e)
			} else {
				line = appendReadable(line[:0], e)
			}
			if _, err := w.Write(line); err != nil {
				return 1
			}
			n++
			if o.count > 0 && n >= o.count {
				return 0
			}
		}
		if err := w.Flush(); err != nil {
			return 1
		}
	}
	return 0
}

// tailRequest builds the request from the selector flags: the cross
// product of source ids and kinds, like the gateway does.
func tailRequest(o tailOptions) (*loggregator_v2.EgressBatchRequest, error) {
	kinds := []string(o.types)
	if len(kinds) == 0 {
		kinds = []string{"log", "counter", "gauge", "timer", "event"}
	}
	sources := []string(o.sourceIDs)
	if len(sources) == 0 {
		sources = []string{""}
	}
	req := &loggregator_v2.EgressBatchRequest{ShardId: o.shardID}
	for _, src := range sources {
		for _, k := range kinds {
			sel, ok := rlpquery.KindSelector(src, strings.ToLower(k))
			if !ok {
				return nil, fmt.Errorf("--type %q: want log, counter, gauge, timer or event", k)
			}
			req.Selectors = append(req.Selectors, sel)
		}
	}
	return req, nil
}

// certPaths fills empty certificate paths from dir.
func certPaths(dir, ca, cert, key string) (string, string, string) {
	if ca == "" {
		ca = filepath.Join(dir, certs.CAFile)
	}
	if cert == "" {
		cert = filepath.Join(dir, certs.ClientCertFile)
	}
	if key == "" {
		key = filepath.Join(dir, certs.ClientKeyFile)
	}
	return ca, cert, key
}

// gatewayTLS trusts the system roots plus the CA file when it exists.
func gatewayTLS(o tailOptions) *tls.Config {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.insecure} //nolint:gosec // opt-in flag
	if pem, err := os.ReadFile(o.ca); err == nil {
		if pool, err := systemPoolWith(pem); err == nil {
			conf.RootCAs = pool
		}
	}
	return conf
}
