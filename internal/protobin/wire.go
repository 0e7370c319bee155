// This file owns what the encoder and the decoders share about the wire
// format: field tags, the walk over the top-level fields of an encoded
// EnvelopeBatch, and counting its envelopes without decoding them.

package protobin

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// BatchEntryTag is the first byte of every envelope inside an encoded
// EnvelopeBatch: field 1 (batch), length-delimited.
const BatchEntryTag = 1<<3 | byte(protowire.BytesType)

// ErrMalformed is returned by Chunker.Next and CountBatchEntries when the
// batch is not valid protobuf wire data at its top level.
var ErrMalformed = errors.New("malformed EnvelopeBatch")

// tag is the one-byte key of field num (below 16, as every field of the
// envelope schema is) with wire type typ.
func tag(num protowire.Number, typ protowire.Type) byte { return byte(num)<<3 | byte(typ) }

// consumeField parses one top-level field and returns its number, wire
// type and total length, or a negative length when it is malformed the
// way proto.Unmarshal rejects.
func consumeField(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num > protowire.MaxValidNumber {
		return 0, 0, -1
	}
	m := protowire.ConsumeFieldValue(num, typ, b[n:])
	if m < 0 {
		return 0, 0, -1
	}
	return num, typ, n + m
}

// isEntry reports whether a top-level field is an envelope of the batch.
func isEntry(num protowire.Number, typ protowire.Type) bool {
	return num == 1 && typ == protowire.BytesType
}

// countEntries counts the envelopes of an encoded EnvelopeBatch up to the
// first malformed field, and reports whether it reached the end.
func countEntries(b []byte) (int, bool) {
	n := 0
	for i := 0; i < len(b); {
		num, typ, l := consumeField(b[i:])
		if l < 0 {
			return n, false
		}
		if isEntry(num, typ) {
			n++
		}
		i += l
	}
	return n, true
}

// CountBatchEntries counts the envelopes in the binary encoding of an
// EnvelopeBatch without decoding them: the number of length-delimited
// field-1 entries, which is len(Batch) after proto.Unmarshal. Other
// fields are skipped. It returns ErrMalformed, with the count so far,
// when the top level is not valid wire data; the envelopes themselves are
// not checked.
func CountBatchEntries(b []byte) (int, error) {
	n, ok := countEntries(b)
	if !ok {
		return n, ErrMalformed
	}
	return n, nil
}
