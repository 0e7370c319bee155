package rfc5424_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

// fuzzMessage builds a Message from fuzz inputs. sd holds the structured
// data as "ID\x00name\x00value\x00name\x00value\x01ID..." so the fuzzer can
// reach every byte of SD-IDs, names and values.
func fuzzMessage(pri int, sec int64, nsec int64, offMin int, useUTC bool, host, app, proc, msgid, sd string, msg []byte) rfc5424.Message {
	m := rfc5424.Message{
		Priority:  rfc5424.Priority(pri),
		Timestamp: time.Unix(sec, nsec).In(time.FixedZone("", offMin*60)),
		UseUTC:    useUTC,
		Hostname:  host,
		AppName:   app,
		ProcessID: proc,
		MessageID: msgid,
		Message:   msg,
	}
	if sd == "" {
		return m
	}
	for _, el := range strings.Split(sd, "\x01") {
		parts := strings.Split(el, "\x00")
		e := rfc5424.StructuredData{ID: parts[0]}
		for i := 1; i+1 < len(parts); i += 2 {
			e.Parameters = append(e.Parameters, rfc5424.SDParam{Name: parts[i], Value: parts[i+1]})
		}
		m.StructuredData = append(m.StructuredData, e)
	}
	return m
}

// normalized is what m reads back as after a round trip: header fields cut
// to their maximum length, "-" read as empty, the timestamp truncated to
// the microsecond (in UTC when its offset cannot be written).
func normalized(m rfc5424.Message) rfc5424.Message {
	field := func(s string, n int) string {
		if len(s) > n {
			s = s[:n]
		}
		if s == "-" {
			return ""
		}
		return s
	}
	m.Hostname = field(m.Hostname, 255)
	m.AppName = field(m.AppName, 48)
	m.ProcessID = field(m.ProcessID, 128)
	m.MessageID = field(m.MessageID, 32)
	ts := m.Timestamp
	if _, off := ts.Zone(); m.UseUTC || off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		ts = ts.UTC()
	}
	m.Timestamp = ts.Add(-time.Duration(ts.Nanosecond() % 1000))
	return m
}

// FuzzRFC5424 checks the round trip: whatever MarshalBinary returns,
// UnmarshalBinary reads back to an equal message (equal after the
// documented normalisation), which marshals to the same bytes; and the
// framed form read by ReadFrom is the same message. MarshalBinary errors
// must be ErrInvalidValue.
func FuzzRFC5424(f *testing.F) {
	f.Add(30, int64(1456671430), int64(804642000), -300, false, "myhostname", "someapp", "", "", "foo@1234\x00Revision\x001.2.3.4", []byte("Hello, World!"))
	f.Add(165, int64(1065910455), int64(3000000), 0, true, "mymachine.example.com", "evntslog", "-", "ID47",
		"exampleSDID@32473\x00iut\x003\x00eventSource\x00Application\x00eventID\x001011\x01examplePriority@32473\x00class\x00high", []byte{})
	f.Add(-1, int64(0), int64(0), 0, false, "", "", "", "", "a\x00q\x00\"\\]x\x01b", []byte(" \n"))
	f.Add(14, int64(-62135596800), int64(999), 1439, false, "h", "a", "p", "m", "", []byte("-"))
	f.Add(0, int64(253402300799), int64(999999999), -1439, true, strings.Repeat("h", 300), strings.Repeat("a", 60), "p p", "m", "x\x00ü\x00\xff", []byte(nil))
	f.Fuzz(func(t *testing.T, pri int, sec, nsec int64, offMin int, useUTC bool, host, app, proc, msgid, sd string, msg []byte) {
		in := fuzzMessage(pri, sec, nsec, offMin%(100*60), useUTC, host, app, proc, msgid, sd, msg)
		b, err := in.MarshalBinary()
		if err != nil {
			var inv rfc5424.ErrInvalidValue
			if !errors.As(err, &inv) || b != nil {
				t.Fatalf("MarshalBinary = %q, %v (%T)", b, err, err)
			}
			return
		}
		var out rfc5424.Message
		if err := out.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary(%q): %v", b, err)
		}
		if d := diffMessage(out, normalized(in)); d != "" {
			t.Fatalf("%s\n bytes: %q\n in:  %+v\n out: %+v", d, b, normalized(in), out)
		}
		again, err := out.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-marshalled %q, %v; want %q", again, err, b)
		}

		var frame bytes.Buffer
		if _, err := in.WriteTo(&frame); err != nil {
			t.Fatal(err)
		}
		var read rfc5424.Message
		if _, err := read.ReadFrom(&frame); err != nil {
			t.Fatalf("ReadFrom: %v", err)
		}
		if d := diffMessage(read, out); d != "" || frame.Len() != 0 {
			t.Fatalf("ReadFrom: %s, %d bytes left", d, frame.Len())
		}
	})
}

// FuzzUnmarshalBinary feeds arbitrary bytes to UnmarshalBinary and
// ReadFrom: no panic, errors are ErrBadFormat (or framing errors), and a
// message that parses marshals, unless a field cannot be written, to bytes
// that parse to the same message.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, g := range goldens {
		f.Add([]byte(g.text))
	}
	f.Add([]byte(`<14>1 - - - - - [a n="\x\"] \]"][b]`))
	f.Add([]byte("<-5>1 2017-11-09T18:20:33.123456789+23:59 \x01 \xff - - -"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m rfc5424.Message
		if err := m.UnmarshalBinary(data); err != nil {
			var bf rfc5424.ErrBadFormat
			if !errors.As(err, &bf) {
				t.Fatalf("error %v (%T) is not ErrBadFormat", err, err)
			}
		} else if b, err := m.MarshalBinary(); err == nil {
			var again rfc5424.Message
			if err := again.UnmarshalBinary(b); err != nil {
				t.Fatalf("re-marshalled %q does not parse: %v", b, err)
			}
			if d := diffMessage(again, normalized(m)); d != "" {
				t.Fatalf("%s: %q -> %+v -> %q -> %+v", d, data, m, b, again)
			}
		}
		var fm rfc5424.Message
		_, _ = fm.ReadFrom(bytes.NewReader(data))
	})
}
