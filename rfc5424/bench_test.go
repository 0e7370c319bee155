package rfc5424_test

import (
	"bytes"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

// benchMessage is an application log line as the syslog agent sends it.
func benchMessage() rfc5424.Message {
	m := rfc5424.Message{
		Priority:  rfc5424.User | rfc5424.Info,
		Timestamp: time.Date(2017, 11, 9, 18, 20, 33, 123456789, time.UTC),
		Hostname:  "org.space.app",
		AppName:   "8f1f5a1e-0b0c-4a2b-9a4e-7b8e1b7e2c11",
		ProcessID: "[APP/PROC/WEB/0]",
		Message:   []byte(`127.0.0.1 - - [09/Nov/2017:18:20:33 +0000] "GET /v2/info HTTP/1.1" 200 512 "-" "curl/7.58.0"` + "\n"),
	}
	m.AddDatum("tags@47450", "app_name", "app")
	m.AddDatum("tags@47450", "organization_name", "org")
	m.AddDatum("tags@47450", "source_type", "APP/PROC/WEB")
	m.AddDatum("tags@47450", "space_name", "space")
	return m
}

func BenchmarkMarshalBinary(b *testing.B) {
	m := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalBinary(b *testing.B) {
	in, err := benchMessage().MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var m rfc5424.Message
		if err := m.UnmarshalBinary(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteToReadFrom frames a message and reads it back, as a
// syslog drain over TCP does.
func BenchmarkWriteToReadFrom(b *testing.B) {
	m := benchMessage()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if _, err := m.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
		var got rfc5424.Message
		if _, err := got.ReadFrom(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
