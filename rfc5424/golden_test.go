package rfc5424_test

import (
	"bytes"
	"reflect"
	"strconv"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

// bom is the UTF-8 byte order mark the RFC's examples put before MSG.
const bom = "\xef\xbb\xbf"

// goldens are the example messages of RFC 5424 section 6.5 and the example
// of the spec (rfc5424.md), with the Message each one stands for.
var goldens = []struct {
	name string
	text string
	msg  rfc5424.Message
}{
	{
		name: "RFC 5424 6.5 example 1 (no structured data)",
		text: "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " + bom + "'su root' failed for lonvick on /dev/pts/8",
		msg: rfc5424.Message{
			Priority:  rfc5424.Auth | rfc5424.Crit,
			Timestamp: time.Date(2003, 10, 11, 22, 14, 15, 3_000_000, time.UTC),
			UseUTC:    true,
			Hostname:  "mymachine.example.com",
			AppName:   "su",
			MessageID: "ID47",
			Message:   []byte(bom + "'su root' failed for lonvick on /dev/pts/8"),
		},
	},
	{
		name: "RFC 5424 6.5 example 2 (numeric offset, microseconds)",
		text: "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
		msg: rfc5424.Message{
			Priority:  165, // RFC local4.notice; the package's Local4 is 128 (see Local0)
			Timestamp: time.Date(2003, 8, 24, 5, 14, 15, 3_000, time.FixedZone("", -7*3600)),
			Hostname:  "192.0.2.1",
			AppName:   "myproc",
			ProcessID: "8710",
			Message:   []byte("%% It's time to make the do-nuts."),
		},
	},
	{
		name: "RFC 5424 6.5 example 3 (structured data and MSG)",
		text: `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ` + bom + "An application event log entry...",
		msg: rfc5424.Message{
			Priority:  165, // RFC local4.notice; the package's Local4 is 128 (see Local0)
			Timestamp: time.Date(2003, 10, 11, 22, 14, 15, 3_000_000, time.UTC),
			UseUTC:    true,
			Hostname:  "mymachine.example.com",
			AppName:   "evntslog",
			MessageID: "ID47",
			StructuredData: []rfc5424.StructuredData{{ID: "exampleSDID@32473", Parameters: []rfc5424.SDParam{
				{Name: "iut", Value: "3"}, {Name: "eventSource", Value: "Application"}, {Name: "eventID", Value: "1011"},
			}}},
			Message: []byte(bom + "An application event log entry..."),
		},
	},
	{
		name: "RFC 5424 6.5 example 4 (two elements, no MSG)",
		text: `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
		msg: rfc5424.Message{
			Priority:  165, // RFC local4.notice; the package's Local4 is 128 (see Local0)
			Timestamp: time.Date(2003, 10, 11, 22, 14, 15, 3_000_000, time.UTC),
			UseUTC:    true,
			Hostname:  "mymachine.example.com",
			AppName:   "evntslog",
			MessageID: "ID47",
			StructuredData: []rfc5424.StructuredData{
				{ID: "exampleSDID@32473", Parameters: []rfc5424.SDParam{
					{Name: "iut", Value: "3"}, {Name: "eventSource", Value: "Application"}, {Name: "eventID", Value: "1011"},
				}},
				{ID: "examplePriority@32473", Parameters: []rfc5424.SDParam{{Name: "class", Value: "high"}}},
			},
		},
	},
	{
		name: "spec example",
		text: `<30>1 2016-02-28T09:57:10.804642-05:00 myhostname someapp - - [foo@1234 Revision="1.2.3.4"] Hello, World!`,
		msg: rfc5424.Message{
			Priority:       rfc5424.Daemon | rfc5424.Info,
			Timestamp:      time.Date(2016, 2, 28, 9, 57, 10, 804_642_000, time.FixedZone("", -5*3600)),
			Hostname:       "myhostname",
			AppName:        "someapp",
			StructuredData: []rfc5424.StructuredData{{ID: "foo@1234", Parameters: []rfc5424.SDParam{{Name: "Revision", Value: "1.2.3.4"}}}},
			Message:        []byte("Hello, World!"),
		},
	},
	{
		name: "escaped parameter values",
		text: `<14>1 1970-01-01T00:00:00+00:00 - - - - [a@1 q="\"" b="\\" c="\]"] m`,
		msg: rfc5424.Message{
			Priority:  rfc5424.User | rfc5424.Info,
			Timestamp: time.Unix(0, 0).UTC(),
			StructuredData: []rfc5424.StructuredData{{ID: "a@1", Parameters: []rfc5424.SDParam{
				{Name: "q", Value: `"`}, {Name: "b", Value: `\`}, {Name: "c", Value: `]`},
			}}},
			Message: []byte("m"),
		},
	},
}

// TestGoldenMarshal checks that each Message marshals to its text.
func TestGoldenMarshal(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			got, err := g.msg.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != g.text {
				t.Errorf("MarshalBinary\n got:  %q\n want: %q", got, g.text)
			}
		})
	}
}

// TestGoldenUnmarshal checks that each text unmarshals to its Message.
func TestGoldenUnmarshal(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			var got rfc5424.Message
			if err := got.UnmarshalBinary([]byte(g.text)); err != nil {
				t.Fatal(err)
			}
			assertEqualMessage(t, got, g.msg)
		})
	}
}

// TestGoldenFrames checks RFC 5425 octet counting on the golden messages:
// WriteTo writes "<len> <msg>" and ReadFrom reads a stream of such frames
// back one by one.
func TestGoldenFrames(t *testing.T) {
	var stream, want bytes.Buffer
	for _, g := range goldens {
		n, err := g.msg.WriteTo(&stream)
		if err != nil {
			t.Fatal(err)
		}
		frame := strconv.Itoa(len(g.text)) + " " + g.text
		want.WriteString(frame)
		if n != int64(len(frame)) {
			t.Errorf("%s: WriteTo returned %d, want %d", g.name, n, len(frame))
		}
	}
	if stream.String() != want.String() {
		t.Fatalf("stream\n got:  %q\n want: %q", stream.String(), want.String())
	}
	for _, g := range goldens {
		var got rfc5424.Message
		n, err := got.ReadFrom(&stream)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if want := int64(len(strconv.Itoa(len(g.text))) + 1 + len(g.text)); n != want {
			t.Errorf("%s: ReadFrom consumed %d, want %d", g.name, n, want)
		}
		assertEqualMessage(t, got, g.msg)
	}
	if stream.Len() != 0 {
		t.Errorf("%d bytes left over", stream.Len())
	}
}

// assertEqualMessage compares messages field by field: timestamps by
// instant and zone offset, nil and empty slices alike.
func assertEqualMessage(t *testing.T, got, want rfc5424.Message) {
	t.Helper()
	if msg := diffMessage(got, want); msg != "" {
		t.Errorf("%s\n got:  %+v\n want: %+v", msg, got, want)
	}
}

// diffMessage describes the first difference between got and want, or
// returns "".
func diffMessage(got, want rfc5424.Message) string {
	switch {
	case got.Priority != want.Priority:
		return "Priority differs"
	case !got.Timestamp.Equal(want.Timestamp):
		return "Timestamp differs"
	case offset(got.Timestamp) != offset(want.Timestamp):
		return "Timestamp offset differs"
	case got.UseUTC != want.UseUTC:
		return "UseUTC differs"
	case got.Hostname != want.Hostname, got.AppName != want.AppName, got.ProcessID != want.ProcessID, got.MessageID != want.MessageID:
		return "header differs"
	case !bytes.Equal(got.Message, want.Message):
		return "Message differs"
	case len(got.StructuredData) != len(want.StructuredData):
		return "number of SD elements differs"
	}
	for i := range got.StructuredData {
		g, w := got.StructuredData[i], want.StructuredData[i]
		if g.ID != w.ID || len(g.Parameters) != len(w.Parameters) {
			return "SD element " + strconv.Itoa(i) + " differs"
		}
		if len(g.Parameters) > 0 && !reflect.DeepEqual(g.Parameters, w.Parameters) {
			return "SD element " + strconv.Itoa(i) + " parameters differ"
		}
	}
	return ""
}

func offset(t time.Time) int {
	_, off := t.Zone()
	return off
}
