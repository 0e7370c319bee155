// Package v1 provides a client to connect with the loggregator v1 API.
//
// Loggregator's v1 client library is better known to the Cloud Foundry
// community as Dropsonde (github.com/cloudfoundry/dropsonde). A Client
// builds sonde-go events.Envelope values from the root package's Emit
// options and hands each one to dropsonde.DefaultEmitter, which writes it
// as one UDP datagram (protobuf binary, no framing) to the Loggregator
// agent.
//
// # Set-up
//
// The client does not open sockets itself. Call dropsonde.Initialize once
// (before or after NewClient, but before emitting), for example:
//
//	if err := dropsonde.Initialize("127.0.0.1:3457", "my-job"); err != nil {
//		log.Fatal(err)
//	}
//	client, _ := v1.NewClient(v1.WithTag("deployment", "prod"))
//	client.EmitLog("hello", loggregator.WithStdout())
//
// dropsonde.Initialize is process-global: it also starts dropsonde's own
// runtime statistics emitter and metric batcher (goroutines that never
// stop) and wraps http.DefaultTransport with an instrumented round tripper.
// The emitter's origin is read on every emit and written into every
// envelope.
//
// # Without dropsonde.Initialize
//
// If dropsonde has not been initialised (its DefaultEmitter is nil, the
// null emitter, or any emitter reporting an empty origin), nothing is sent.
// Instead of dropping silently, the client counts every such envelope in
// Dropped and reports the problem on its logger: the first time, then at
// most once per UninitializedLogInterval, with the number of envelopes
// dropped so far. The original dropped these envelopes without a word.
//
// # Envelopes
//
// EmitLog sends one LogMessage envelope, EmitCounter one CounterEvent
// envelope, and EmitGauge one ValueMetric envelope per WithGaugeValue
// option (duplicated names give duplicated envelopes; no values means
// nothing is sent), or a single ContainerMetric envelope when the five
// container values are given together with the source_id and instance_id
// tags (see EmitGauge). Per-call tags are applied first and the client's
// WithTag tags last, so client tags win on a clash (the v2 IngressClient
// does the opposite).
//
// Emit options that do not apply to the kind of envelope being built (for
// example a WithDelta converted to an EmitLogOption) are ignored; the
// original panicked or sent extra envelopes.
//
// # Statistics
//
// Stats returns a ClientStats snapshot: the envelopes sent (accepted by
// the UDP socket) and dropped (dropsonde not initialised, or a send
// error). Reading it is two atomic loads; counting costs one atomic add
// per envelope. It is an addition to the original API.
//
// # Concurrency
//
// A Client is safe for concurrent use. Each Emit call sends synchronously
// on the caller's goroutine (a UDP write does not block on the receiver).
// Calling dropsonde.Initialize concurrently with Emit calls is a data race
// on dropsonde's global emitter; initialise first.
package v1
