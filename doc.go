// Package loggregator provides clients to send data to the Loggregator v1
// and v2 API.
//
// The v2 API distinguishes itself from the v1 API on three counts:
//
// 1) it uses gRPC, 2) it uses a streaming connection, and 3) it supports
// batching to improve performance.
//
// The code here provides a generic interface into the two APIs. Clients who
// prefer more fine grained control may use the generated protobuf types and
// gRPC stubs in the rpc/loggregator_v2 package directly.
//
// Note that on account of the client using batching wherein multiple
// messages may be sent at once, there is no meaningful error return value
// available. Each of the methods below make a best-effort at message
// delivery. Even in the event of a failed send, the client will not block
// callers.
//
// In general, use IngressClient for communicating with Loggregator's v2 API.
// For Loggregator's v1 API, see the v1 package.
//
// # Emitting envelopes (IngressClient)
//
// IngressClient sends envelopes to a Loggregator agent over the v2 gRPC
// API. Build its TLS configuration with NewIngressTLSConfig(caPath,
// certPath, keyPath) and create it with NewIngressClient(tlsConfig,
// opts...). The connection is made lazily: an agent that is not running yet
// is not an error, only invalid configuration is.
//
// EmitLog, EmitGauge, EmitCounter, EmitTimer and Emit are safe for
// concurrent use and never block: each encodes its envelope into a bounded
// buffer (DefaultIngressBufferSize envelopes, see WithBufferSize) and
// returns at once, whatever the agent does. One goroutine sends the buffer
// in batches on a long-lived BatchSender stream when a batch reaches
// WithBatchMaxSize envelopes or WithBatchFlushInterval elapses; it reopens a
// broken stream with exponential backoff and jitter and retries the batch
// that failed. Envelopes that find the buffer full, or come after
// CloseSend, are dropped: Dropped counts them, WithDropHandler hears of
// them off the caller's goroutine, and the WithLogger logger reports them
// at a bounded rate. EmitEvent is the exception: a synchronous unary Send
// on the caller's context that returns the RPC's error.
//
// CloseSend delivers everything still buffered, closes the stream, waits
// for the agent to acknowledge it and closes the client's gRPC connection;
// it returns nil when everything was delivered. When the agent is
// unreachable or stalled it gives up after WithCloseTimeout
// (DefaultIngressCloseTimeout) or when the WithContext context ends, and
// returns an error saying how many envelopes were not delivered. A second
// call returns ErrIngressClientClosed.
//
// The Emit options (WithSourceInfo, WithGaugeValue, WithEnvelopeTag, ...)
// edit a v2 envelope, or the v1 client's envelopes; applied to any other
// message, or to an envelope of another kind, they do nothing.
//
// # Reading envelopes over gRPC (EnvelopeStreamConnector)
//
// EnvelopeStreamConnector reads envelopes from Loggregator's v2 egress API
// (the Reverse Log Proxy) over gRPC with mutual TLS. Each call to Stream
// opens its own connection for the life of its context and returns an
// EnvelopeStream: a function that blocks until the next batch arrives and
// returns nil once the context is done, when the connection is closed.
// Failed streams are re-opened with exponential backoff and jitter (about
// 100 ms doubling to 5 s, reset after a healthy stream) and each failure is
// logged; the request is sent unchanged and envelopes arrive in order. By
// default nothing is dropped; WithEnvelopeStreamBuffer instead drops the
// oldest batches when the caller falls behind and reports the lost
// envelopes to an alerter. OneToOneEnvelopeBatch is the go-diodes ring
// buffer for one writer and one reader that never blocks the writer.
//
// # Reading envelopes over HTTP (RLPGatewayClient)
//
// RLPGatewayClient reads the same envelopes from the RLP gateway, the HTTP
// front of the Reverse Log Proxy, as Server-Sent Events. Every request goes
// through the configured Doer, so a Doer that adds an Authorization header
// authenticates the stream. Stream reconnects with the same backoff until
// its context ends, after errors, non-200 answers and the gateway's closing
// event alike; envelopes come out in the order the gateway sent them, and
// malformed or oversized events are logged and skipped without dropping
// the connection.
//
// # Tests
//
// The testhelpers package runs real in-process servers (ingress, egress
// and RLP gateway) with a throw-away certificate authority, for tests of
// programs that use this package.
package loggregator
