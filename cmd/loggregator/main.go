// Command loggregator is a development tool for go-loggregator: a local
// Loggregator stand-in (dev), a stream reader (tail), an envelope sender
// (emit) and a self-contained demonstration (demo). Run
// `loggregator <subcommand> --help` for details.
//
// With --stats, dev, tail and emit print their statistics on stderr every
// --stats-interval (default 5s) and once at exit: dev its own counters,
// tail those of its EnvelopeStreamConnector or RLPGatewayClient, emit
// those of its IngressClient (see the Stats methods of go-loggregator).
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
