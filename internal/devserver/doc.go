// Package devserver is the server behind `loggregator dev`: a single-process
// stand-in for a Loggregator deployment on loopback, for developing and
// testing programs that use go-loggregator.
//
// It accepts envelopes on
//   - v2 gRPC ingress (Ingress.Sender, BatchSender, Send) with mutual TLS,
//   - v1 dropsonde over UDP: each datagram is one events.Envelope; like the
//     Loggregator agent it fills a missing source_id tag from the origin,
//     drops envelopes whose payload does not match their event type and
//     converts with conversion.ToV2(env, true),
//
// routes them with package router (selectors, shard groups, per-subscriber
// buffers bounded in envelopes and in bytes: Config.BufferSize and
// Config.BufferBytes, whose doc states the memory bound) and serves them on
//   - v2 gRPC egress (Egress.BatchedReceiver, Receiver) with mutual TLS,
//     honouring use_preferred_tags,
//   - an RLP-gateway compatible HTTP endpoint GET /v2/read (server-sent
//     events with the gateway's JSON, heartbeats and the closing event;
//     always preferred tags), plain HTTP unless TLS is asked for; each
//     write has a deadline (Config.GatewayWriteTimeout) after which a dead
//     reader is disconnected and counted.
//
// gRPC egress batches never exceed gRPC's default 4 MiB receive limit: an
// envelope joins a batch only while the batch stays within 1 MiB, and an
// envelope too large for any message is dropped and counted.
//
// Every listener binds a loopback address only. Certificates come from a
// directory: reused when present and valid, generated with internal/certs
// otherwise.
//
// Start a server with New and stop it with Close, which stops every
// goroutine the server started. A Server is safe for concurrent use.
package devserver
