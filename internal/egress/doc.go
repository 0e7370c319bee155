// Package egress owns the gRPC side of an EnvelopeStreamConnector stream:
// one BatchedReceiver stream at a time on one grpc.ClientConn, its
// reconnects, and the bounded decoding of what it receives.
//
// A Receiver is driven by one goroutine (it is not safe for concurrent
// use); it starts nothing of its own and holds no goroutine, so it stops
// as soon as the context passed to Next ends.
//
// Reconnects have one pace-setter per cause. While the connection is down
// (gRPC's TRANSIENT_FAILURE), the Receiver waits for the connection's own
// backoff, configured with ConnectParams, to bring it back, and opens the
// next stream the moment it is READY. While the connection works but
// streams fail, attempts are spaced from the start of the previous one by
// a backoff that resets after a stream lived HealthyAfter. The two waits
// overlap (the longer one counts); they never add up.
//
// Decoding is bounded: each received message is kept undecoded (by the
// Codec) and handed out in chunks of at most ChunkBytes of estimated
// decoded size (protobin.HeapSize), and the next message is read only after the
// last chunk of the current one has been taken.
//
// Statistics: a Config's Recorder hears of every message received, every
// chunk handed out (with the time its message arrived, for egress lag),
// every stream opened after the first, and every error, on the goroutine
// that calls Next. The Receiver itself keeps no counts.
package egress
