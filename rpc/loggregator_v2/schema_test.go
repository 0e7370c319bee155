package loggregator_v2_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// schemaListing prints every message, field, enum value and RPC method of
// the loggregator.v2 package in the format of testdata/wire-descriptor.txt.
func schemaListing(t *testing.T) []string {
	t.Helper()
	var lines []string
	var walkMessages func(protoreflect.MessageDescriptors)
	walkEnums := func(enums protoreflect.EnumDescriptors) {
		for i := 0; i < enums.Len(); i++ {
			e := enums.Get(i)
			for j := 0; j < e.Values().Len(); j++ {
				v := e.Values().Get(j)
				lines = append(lines, fmt.Sprintf("enum %s.%s = %d", e.FullName(), v.Name(), v.Number()))
			}
		}
	}
	walkMessages = func(msgs protoreflect.MessageDescriptors) {
		for i := 0; i < msgs.Len(); i++ {
			m := msgs.Get(i)
			if m.IsMapEntry() {
				continue
			}
			lines = append(lines, "message "+string(m.FullName()))
			for j := 0; j < m.Fields().Len(); j++ {
				lines = append(lines, fieldLine(m.Fields().Get(j)))
			}
			walkEnums(m.Enums())
			walkMessages(m.Messages())
		}
	}
	protoregistry.GlobalFiles.RangeFilesByPackage("loggregator.v2", func(fd protoreflect.FileDescriptor) bool {
		walkMessages(fd.Messages())
		walkEnums(fd.Enums())
		for i := 0; i < fd.Services().Len(); i++ {
			s := fd.Services().Get(i)
			for j := 0; j < s.Methods().Len(); j++ {
				m := s.Methods().Get(j)
				in, out := string(m.Input().FullName()), string(m.Output().FullName())
				if m.IsStreamingClient() {
					in = "stream " + in
				}
				if m.IsStreamingServer() {
					out = "stream " + out
				}
				lines = append(lines, fmt.Sprintf("rpc /%s/%s(%s) returns (%s)", s.FullName(), m.Name(), in, out))
			}
		}
		return true
	})
	sort.Strings(lines)
	return lines
}

func fieldLine(f protoreflect.FieldDescriptor) string {
	var typ string
	switch {
	case f.IsMap():
		typ = fmt.Sprintf("map<%s,%s>", f.MapKey().Kind(), typeName(f.MapValue()))
	default:
		typ = typeName(f)
	}
	card := "optional"
	if f.Cardinality() == protoreflect.Repeated {
		card = "repeated"
	}
	line := fmt.Sprintf("  field %s = %d %s %s json=%s", f.FullName(), f.Number(), card, typ, f.JSONName())
	if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
		line += " oneof=" + string(o.Name())
	}
	return line
}

func typeName(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(f.Message().FullName())
	case protoreflect.EnumKind:
		return string(f.Enum().FullName())
	default:
		return f.Kind().String()
	}
}

func TestSchemaMatchesGoldenDescriptor(t *testing.T) {
	raw, err := os.ReadFile("testdata/wire-descriptor.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	sort.Strings(want)
	got := schemaListing(t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		gotSet := map[string]bool{}
		for _, l := range got {
			gotSet[l] = true
		}
		wantSet := map[string]bool{}
		for _, l := range want {
			wantSet[l] = true
			if !gotSet[l] {
				t.Errorf("missing: %s", l)
			}
		}
		for _, l := range got {
			if !wantSet[l] {
				t.Errorf("unexpected: %s", l)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d lines, want %d", len(got), len(want))
	}
}

type goldenRecord struct {
	Name      string          `json:"name"`
	Message   string          `json:"message"`
	BinaryB64 string          `json:"binary_b64"`
	JSON      json.RawMessage `json:"json"`
}

func TestWireGoldenRecords(t *testing.T) {
	f, err := os.Open("testdata/wire-golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var rec goldenRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		n++
		t.Run(rec.Name, func(t *testing.T) {
			mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(rec.Message))
			if err != nil {
				t.Fatalf("message type %s: %v", rec.Message, err)
			}
			bin, err := base64.StdEncoding.DecodeString(rec.BinaryB64)
			if err != nil {
				t.Fatal(err)
			}
			fromBinary := mt.New().Interface()
			if err := proto.Unmarshal(bin, fromBinary); err != nil {
				t.Fatalf("binary decode: %v", err)
			}
			fromJSON := mt.New().Interface()
			if err := protojson.Unmarshal(rec.JSON, fromJSON); err != nil {
				t.Fatalf("json decode: %v", err)
			}
			if !proto.Equal(fromBinary, fromJSON) {
				t.Fatalf("binary and JSON decode differ:\nbinary: %v\njson:   %v", fromBinary, fromJSON)
			}
			again, err := proto.MarshalOptions{Deterministic: true}.Marshal(fromJSON)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, bin) {
				t.Fatalf("re-encoding differs:\ngot  %x\nwant %x", again, bin)
			}
			// The gateway's JSON form (unpopulated fields emitted) must
			// decode back to the same message after our own encoding.
			js, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(fromBinary)
			if err != nil {
				t.Fatal(err)
			}
			back := mt.New().Interface()
			if err := protojson.Unmarshal(js, back); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(back, fromBinary) {
				t.Fatalf("JSON round trip differs: %s", js)
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 12 {
		t.Fatalf("read %d golden records, want 12", n)
	}
}
