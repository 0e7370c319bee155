package conversion_test

import (
	"encoding/base64"
	"testing"

	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"
)

// FuzzConversion decodes arbitrary bytes as a v1 and as a v2 envelope and
// converts them. Neither conversion may panic, ToV2 must return an envelope,
// ToV1 must not return nil entries, and the inputs must stay unchanged.
func FuzzConversion(f *testing.F) {
	for _, r := range readGolden(f) {
		b, err := base64.StdEncoding.DecodeString(r.Input)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		v1 := &events.Envelope{}
		if unmarshalPartial.Unmarshal(data, v1) == nil {
			before := proto.Clone(v1)
			for _, preferred := range []bool{true, false} {
				if conversion.ToV2(v1, preferred) == nil {
					t.Fatal("ToV2 returned nil")
				}
			}
			if !proto.Equal(before, v1) {
				t.Fatal("ToV2 modified its input")
			}
		}
		v2 := &loggregator_v2.Envelope{}
		if unmarshalPartial.Unmarshal(data, v2) == nil {
			before := proto.Clone(v2)
			for i, e := range conversion.ToV1(v2) {
				if e == nil {
					t.Fatalf("ToV1 result %d is nil", i)
				}
			}
			if !proto.Equal(before, v2) {
				t.Fatal("ToV1 modified its input")
			}
		}
	})
}
