// Package batchjson decodes the RLP gateway's JSON EnvelopeBatch.
package batchjson

import (
	"google.golang.org/protobuf/encoding/protojson"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

var protoJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// Decode decodes data into b, replacing its contents, with protojson
// semantics and unknown fields ignored.
func Decode(data []byte, b *v2.EnvelopeBatch) error {
	return protoJSON.Unmarshal(data, b)
}
