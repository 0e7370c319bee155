// Package protobin is the protobuf binary wire format of loggregator.v2
// envelopes, both directions, written by hand on top of protowire for
// speed. (The name says "protobuf binary", as opposed to gatewayjson, the
// JSON of the RLP gateway.)
//
// # Encoding
//
// AppendBatchEntry and AppendEnvelope write envelopes without reflection:
// the ingress client encodes each envelope once, straight into the bytes
// of the EnvelopeBatch it will send. The output decodes with
// proto.Unmarshal to a message equal to the input (fuzz-tested against
// proto.Marshal); field order and map entry order may differ from
// proto.Marshal, which the protobuf format allows. Like proto.Marshal, the
// encoder refuses strings that are not valid UTF-8 (protobuf decoders
// reject them, which would break the whole batch).
//
// Codec is a gRPC codec that sends and receives Raw, already encoded
// bytes, unchanged; CountBatchEntries counts the envelopes of such bytes
// without decoding them.
//
// # Decoding
//
// Batch turns the encoding of an EnvelopeBatch into the generated Go
// structs faster than proto.Unmarshal, whose table-driven decoding
// dominates the cost of consuming an egress stream. It handles the
// encoding a Loggregator server produces: every known field with its
// proper wire type, each oneof member and each map entry's key and value
// at most once. Anything else (unknown fields, wrong wire types, repeated
// message fields that protobuf would merge, malformed data) makes it fall
// back to proto.Unmarshal on the same bytes, so the result, or the error,
// is always what proto.Unmarshal gives; a fuzz test checks this.
//
// Nothing decoded refers to the input: every envelope gets its own copy
// of its bytes. All string fields of one envelope share one allocation,
// and the envelope struct shares one with its payload message, so keeping
// any string of an envelope keeps that envelope's strings alive (never
// more than the envelope's own size).
//
// Batch decodes a whole message at once. A Chunker hands out the
// envelopes of a message a few at a time instead, bounded by HeapSize, an
// estimate of the heap a decoded envelope keeps, so that a message of
// millions of tiny envelopes never exists decoded all at once.
//
// # Files
//
// wire.go holds what both directions share (tags, the top-level walk,
// CountBatchEntries), encode.go the encoder, codec.go the gRPC codec,
// decode.go the decoder, chunk.go the Chunker.
//
// # Concurrency
//
// The functions are safe for concurrent use as long as an envelope being
// encoded is not modified at the same time. A Chunker is used by one
// goroutine.
package protobin
