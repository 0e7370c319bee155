// Package batchjson decodes the JSON form of a loggregator_v2.EnvelopeBatch,
// as sent by the RLP gateway in the data: frames of its Server-Sent Events
// stream, without reflection.
//
// Unmarshal is the decoder RLPGatewayClient should use for every data frame:
//
//	var batch loggregator_v2.EnvelopeBatch
//	if err := batchjson.Unmarshal(frame, &batch); err != nil { ... }
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
// Decode is the same function under the name RLPGatewayClient calls.
//
// Unmarshal is safe for concurrent use with distinct dst values.
//
// Memory: the decoded batch never aliases data, so the caller may reuse data
// after Unmarshal returns. To save allocations, values share memory: strings
// and payloads up to 2 KiB are carved from shared 8 KiB arenas (a retained
// string or payload keeps its arena alive, at most 8 KiB; arenas may span
// consecutive batches), each payload slice capped at its own length so
// appending to one copies it; the GaugeValues of one gauge share an array;
// each envelope, its oneof wrapper and its message are one allocation.
// Empty JSON objects give empty non-nil maps, as with protojson.
package batchjson
