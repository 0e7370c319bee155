package rfc5424_test

import (
	"errors"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

const hdr = "<14>1 2017-11-09T18:20:33.123456+00:00 h a p m "

// TestUnmarshalErrors checks the ErrBadFormat Property for each malformed
// part, and that the message is left unchanged.
func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name, in, property string
	}{
		{"empty", "", "Priority"},
		{"no <", "14>1 - - - - - -", "Priority"},
		{"no >", "<14 1 - - - - - -", "Priority"},
		{"empty PRI", "<>1 - - - - - -", "Priority"},
		{"PRI not a number", "<1x>1 - - - - - -", "Priority"},
		{"PRI with plus", "<+1>1 - - - - - -", "Priority"},
		{"PRI overflows", "<99999999999999999999>1 - - - - - -", "Priority"},
		{"version 2", "<14>2 - - - - - -", "Version"},
		{"version 11", "<14>11 - - - - - -", "Version"},
		{"version missing", "<14>", "Version"},
		{"no space after version", "<14>1", "expected space"},
		{"version glued", "<14>1x - - - - -", "expected space"},
		{"bad timestamp", "<14>1 yesterday - - - - -", "Timestamp"},
		{"timestamp without offset", "<14>1 2017-11-09T18:20:33 - - - - -", "Timestamp"},
		{"empty timestamp", "<14>1  - - - - -", "Timestamp"},
		{"empty hostname", "<14>1 -  - - - -", "Hostname"},
		{"empty app name", "<14>1 - -  - - -", "AppName"},
		{"empty procid", "<14>1 - - -  - -", "ProcessID"},
		{"empty msgid", "<14>1 - - - -  -", "MessageID"},
		{"header ends early", "<14>1 - - -", "expected space"},
		{"no structured data", hdr, "StructuredData"},
		{"structured data not - or [", hdr + "x", "StructuredData"},
		{"empty SD-ID", hdr + "[]", "StructuredData[]"},
		{"SD-ID then garbage", hdr + `[a"]`, "StructuredData[].Parameters"},
		{"unterminated element", hdr + "[a", "StructuredData[].Parameters"},
		{"empty param name", hdr + `[a ="v"]`, "StructuredData[].Parameters[]"},
		{"param without value", hdr + `[a n]`, "StructuredData[].Parameters[]"},
		{"param value unquoted", hdr + `[a n=v]`, "StructuredData[].Parameters[]"},
		{"unterminated value", hdr + `[a n="v]`, "StructuredData[].Parameters[]"},
		{"value ends in escape", hdr + `[a n="v\"]`, "StructuredData[].Parameters[]"},
		{"no space before MSG", hdr + "-x", "expected space"},
		{"no space after element", hdr + `[a n="v"]x`, "expected space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rfc5424.Message{Hostname: "unchanged"}
			err := m.UnmarshalBinary([]byte(tt.in))
			var bf rfc5424.ErrBadFormat
			if !errors.As(err, &bf) {
				t.Fatalf("err = %v (%T), want ErrBadFormat", err, err)
			}
			if bf.Property != tt.property {
				t.Errorf("Property %q, want %q", bf.Property, tt.property)
			}
			if want := "Message cannot be unmarshaled because it is not well formed (" + tt.property + ")"; err.Error() != want {
				t.Errorf("text %q, want %q", err.Error(), want)
			}
			if m.Hostname != "unchanged" {
				t.Errorf("message changed on error: %+v", m)
			}
		})
	}
}

// TestUnmarshalLenient checks what is read beyond MarshalBinary's output.
func TestUnmarshalLenient(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want rfc5424.Message
	}{
		{
			"NILVALUE timestamp, negative and large PRI",
			"<-1>1 - - - - - -",
			rfc5424.Message{Priority: -1},
		},
		{
			"nanoseconds and lower-case names kept",
			"<191>1 2017-11-09T18:20:33.123456789-00:30 H A P M -",
			rfc5424.Message{Priority: 191, Timestamp: time.Date(2017, 11, 9, 18, 20, 33, 123456789, time.FixedZone("", -30*60)), Hostname: "H", AppName: "A", ProcessID: "P", MessageID: "M"},
		},
		{
			"backslash before another byte kept",
			hdr + `[a n="x\y\\z\"\]"]`,
			rfc5424.Message{Priority: 14, Timestamp: time.Date(2017, 11, 9, 18, 20, 33, 123456000, time.UTC), Hostname: "h", AppName: "a", ProcessID: "p", MessageID: "m",
				StructuredData: []rfc5424.StructuredData{{ID: "a", Parameters: []rfc5424.SDParam{{Name: "n", Value: `x\y\z"]`}}}}},
		},
		{
			"unescaped ] and space inside a value, space-only MSG",
			hdr + `[a n="] x"] `,
			rfc5424.Message{Priority: 14, Timestamp: time.Date(2017, 11, 9, 18, 20, 33, 123456000, time.UTC), Hostname: "h", AppName: "a", ProcessID: "p", MessageID: "m",
				StructuredData: []rfc5424.StructuredData{{ID: "a", Parameters: []rfc5424.SDParam{{Name: "n", Value: "] x"}}}}},
		},
		{
			"MSG with spaces and newlines",
			hdr + "-  two\nlines ",
			rfc5424.Message{Priority: 14, Timestamp: time.Date(2017, 11, 9, 18, 20, 33, 123456000, time.UTC), Hostname: "h", AppName: "a", ProcessID: "p", MessageID: "m",
				Message: []byte(" two\nlines ")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m rfc5424.Message
			if err := m.UnmarshalBinary([]byte(tt.in)); err != nil {
				t.Fatal(err)
			}
			assertEqualMessage(t, m, tt.want)
		})
	}
}

// TestUnmarshalCopies checks that the message does not alias the input.
func TestUnmarshalCopies(t *testing.T) {
	in := []byte(hdr + "- hello")
	var m rfc5424.Message
	if err := m.UnmarshalBinary(in); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'X'
	}
	if string(m.Message) != "hello" || m.Hostname != "h" {
		t.Errorf("message changed with its input: %q %q", m.Message, m.Hostname)
	}
}

// TestUnmarshalReplaces checks that a second UnmarshalBinary replaces all
// fields of the first.
func TestUnmarshalReplaces(t *testing.T) {
	var m rfc5424.Message
	if err := m.UnmarshalBinary([]byte(`<14>1 2017-11-09T18:20:33Z h a p m [x y="z"] msg`)); err != nil {
		t.Fatal(err)
	}
	if err := m.UnmarshalBinary([]byte("<1>1 - - - - - -")); err != nil {
		t.Fatal(err)
	}
	assertEqualMessage(t, m, rfc5424.Message{Priority: 1})
}
