package loggregator

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/gatewayjson"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// decodeInParts decodes data the way a stream decodes a large event:
// batchParts splits the batch array, gatewayjson decodes each part.
func decodeInParts(data []byte, maxN, maxBytes int) ([]*loggregator_v2.Envelope, error) {
	parts, err := newBatchParts(data)
	if err != nil {
		return nil, err
	}
	var out []*loggregator_v2.Envelope
	for {
		raw, n, err := parts.next(maxN, maxBytes)
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, nil
		}
		if n > maxN {
			return out, errors.New("part larger than maxN")
		}
		doc := append(append([]byte(`{"batch":[`), raw...), "]}"...)
		var b loggregator_v2.EnvelopeBatch
		if err := gatewayjson.Unmarshal(doc, &b); err != nil {
			return out, err
		}
		if len(b.Batch) != n {
			return out, errors.New("part count differs from decoded envelopes")
		}
		out = append(out, b.Batch...)
	}
}

func TestBatchParts(t *testing.T) {
	tests := []struct {
		name, in string
		want     int   // envelopes
		err      error // nil, errNotPlainBatch, errMalformedJSON, or a decode error (any)
		anyErr   bool
	}{
		{"empty object", `{}`, 0, nil, false},
		{"empty batch", ` { "batch" : [ ] } `, 0, nil, false},
		{"null batch", `{"batch":null}`, 0, nil, false},
		{"three", `{"batch":[{},{"timestamp":"2"},{"source_id":"a]},{\"b"}]}`, 3, nil, false},
		{"fields around", `{"x":{"batch":[1,2]},"batch":[{} , {}],"y":"]"}`, 2, nil, false},
		{"escaped key", `{"b\u0061tch":[{}]}`, 0, errNotPlainBatch, false},
		{"batch not array", `{"batch":{}}`, 0, errNotPlainBatch, false},
		{"trailing comma", `{"batch":[{},]}`, 0, errMalformedJSON, false},
		{"unterminated", `{"batch":[{},{}`, 0, errMalformedJSON, false},
		{"unterminated string", `{"batch":[{"source_id":"ab]}`, 0, errMalformedJSON, false},
		{"not an object", `[{}]`, 0, errMalformedJSON, false},
		{"bad envelope", `{"batch":[{},{},{"timestamp":"x"}]}`, 2, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeInParts([]byte(tt.in), 2, 1<<20)
			switch {
			case tt.anyErr:
				if err == nil {
					t.Fatal("no error")
				}
			case !errors.Is(err, tt.err):
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if len(got) != tt.want {
				t.Fatalf("%d envelopes, want %d", len(got), tt.want)
			}
		})
	}
}

// FuzzBatchParts: whenever the whole event decodes, decoding it in parts
// gives the same envelopes, or refuses it as not a plain batch; it never
// panics.
func FuzzBatchParts(f *testing.F) {
	for _, s := range []string{
		`{"batch":[{},{"timestamp":"2","tags":{"a":"]}"}},{"log":{"payload":"aGk="}}]}`,
		`{"x":[{"y":"\"]"}],"batch":[{"source_id":"\\"},{}]}`,
		`{"batch":null}`, `{"batch":[]}`, `{}`, ` {"batch" : [ {} , {} ] , "z" : 1 } `,
	} {
		f.Add([]byte(s), uint8(1), uint8(8))
	}
	f.Fuzz(func(t *testing.T, in []byte, maxN, maxBytes uint8) {
		n, b := int(maxN%4)+1, int(maxBytes)
		var whole loggregator_v2.EnvelopeBatch
		werr := gatewayjson.Unmarshal(in, &whole)
		parts, perr := decodeInParts(in, n, b)
		if werr != nil || errors.Is(perr, errNotPlainBatch) {
			return
		}
		if perr != nil {
			// A duplicate "batch" key, or garbage after the array, fails
			// the whole decode but not the parts; the reverse must not
			// happen.
			t.Fatalf("parts failed (%v) where the whole event decodes", perr)
		}
		if len(parts) != len(whole.Batch) {
			t.Fatalf("%d envelopes in parts, %d whole", len(parts), len(whole.Batch))
		}
		for i := range parts {
			if !proto.Equal(parts[i], whole.Batch[i]) {
				t.Fatalf("envelope %d differs: %v vs %v", i, parts[i], whole.Batch[i])
			}
		}
	})
}
