// Package loggregator_v2 holds the Loggregator v2 wire types and gRPC
// service stubs (protobuf package loggregator.v2): Envelope and its payloads,
// EnvelopeBatch, the Ingress service that agents expose to emitters, and the
// Egress service that the Reverse Log Proxy exposes to consumers.
//
// The Go code in the *.pb.go files is generated from the .proto files in
// this folder; `go generate ./rpc/...` recreates it exactly (see generate.sh
// for the pinned tool versions). Field numbers and JSON names follow the
// original loggregator-api schema byte for byte.
//
// One file is hand-written: syslog.go adds Envelope.Syslog, which renders an
// envelope as RFC 5424 syslog messages, and its SyslogOptions.
//
// Beware the name clash with the root package: the root package's
// IngressClient is the batching emitter most programs want, while this
// package's IngressClient is the raw generated gRPC client interface.
package loggregator_v2

//go:generate ./generate.sh
