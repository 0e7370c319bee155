package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("loggregator demo", "loggregator demo\n\nStarts the dev server in-process on free loopback ports with certificates in a\ntemporary directory, emits envelopes of every kind over v2 gRPC and v1 UDP,\nreads them back through gRPC egress and the RLP gateway, prints them and exits.", stdout)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fs.Name(), fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	dir, err := os.MkdirTemp("", "loggregator-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "loggregator demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := devserver.New(devserver.Config{
		IngressAddr: "127.0.0.1:0", UDPAddr: "127.0.0.1:0", EgressAddr: "127.0.0.1:0", GatewayAddr: "127.0.0.1:0",
		CertDir: dir,
	})
	if err != nil {
		fmt.Fprintf(stderr, "loggregator demo: %v\n", err)
		return 1
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := demo(ctx, s, stdout); err != nil {
		fmt.Fprintf(stderr, "loggregator demo: %v\n", err)
		return 1
	}
	return 0
}
