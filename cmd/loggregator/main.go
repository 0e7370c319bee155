// Command loggregator is a development tool for go-loggregator: a local
// Loggregator stand-in (dev), a stream reader (tail), an envelope sender
// (emit) and a self-contained demonstration (demo). Run
// `loggregator <subcommand> --help` for details.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
