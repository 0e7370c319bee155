// Package envjson writes loggregator.v2 envelopes and envelope batches in
// the JSON form the RLP gateway sends (rlp-gateway-http.md §6): protojson
// with unpopulated fields emitted, snake_case envelope field names, 64-bit
// integers as strings, payloads in standard base64, enum names, only the
// set oneof member, map keys sorted.
//
// It exists for speed: it is reflection-free and appends to a caller's
// buffer, several times faster than protojson. Its output is a single line
// with no optional spaces; decoded with protojson it gives a message equal
// to the input (differential-tested). Strings that are not valid UTF-8
// (possible in envelopes converted from v1) have their bad bytes replaced by
// U+FFFD instead of failing, so one bad tag cannot break a stream.
//
// The functions are safe for concurrent use as long as the envelopes are not
// modified at the same time.
package envjson
