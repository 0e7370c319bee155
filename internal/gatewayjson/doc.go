// Package gatewayjson is the JSON form of loggregator.v2 envelopes that the
// RLP gateway sends in the data: frames of its Server-Sent Events stream
// (rlp-gateway-http.md §6), in both directions: AppendBatch and
// AppendEnvelope write it (the dev server's gateway, the CLI's JSON output),
// Unmarshal reads it (RLPGatewayClient). Named after the wire format it
// speaks, the gateway's protojson dialect, not after one direction.
//
// # Writing
//
// AppendBatch and AppendEnvelope write protojson with unpopulated fields
// emitted, snake_case envelope field names, 64-bit integers as strings,
// payloads in standard base64, enum names, only the set oneof member, map
// keys sorted. They are reflection-free and append to a caller's buffer,
// several times faster than protojson. The output is a single line with no
// optional spaces; decoded with protojson it gives a message equal to the
// input (differential-tested). Strings that are not valid UTF-8 (possible in
// envelopes converted from v1) have their bad bytes replaced by U+FFFD
// instead of failing, so one bad tag cannot break a stream.
//
// # Reading
//
// Unmarshal is the decoder RLPGatewayClient uses for every data frame:
//
//	var batch loggregator_v2.EnvelopeBatch
//	if err := gatewayjson.Unmarshal(frame, &batch); err != nil { ... }
//
// Unmarshal resets dst first. Its result and error-ness are those of
//
//	protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, dst)
//
// that is, unknown fields are skipped (a new server-side field does not break
// the client), int64/uint64 are accepted as JSON strings or numbers, doubles
// as numbers or "NaN"/"Infinity"/"-Infinity", bytes as standard or URL-safe
// base64 with or without padding, the log type as enum name or number, and
// null as the default value. A hand-written single-pass scanner builds the
// generated structs directly; any input it does not handle exactly, or
// considers malformed, is handed to protojson on the same bytes, so errors
// and rare edge cases are protojson's own.
//
// Memory: the decoded batch never aliases data, so the caller may reuse data
// after Unmarshal returns. To save allocations, values share memory: strings
// and payloads up to 2 KiB are carved from shared 8 KiB arenas (a retained
// string or payload keeps its arena alive, at most 8 KiB; arenas may span
// consecutive batches), each payload slice capped at its own length so
// appending to one copies it; the GaugeValues of one gauge share an array;
// each envelope, its oneof wrapper and its message are one allocation.
// Empty JSON objects give empty non-nil maps, as with protojson.
//
// # Concurrency
//
// All functions are safe for concurrent use, as long as the envelopes being
// written are not modified at the same time and each Unmarshal call has its
// own dst.
//
// # Files
//
//   - marshal.go: the writer (AppendBatch, AppendEnvelope) and its string,
//     double and sorted-map output helpers.
//   - unmarshal.go: the reader's entry point (Unmarshal), the pooled decoder
//     state and the protojson fallback.
//   - schema.go: the batch and the Envelope's fields, which field goes where,
//     the one-allocation envelope layouts, and the member loop all message
//     objects share.
//   - schema_messages.go: the messages inside an envelope (Log, Counter,
//     Gauge, Timer, Event), the tags maps and Value.
//   - lexer.go: scanning tokens (whitespace, punctuation, literals, member
//     names, strings with the word-at-a-time search and their unescaping,
//     numbers), and skipping unknown values.
//   - values.go: integers, doubles, strings, the log type enum and base64
//     payloads from their tokens, and the arenas they are carved from.
package gatewayjson
