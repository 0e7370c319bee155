package batchjson

import (
	"google.golang.org/protobuf/encoding/protojson"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Unmarshal decodes the JSON EnvelopeBatch in data into dst. It resets dst
// first. Semantics equal protojson.UnmarshalOptions{DiscardUnknown: true}.
func Unmarshal(data []byte, dst *loggregator_v2.EnvelopeBatch) error {
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, dst)
}
