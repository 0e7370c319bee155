package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// hostile is text an emitter could put in any field to attack the
// terminal running tail: clear the screen, move the cursor home, forge a
// whole output line after a newline, a carriage return, an 8-bit CSI
// (U+009B), a right-to-left override and an invalid UTF-8 byte.
const hostile = "x\x1b[2J\x1b[H\nFAKE 1970-01-01T00:00:00Z app/0 log OUT \"forged\"\r\u009b31m\u202e\xff"

func hostileEnvelopes() []*loggregator_v2.Envelope {
	h := hostile
	tags := map[string]string{"k" + h: "v" + h}
	return []*loggregator_v2.Envelope{
		{Timestamp: 1, SourceId: "src" + h, InstanceId: "inst" + h, Tags: tags,
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("payload" + h), Type: loggregator_v2.Log_OUT}}},
		{Timestamp: 2, SourceId: "src" + h, DeprecatedTags: map[string]*loggregator_v2.Value{"dk" + h: {Data: &loggregator_v2.Value_Text{Text: "dv" + h}}},
			Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "counter" + h, Delta: 1, Total: 2}}},
		{Timestamp: 3, InstanceId: "inst" + h,
			Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
				"metric" + h: {Unit: "unit" + h, Value: 1}}}}},
		{Timestamp: 4, Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "timer" + h, Start: 1, Stop: 2}}},
		{Timestamp: 5, Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "title" + h, Body: "body" + h}}},
		// Fields that would be confused with the layout: a source id
		// with the source/instance separator, a dash standing for an
		// empty id, a tag with '=', ']' and a space.
		{Timestamp: 6, SourceId: "a/b", InstanceId: "-", Tags: map[string]string{"a=b": "c] [d=e", "empty": ""},
			Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "two words"}}},
	}
}

// TestReadableEscapesEveryField renders envelopes that carry escape
// sequences, newlines and other non-printing runes in every field: each
// envelope must stay one line, no control byte (C0, DEL or C1) and no
// invalid UTF-8 may reach the output, and the exact output is pinned by a
// golden file.
func TestReadableEscapesEveryField(t *testing.T) {
	envs := hostileEnvelopes()
	var got []byte
	for _, e := range envs {
		got = appendReadable(got, e)
	}
	if n := bytes.Count(got, []byte{'\n'}); n != len(envs) {
		t.Errorf("%d lines for %d envelopes:\n%s", n, len(envs), got)
	}
	if !utf8.Valid(got) {
		t.Errorf("output is not valid UTF-8: %q", got)
	}
	for i, r := range string(got) {
		harmful := (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u202e'
		if harmful {
			t.Errorf("byte offset %d: raw %U in the output", i, r)
		}
	}
	for _, field := range []string{"src", "inst", "payload", "k", "v", "dk", "dv", "counter", "metric", "unit", "timer", "title", "body"} {
		if want := field + `x\x1b[2J\x1b[H\nFAKE`; !bytes.Contains(got, []byte(want)) {
			t.Errorf("field %s is not shown escaped (%s)", field, want)
		}
	}
	const path = "testdata/readable_hostile.golden"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("readable form changed (run go test -update):\n got:\n%s\nwant:\n%s", got, want)
	}
}

func FuzzReadableOneLine(f *testing.F) {
	f.Add("app", "0", "k", "v", "payload", "name", "unit")
	f.Add(hostile, hostile, hostile, hostile, hostile, hostile, hostile)
	f.Fuzz(func(t *testing.T, src, inst, key, val, payload, name, unit string) {
		envs := []*loggregator_v2.Envelope{
			{SourceId: src, InstanceId: inst, Tags: map[string]string{key: val},
				Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(payload)}}},
			{SourceId: src, DeprecatedTags: map[string]*loggregator_v2.Value{key: {Data: &loggregator_v2.Value_Text{Text: val}}},
				Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{name: {Unit: unit}}}}},
			{InstanceId: inst, Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: name}}},
			{Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: name}}},
			{Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: name, Body: payload}}},
		}
		for _, e := range envs {
			line := string(appendReadable(nil, e))
			if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 || !utf8.ValidString(line) {
				t.Fatalf("not one valid line: %q", line)
			}
			for _, r := range line[:len(line)-1] {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
					t.Fatalf("raw %U in %q", r, line)
				}
			}
		}
	})
}
