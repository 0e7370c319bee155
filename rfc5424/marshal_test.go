package rfc5424_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

var epoch = time.Unix(0, 0).UTC()

// TestMarshalFields checks the layout rules: NILVALUEs, cutting of header
// fields, SD elements back to back, MSG only when not empty, PRI without a
// range check, and AddDatum.
func TestMarshalFields(t *testing.T) {
	tests := []struct {
		name string
		msg  rfc5424.Message
		want string
	}{
		{"zero value", rfc5424.Message{}, "<0>1 0001-01-01T00:00:00+00:00 - - - - -"},
		{"no MSG no space", rfc5424.Message{Timestamp: epoch, Message: []byte{}}, "<0>1 1970-01-01T00:00:00+00:00 - - - - -"},
		{"MSG bytes as is", rfc5424.Message{Timestamp: epoch, Message: []byte(" \x00\xff\n")}, "<0>1 1970-01-01T00:00:00+00:00 - - - - -  \x00\xff\n"},
		{"PRI not range checked", rfc5424.Message{Priority: -1, Timestamp: epoch}, "<-1>1 1970-01-01T00:00:00+00:00 - - - - -"},
		{"PRI above 191", rfc5424.Message{Priority: 1000, Timestamp: epoch}, "<1000>1 1970-01-01T00:00:00+00:00 - - - - -"},
		{
			"header fields cut to RFC lengths",
			rfc5424.Message{
				Timestamp: epoch,
				Hostname:  strings.Repeat("h", 300), AppName: strings.Repeat("a", 49),
				ProcessID: strings.Repeat("p", 129), MessageID: strings.Repeat("m", 33),
			},
			"<0>1 1970-01-01T00:00:00+00:00 " + strings.Repeat("h", 255) + " " + strings.Repeat("a", 48) + " " +
				strings.Repeat("p", 128) + " " + strings.Repeat("m", 32) + " -",
		},
		{
			"invalid bytes beyond the cut are not seen",
			rfc5424.Message{Timestamp: epoch, MessageID: strings.Repeat("m", 32) + " x"},
			"<0>1 1970-01-01T00:00:00+00:00 - - - " + strings.Repeat("m", 32) + " -",
		},
		{
			"element without parameters, long names allowed",
			rfc5424.Message{Timestamp: epoch, StructuredData: []rfc5424.StructuredData{
				{ID: "x@1"}, {ID: strings.Repeat("i", 40), Parameters: []rfc5424.SDParam{{Name: strings.Repeat("n", 40), Value: ""}}},
			}},
			`<0>1 1970-01-01T00:00:00+00:00 - - - - [x@1][` + strings.Repeat("i", 40) + " " + strings.Repeat("n", 40) + `=""]`,
		},
		{
			"UTF-8 values kept, three bytes escaped",
			rfc5424.Message{Timestamp: epoch, StructuredData: []rfc5424.StructuredData{
				{ID: "a", Parameters: []rfc5424.SDParam{{Name: "v", Value: `ü "q" \b\ [x]`}}},
			}},
			`<0>1 1970-01-01T00:00:00+00:00 - - - - [a v="ü \"q\" \\b\\ [x\]"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.msg.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got:  %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestAddDatum(t *testing.T) {
	var m rfc5424.Message
	m.AddDatum("a@1", "x", "1")
	m.AddDatum("b@1", "y", "2")
	m.AddDatum("a@1", "z", "3")
	want := []rfc5424.StructuredData{
		{ID: "a@1", Parameters: []rfc5424.SDParam{{Name: "x", Value: "1"}, {Name: "z", Value: "3"}}},
		{ID: "b@1", Parameters: []rfc5424.SDParam{{Name: "y", Value: "2"}}},
	}
	if msg := diffMessage(m, rfc5424.Message{StructuredData: want}); msg != "" {
		t.Errorf("%s: %+v", msg, m.StructuredData)
	}
}

// TestMarshalErrors checks each ErrInvalidValue Property and its text, and
// that AppendBinary leaves the buffer as it was and WriteTo writes nothing.
func TestMarshalErrors(t *testing.T) {
	sd := func(id, name, value string) []rfc5424.StructuredData {
		return []rfc5424.StructuredData{{ID: id, Parameters: []rfc5424.SDParam{{Name: name, Value: value}}}}
	}
	tests := []struct {
		name     string
		msg      rfc5424.Message
		property string
		value    any
	}{
		{"hostname space", rfc5424.Message{Hostname: "a b"}, "Hostname", "a b"},
		{"hostname DEL", rfc5424.Message{Hostname: "a\x7f"}, "Hostname", "a\x7f"},
		{"app name non-ASCII", rfc5424.Message{AppName: "ü"}, "AppName", "ü"},
		{"process id control", rfc5424.Message{ProcessID: "\n"}, "ProcessID", "\n"},
		{"message id space", rfc5424.Message{MessageID: "a b"}, "MessageID", "a b"},
		{"SD ID with =", rfc5424.Message{StructuredData: sd("a=b", "n", "v")}, "StructuredData/ID", "a=b"},
		{"SD ID with space", rfc5424.Message{StructuredData: sd("a b", "n", "v")}, "StructuredData/ID", "a b"},
		{"SD ID empty", rfc5424.Message{StructuredData: sd("", "n", "v")}, "StructuredData/ID", ""},
		{"SD name with ]", rfc5424.Message{StructuredData: sd("a", "n]", "v")}, "StructuredData/Name", "n]"},
		{"SD name with quote", rfc5424.Message{StructuredData: sd("a", `n"`, "v")}, "StructuredData/Name", `n"`},
		{"SD name empty", rfc5424.Message{StructuredData: sd("a", "", "v")}, "StructuredData/Name", ""},
		{"SD value not UTF-8", rfc5424.Message{StructuredData: sd("a", "n", "\xff")}, "StructuredData/Value", "\xff"},
		{"year 10000", rfc5424.Message{Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "Timestamp", "10000-01-01T00:00:00Z"},
		{"year -1", rfc5424.Message{Timestamp: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), UseUTC: true}, "Timestamp", "-0001-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.msg.MarshalBinary()
			var inv rfc5424.ErrInvalidValue
			if !errors.As(err, &inv) {
				t.Fatalf("err = %v (%T), want ErrInvalidValue", err, err)
			}
			if inv.Property != tt.property || inv.Value != tt.value {
				t.Errorf("got Property %q Value %q, want %q %q", inv.Property, inv.Value, tt.property, tt.value)
			}
			if want := "Message cannot be serialized because " + tt.property + " is invalid: "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("text %q, want prefix %q", err.Error(), want)
			}
			if b != nil {
				t.Errorf("MarshalBinary returned %q with the error", b)
			}
			buf := []byte("keep")
			if out, err := tt.msg.AppendBinary(buf); err == nil || string(out) != "keep" {
				t.Errorf("AppendBinary = %q, %v; want the buffer unchanged and an error", out, err)
			}
			var w strings.Builder
			if n, err := tt.msg.WriteTo(&w); err == nil || n != 0 || w.Len() != 0 {
				t.Errorf("WriteTo = %d, %v and wrote %q; want 0, an error, nothing", n, err, w.String())
			}
		})
	}
}

// TestMarshalTimestamp checks the TIMESTAMP field against time's own
// formatting with the package's layouts, on fixed cases and random times
// in random whole-minute offsets.
func TestMarshalTimestamp(t *testing.T) {
	east := time.FixedZone("E", 5*3600+45*60)
	odd := time.FixedZone("LMT", 30) // not a whole minute: written as UTC
	big := time.FixedZone("X", 25*3600)
	tests := []struct {
		name   string
		ts     time.Time
		useUTC bool
		want   string
	}{
		{"UTC numeric", time.Date(2017, 11, 9, 18, 20, 33, 123456789, time.UTC), false, "2017-11-09T18:20:33.123456+00:00"},
		{"UTC Z", time.Date(2017, 11, 9, 18, 20, 33, 123456789, time.UTC), true, "2017-11-09T18:20:33.123456Z"},
		{"trailing zeros trimmed", time.Date(2017, 1, 2, 3, 4, 5, 120_000_000, east), false, "2017-01-02T03:04:05.12+05:45"},
		{"below a microsecond dropped", time.Date(2017, 1, 2, 3, 4, 5, 999, east), false, "2017-01-02T03:04:05+05:45"},
		{"UseUTC converts first", time.Date(2017, 1, 2, 3, 4, 5, 0, east), true, "2017-01-01T21:19:05Z"},
		{"seconds offset written as UTC", time.Date(2017, 1, 2, 3, 4, 5, 0, odd), false, "2017-01-02T03:03:35+00:00"},
		{"offset of 24h or more written as UTC", time.Date(2017, 1, 2, 3, 4, 5, 0, big), false, "2017-01-01T02:04:05+00:00"},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 1000, time.UTC), false, "0000-01-01T00:00:00.000001+00:00"},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), true, "9999-12-31T23:59:59.999999Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := timestampOf(t, rfc5424.Message{Timestamp: tt.ts, UseUTC: tt.useUTC}); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		zone := time.FixedZone("", (rng.IntN(47*60)-(23*60+59))*60)
		ts := time.Unix(rng.Int64N(253402300799+62135596800)-62135596800, rng.Int64N(1e9)).In(zone)
		useUTC := rng.IntN(2) == 0
		layout := rfc5424.RFC5424TimeOffsetNum
		if useUTC {
			layout = rfc5424.RFC5424TimeOffsetUTC
			ts = ts.UTC()
		}
		if got, want := timestampOf(t, rfc5424.Message{Timestamp: ts, UseUTC: useUTC}), ts.Format(layout); got != want {
			t.Fatalf("%v: got %q, want %q", ts, got, want)
		}
	}
}

// timestampOf marshals m and returns its TIMESTAMP field.
func timestampOf(t *testing.T, m rfc5424.Message) string {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	return f[1]
}
