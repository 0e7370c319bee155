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
// opts...). The connection starts in the background: an agent that is not
// running yet is not an error, only invalid configuration is (unless
// WithDialOptions includes grpc.WithBlock).
//
// EmitLog, EmitGauge, EmitCounter, EmitTimer and Emit are safe for
// concurrent use. Each encodes its envelope into a buffer bounded in
// envelopes (DefaultIngressBufferSize, WithBufferSize) and in bytes
// (DefaultIngressBufferBytes, WithBufferBytes) and returns. The rule when
// the buffer is full is this: while the agent is accepting data, Emit
// waits for room, so a burst of any size to a healthy agent loses
// nothing; it never waits longer than DefaultIngressMaxEmitWait (1 s,
// WithMaxEmitWait), and WithDropWhenFull makes it never wait at all. When
// the agent is down, unreachable or failing TLS, or a wait ran out without
// the agent accepting anything, Emit does not wait: it drops the oldest
// waiting envelopes (or, if none can go, the new one) at once, counts them
// and reports them, until the agent accepts data again. Dropped counts
// every drop, WithDropHandler hears of them off the caller's goroutine,
// and the WithLogger logger reports them at a bounded rate. Envelopes
// larger than MaxIngressEnvelopeSize, the agent's limit, are dropped at
// Emit as invalid. EmitEvent is the exception to all this: a synchronous
// unary Send on the caller's context that returns the RPC's error.
//
// One goroutine sends the buffer in batches (WithBatchMaxSize envelopes or
// WithBatchFlushInterval) on a BatchSender stream. As the agent confirms a
// stream only when it ends, the client closes and replaces its stream
// once an eighth of the buffer was sent on it or after 250 ms, and
// releases a batch only once its stream was answered cleanly (the agent's
// usual Unknown "EOF" included). When a stream breaks, its unconfirmed batches are sent again
// on the next one, so the agent may receive some envelopes twice; a batch
// that fails MaxBatchSendAttempts times is dropped and counted. Every step
// of sending is bounded by WithSendTimeout (DefaultIngressSendTimeout), so
// a hung agent costs a failed attempt, not a wedged client. gRPC
// reconnects the connection every DefaultIngressReconnectDelay (±20%)
// while the agent is away, and after a reconnect the client replays what
// it buffered at a rate that starts at 1,000 envelopes/s and doubles every
// 500 ms, so that a restarted agent's 10,000-envelope queue does not
// overrun.
//
// CloseSend sends everything still buffered, waits for the agent to
// confirm it and closes the client's gRPC connection. It returns nil when
// every envelope accepted by an Emit call was confirmed by the agent or
// counted in Dropped. Otherwise it gives up after WithCloseTimeout
// (DefaultIngressCloseTimeout), when the WithContext context ends, or
// within a second when the agent is unreachable (a certificate it does not
// trust, for example), and returns an error naming the cause and the
// number of envelopes not delivered, which are counted as dropped. A
// second call returns ErrIngressClientClosed.
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
// Failed streams are re-opened without stacking two backoffs: while the
// server is away, gRPC reconnects every EnvelopeStreamRetryDelay growing to
// EnvelopeStreamMaxRetryDelay (300 ms to 500 ms, ±20%), and a stream opens
// the moment the connection is back, so data flows again within about half
// a second of a restart. On a working connection a stream that lived
// EnvelopeStreamHealthyAfter is replaced at once when it ends (the RLP's
// routine close, a GOAWAY); streams that keep failing young are spaced by
// the same delays. Each failure is logged; the request is sent unchanged
// and envelopes arrive in order. Each server message is decoded in batches
// of about EnvelopeStreamMaxBatchBytes of estimated decoded size. By
// default nothing is dropped: the stream decodes at most a few batches
// ahead of the caller and lets gRPC flow control slow the server.
// WithEnvelopeStreamBuffer instead drops the oldest batches when the caller
// falls behind (the buffer is bounded in batches and, by
// WithEnvelopeStreamBufferBytes, in bytes) and reports the number of
// dropped batches to the alerter, as the original does.
// OneToOneEnvelopeBatch is the go-diodes ring buffer for one writer and
// one reader that never blocks the writer.
//
// # Reading envelopes over HTTP (RLPGatewayClient)
//
// RLPGatewayClient reads the same envelopes from the RLP gateway, the HTTP
// front of the Reverse Log Proxy, as Server-Sent Events. Every request goes
// through the configured Doer, so a Doer that adds an Authorization header
// authenticates the stream. Failed requests are retried with one backoff
// (250 ms growing to 800 ms, ±20%) until the context ends, unless
// WithRLPGatewayMaxRetries sets a limit; a stream the gateway ends cleanly
// or with its closing event is re-opened at once, but never sooner than one
// second after the previous request started, so a draining gateway sees no
// storm of requests. Envelopes come out in the order the gateway sent them;
// at most DefaultRLPGatewayBufferEnvelopes envelopes
// (DefaultRLPGatewayBufferBytes) are decoded ahead of the caller, and the
// client stops reading from the gateway while the caller falls behind.
// Malformed or oversized events are logged, counted (SkippedEvents) and
// skipped without dropping the connection.
//
// # Tests
//
// The testhelpers package runs real in-process servers (ingress, egress
// and RLP gateway) with a throw-away certificate authority, for tests of
// programs that use this package.
package loggregator
