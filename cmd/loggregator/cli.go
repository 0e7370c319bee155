package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

const usage = `loggregator: a local Loggregator for developing with go-loggregator

Usage:
  loggregator dev     [flags]   run ingress (v2 gRPC, v1 UDP) and egress (gRPC, RLP gateway) on loopback
  loggregator tail    [flags]   print envelopes from gRPC egress or an RLP gateway
  loggregator emit    <log|counter|gauge|timer|event> [flags]   send envelopes to v2 ingress
  loggregator demo              start dev in-process, emit, tail back, print, exit

dev, tail and emit take --stats: a line of the server's or the client's
statistics on stderr every --stats-interval (default 5s) and once at exit.

Run "loggregator <subcommand> --help" for the flags of each subcommand.
`

// run is the whole command: it dispatches to a subcommand with a context
// cancelled on SIGINT or SIGTERM and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The --stats goroutine writes to stderr while the command does.
	stderr = &lockedWriter{w: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "tail":
		return runTail(ctx, args[1:], stdout, stderr)
	case "emit":
		return runEmit(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "loggregator: unknown subcommand %q; want dev, tail, emit or demo (see loggregator --help)\n", args[0])
	return 2
}

// newFlagSet returns a flag set whose errors are reported by parseFlags.
func newFlagSet(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: %s\n\nFlags:\n", synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args. On -h, -help or --help it prints the usage once
// (fs.Usage) and returns (0, false); on a bad flag it prints one line to
// stderr, nothing to stdout, and returns (2, false). The flag package
// calls fs.Usage itself in both cases, so it is silenced during Parse.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err == nil {
		return 0, true
	}
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return 0, false
	}
	return usageError(stderr, fs.Name(), err.Error()), false
}

// usageError prints a one-line reason and returns exit status 2.
func usageError(stderr io.Writer, name, reason string) int {
	fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", name, reason, name)
	return 2
}

// defaultCertDir is where dev writes its certificates and where emit and
// tail look for them.
func defaultCertDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "go-loggregator", "dev")
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
