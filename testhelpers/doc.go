// Package testhelpers provides real, in-process Loggregator servers and a
// throw-away certificate authority for tests: the same servers go-loggregator
// tests itself against, published so that programs using the library can
// test their emitters and nozzles without a Cloud Foundry deployment.
//
// Everything listens on 127.0.0.1 with an ephemeral port. The gRPC servers
// (IngressServer, EgressServer) speak mutual TLS with certificates from
// GenerateCerts; the GatewayServer, like the real RLP gateway, serves HTTP
// or, with WithGatewayTLS, HTTPS without asking for a client certificate.
// Every server has a Stop (or Close) method that ends all of its
// goroutines; tests should defer it.
//
// What is here:
//   - Certs, GenerateCerts, NewCerts, NewTempCerts: a throw-away CA with a
//     server and a client certificate.
//   - IngressServer: the agent's v2 ingress (Sender, BatchSender, Send),
//     decoding and recording every envelope; with options only counting
//     them (WithIngressCountOnly), decoding without recording
//     (WithIngressDiscard), behaving like the agent's bounded queue
//     (WithIngressAgentQueue) or ending streams early
//     (WithIngressAbortAfter); with switches to stall, go down and restart.
//   - EgressServer: the Reverse Log Proxy's v2 egress (BatchedReceiver,
//     Receiver), streaming envelopes a test hands it, recording requests,
//     and dropping or refusing streams on demand.
//   - GatewayServer: the RLP gateway's /v2/read over Server-Sent Events with
//     the gateway's exact framing, heartbeats, closing event and errors.
package testhelpers
