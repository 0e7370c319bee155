package conversion_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"

	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// goldenRecord is one line of testdata/conversion-sample.jsonl: a
// conversion recorded from the original library.
type goldenRecord struct {
	Dir       string   `json:"dir"`
	Preferred bool     `json:"preferred"`
	Input     string   `json:"input"`
	Output    []string `json:"output"`
}

var unmarshalPartial = proto.UnmarshalOptions{AllowPartial: true}

func readGolden(t testing.TB) []goldenRecord {
	t.Helper()
	f, err := os.Open("testdata/conversion-sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []goldenRecord
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		var r goldenRecord
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", len(recs)+1, err)
		}
		recs = append(recs, r)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func decodeB64(t testing.TB, s string, m proto.Message) {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := unmarshalPartial.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
}

var showJSON = protojson.MarshalOptions{AllowPartial: true}

// TestGoldenConversions replays every recorded conversion of the original
// library and requires identical results.
func TestGoldenConversions(t *testing.T) {
	recs := readGolden(t)
	if len(recs) != 600 {
		t.Fatalf("golden sample has %d records, want 600", len(recs))
	}
	matched := 0
	for i, r := range recs {
		ok := true
		switch r.Dir {
		case "v1tov2":
			in := &events.Envelope{}
			decodeB64(t, r.Input, in)
			if len(r.Output) != 1 {
				t.Fatalf("line %d: v1tov2 with %d outputs", i+1, len(r.Output))
			}
			want := &loggregator_v2.Envelope{}
			decodeB64(t, r.Output[0], want)
			got := conversion.ToV2(in, r.Preferred)
			if !proto.Equal(got, want) {
				ok = false
				t.Errorf("line %d ToV2(preferred=%v)\n in:   %s\n got:  %s\n want: %s", i+1, r.Preferred, showJSON.Format(in), showJSON.Format(got), showJSON.Format(want))
			}
		case "v2tov1":
			in := &loggregator_v2.Envelope{}
			decodeB64(t, r.Input, in)
			want := make([]*events.Envelope, len(r.Output))
			for j, o := range r.Output {
				want[j] = &events.Envelope{}
				decodeB64(t, o, want[j])
			}
			got := conversion.ToV1(in)
			if !equalMultiset(got, want) {
				ok = false
				t.Errorf("line %d ToV1\n in:   %s\n got:  %s\n want: %s", i+1, showJSON.Format(in), formatAll(got), formatAll(want))
			}
		default:
			t.Fatalf("line %d: unknown dir %q", i+1, r.Dir)
		}
		if ok {
			matched++
		}
	}
	t.Logf("golden conversions matched: %d/%d", matched, len(recs))
	if matched != len(recs) {
		t.Errorf("only %d/%d golden conversions matched", matched, len(recs))
	}
}

// equalMultiset reports whether got and want hold proto-equal envelopes,
// ignoring order.
func equalMultiset(got, want []*events.Envelope) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(want))
next:
	for _, g := range got {
		for j, w := range want {
			if !used[j] && proto.Equal(g, w) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

func formatAll(envs []*events.Envelope) string {
	s := "["
	for i, e := range envs {
		if i > 0 {
			s += ", "
		}
		s += showJSON.Format(e)
	}
	return s + "]"
}
