// This file owns the decoder's entry point and state: Unmarshal, the pooled
// decoder and its scratch buffers, and the fallback to protojson.

package gatewayjson

import (
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

var protoJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// Unmarshal decodes the JSON EnvelopeBatch in data into dst. It resets dst
// first. The result, and whether an error is returned, are those of
// protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, dst);
// inputs the fast scanner does not handle exactly, including every malformed
// input, are decoded by protojson itself, so errors are protojson's.
//
// The decoded batch does not alias data, but its strings and payloads share
// backing arrays of at most 8 KiB; see the package documentation.
func Unmarshal(data []byte, dst *v2.EnvelopeBatch) error {
	dst.Reset()
	d := decoderPool.Get().(*decoder)
	batch, ok := d.decode(data)
	d.release()
	decoderPool.Put(d)
	if !ok {
		return protoJSON.Unmarshal(data, dst)
	}
	dst.Batch = batch
	return nil
}

// fastPath reports whether the scanner decodes data itself (tests only).
func fastPath(data []byte) bool {
	d := new(decoder)
	_, ok := d.decode(data)
	return ok
}

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

type strPair struct{ k, v string }

type gaugePair struct {
	k, unit string
	value   float64
}

// decoder is a single-pass scanner over one JSON document. Every method
// reports ok=false for anything it does not handle exactly; Unmarshal then
// falls back to protojson.
type decoder struct {
	b []byte
	i int
	// strs holds the contents of decoded strings; strings are slices of
	// its String(), which the Builder never modifies. arena holds decoded
	// payloads. Both outlive a batch (the decoder is pooled): only their
	// unused tails are ever written.
	strs    strings.Builder
	scratch []byte
	envs    []*v2.Envelope
	pairs   []strPair
	// The previous envelope's tags in this batch: equal tags reuse its
	// strings and clone its map (cheaper than hashing every key). Only
	// maps made during this call are cloned, before the caller sees them.
	prevPairs []strPair
	prevTags  map[string]string
	prevSID   string
	gauges    []gaugePair
	arena     []byte
}

func (d *decoder) release() {
	clear(d.envs)
	d.envs = d.envs[:0]
	clear(d.pairs)
	d.pairs = d.pairs[:0]
	clear(d.prevPairs)
	d.prevPairs = d.prevPairs[:0]
	d.prevTags, d.prevSID = nil, ""
	clear(d.gauges)
	d.gauges = d.gauges[:0]
	d.b = nil
	if cap(d.scratch) > 64<<10 {
		d.scratch = nil
	}
}
