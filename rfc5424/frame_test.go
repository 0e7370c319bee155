package rfc5424_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

// onlyReader hides every method but Read, so ReadFrom cannot use
// io.ByteReader.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestReadFromStream reads several frames from one stream, through a plain
// reader, a one-byte-at-a-time reader and a bufio.Reader, and checks that
// each ReadFrom consumes exactly its frame.
func TestReadFromStream(t *testing.T) {
	msgs := []rfc5424.Message{
		{Priority: 14, Timestamp: epoch, Hostname: "h", Message: []byte("one")},
		{Priority: 11, Timestamp: epoch, AppName: "a", Message: []byte("two 2 ")},
		{Priority: 14, Timestamp: epoch, ProcessID: "p", Message: bytes.Repeat([]byte("x"), 100_000)},
	}
	var stream bytes.Buffer
	var sizes []int64
	for _, m := range msgs {
		n, err := m.WriteTo(&stream)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
	}
	stream.WriteString("trailer")
	readers := map[string]func([]byte) io.Reader{
		"plain":    func(b []byte) io.Reader { return onlyReader{bytes.NewReader(b)} },
		"one byte": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"bufio":    func(b []byte) io.Reader { return bufio.NewReader(bytes.NewReader(b)) },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			r := mk(stream.Bytes())
			for i, want := range msgs {
				var got rfc5424.Message
				n, err := got.ReadFrom(r)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if n != sizes[i] {
					t.Errorf("frame %d: consumed %d, want %d", i, n, sizes[i])
				}
				assertEqualMessage(t, got, want)
			}
			rest, err := io.ReadAll(r)
			if err != nil || string(rest) != "trailer" {
				t.Errorf("left %q, %v; want the trailer", rest, err)
			}
		})
	}
}

// TestReadFromErrors checks the errors of the framing layer.
func TestReadFromErrors(t *testing.T) {
	valid := "<14>1 - - - - - -"
	tests := []struct {
		name     string
		in       string
		wantN    int64
		check    func(error) bool
		wantText string
	}{
		{"empty stream", "", 0, func(err error) bool { return err == io.EOF }, "EOF"},
		{"EOF in length", "12", 2, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }, ""},
		{"no digits", " x", 1, isBadFormat("MSG-LEN"), ""},
		{"leading zero", "017 " + valid, 1, isBadFormat("MSG-LEN"), ""},
		{"zero length", "0 ", 1, isBadFormat("MSG-LEN"), ""},
		{"letter in length", "1a ", 2, isBadFormat("MSG-LEN"), ""},
		{"short body", "100 <14>1", 9, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }, "expected to read 100 bytes, got 5"},
		{"bad message", "3 abc", 5, isBadFormat("Priority"), ""},
		{"just over the maximum", strconv.Itoa(rfc5424.MaxMessageLength+1) + " x", int64(len(strconv.Itoa(rfc5424.MaxMessageLength + 1))),
			func(err error) bool { return errors.Is(err, rfc5424.ErrFrameTooLong) }, ""},
		{"10^12", "1000000000000 x", 8, func(err error) bool { return errors.Is(err, rfc5424.ErrFrameTooLong) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m rfc5424.Message
			n, err := m.ReadFrom(strings.NewReader(tt.in))
			if !tt.check(err) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if tt.wantText != "" && err.Error() != tt.wantText {
				t.Errorf("text %q, want %q", err.Error(), tt.wantText)
			}
			if n != tt.wantN {
				t.Errorf("consumed %d, want %d", n, tt.wantN)
			}
		})
	}
}

func isBadFormat(property string) func(error) bool {
	return func(err error) bool {
		var bf rfc5424.ErrBadFormat
		return errors.As(err, &bf) && bf.Property == property
	}
}

// TestReadFromNoProgress checks that a reader returning neither data nor
// an error makes ReadFrom fail instead of spinning.
func TestReadFromNoProgress(t *testing.T) {
	var m rfc5424.Message
	if _, err := m.ReadFrom(stuckReader{}); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v, want io.ErrNoProgress", err)
	}
}

type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

// bytesAllocated returns the bytes allocated by f.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadFromHugeLengthAllocation announces a frame of 10^12 bytes: the
// error comes before any body buffer is allocated (far below
// MaxMessageLength), in a handful of allocations.
func TestReadFromHugeLengthAllocation(t *testing.T) {
	const frame = "1000000000000 <14>1 - - - - - -"
	var err error
	allocated := bytesAllocated(func() {
		var m rfc5424.Message
		_, err = m.ReadFrom(strings.NewReader(frame))
	})
	if !errors.Is(err, rfc5424.ErrFrameTooLong) {
		t.Fatalf("err = %v, want ErrFrameTooLong", err)
	}
	if allocated > 64<<10 || allocated > rfc5424.MaxMessageLength {
		t.Errorf("allocated %d bytes refusing a 10^12-byte frame", allocated)
	}
	allocs := testing.AllocsPerRun(100, func() {
		var m rfc5424.Message
		_, _ = m.ReadFrom(strings.NewReader(frame))
	})
	if allocs > 3 {
		t.Errorf("%.0f allocations per refused frame, want at most 3", allocs)
	}
}

// TestReadFromAllocatesOnDemand announces the maximum length but sends only
// 1000 bytes: the buffer follows what arrived, not what was announced.
func TestReadFromAllocatesOnDemand(t *testing.T) {
	frame := strconv.Itoa(rfc5424.MaxMessageLength) + " " + strings.Repeat("x", 1000)
	var err error
	allocated := bytesAllocated(func() {
		var m rfc5424.Message
		_, err = m.ReadFrom(strings.NewReader(frame))
	})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want a short read", err)
	}
	if allocated > 128<<10 {
		t.Errorf("allocated %d bytes for 1000 bytes received", allocated)
	}
}

// TestReadFromMaximum reads a frame of exactly MaxMessageLength bytes and
// checks that reading it allocates at most twice that.
func TestReadFromMaximum(t *testing.T) {
	head := "<14>1 - - - - - - "
	body := head + strings.Repeat("x", rfc5424.MaxMessageLength-len(head))
	frame := strconv.Itoa(len(body)) + " " + body
	var err error
	var m rfc5424.Message
	allocated := bytesAllocated(func() {
		_, err = m.ReadFrom(strings.NewReader(frame))
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Message) != rfc5424.MaxMessageLength-len(head) {
		t.Errorf("message of %d bytes", len(m.Message))
	}
	if allocated > 3*rfc5424.MaxMessageLength {
		t.Errorf("allocated %d bytes for a frame of %d", allocated, rfc5424.MaxMessageLength)
	}
}

// TestWriteToSingleWrite checks that a frame goes out in one Write call
// and that WriteTo reports the writer's error and count.
func TestWriteToSingleWrite(t *testing.T) {
	m := rfc5424.Message{Timestamp: epoch, Message: bytes.Repeat([]byte("y"), 5000)}
	var w countingWriter
	n, err := m.WriteTo(&w)
	if err != nil {
		t.Fatal(err)
	}
	if w.calls != 1 || n != int64(w.buf.Len()) {
		t.Errorf("%d Write calls, returned %d for %d bytes", w.calls, n, w.buf.Len())
	}
	msg := "<0>1 1970-01-01T00:00:00+00:00 - - - - - " + strings.Repeat("y", 5000)
	want := strconv.Itoa(len(msg)) + " " + msg
	if w.buf.String() != want {
		t.Errorf("frame starts %q", w.buf.String()[:60])
	}

	failing := errors.New("disk full")
	n, err = m.WriteTo(errWriter{n: 3, err: failing})
	if !errors.Is(err, failing) || n != 3 {
		t.Errorf("WriteTo = %d, %v; want 3, %v", n, err, failing)
	}
}

type countingWriter struct {
	buf   bytes.Buffer
	calls int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls++
	return c.buf.Write(p)
}

type errWriter struct {
	n   int
	err error
}

func (e errWriter) Write([]byte) (int, error) { return e.n, e.err }
