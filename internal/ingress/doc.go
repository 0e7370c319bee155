// Package ingress holds the machinery of the IngressClient: the Sender,
// which owns the BatchSender stream, the batches sent on it and not yet
// confirmed, the reconnect backoff, the per-send deadline, the replay pace
// and the delivery accounting; and the counters the client exposes.
//
// # Delivery accounting
//
// The BatchSender RPC has no per-batch acknowledgement: the server answers
// once, when the client ends the stream. The Sender therefore sends batches
// on a stream and keeps them, unconfirmed, until it closes that stream and
// the server answers it cleanly (status OK, or the agent's usual Unknown
// "EOF"); only then are they released as delivered. It closes and replaces
// the stream whenever the unconfirmed batches reach a window (a number of
// batches, MaxUnconfirmed envelopes or bytes) or are older than
// ConfirmInterval. While streams are healthy the answer is awaited in the
// background and the next stream starts at once; after a failure it is
// awaited before the next stream. When a stream breaks instead, or its
// answer is an error, its unconfirmed batches and the one being sent go
// back to the front of the queue and are sent again on the next stream,
// so the server may receive some of them twice.
// Each such failure counts as an attempt for those batches; a batch that
// reaches MaxAttempts is given up and counted. After a failure the window
// restarts at one batch and doubles with every confirmed stream, so that a
// server that ends streams early still makes progress.
//
// # Reconnecting
//
// The gRPC connection reconnects by itself with its own backoff (the
// client configures it with a short maximum delay); the Sender watches the
// connection state and opens a stream when the connection is ready. It
// adds its own short backoff only when streams fail on a connection that
// is ready, so two timers never stack. The first stream opened after the
// newest stream (or an attempt to open one) failed, or after the
// connection left READY, counts one reconnect in Stats; a failed answer
// of a stream that was already replaced by a newer one does not.
//
// # Replay pace
//
// A restarted agent accepts data into a bounded queue before it can
// forward anything, and the client cannot see the drops that happen there.
// After the connection was lost, the Sender therefore paces what it sends
// on the new connection: it starts at Pace.StartRate envelopes per second
// (one batch may go at once) and doubles the rate every Pace.DoublingTime
// until it reaches Pace.MaxRate, after which sending is unpaced again. The
// first connection is not paced, nor are new streams on a connection that
// stayed up.
package ingress
