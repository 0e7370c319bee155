package sse

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

type got struct {
	typ, data string
}

// readAll reads every event, recording ErrEventTooLarge as a "!toolarge"
// entry, until the stream ends; it returns the final error.
func readAll(t testing.TB, r *Reader) ([]got, error) {
	var out []got
	for i := 0; i < 1e6; i++ {
		ev, err := r.Next()
		if errors.Is(err, ErrEventTooLarge) {
			out = append(out, got{typ: "!toolarge"})
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, got{ev.Type, string(ev.Data)})
	}
	t.Fatalf("no end of stream")
	return nil, nil
}

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []got
		wantErr error
	}{
		{"empty", "", 0, nil, io.EOF},
		{"data with space", "data: {\"a\":1}\n\n", 0, []got{{"", `{"a":1}`}}, io.EOF},
		{"data without space", "data:x\n\n", 0, []got{{"", "x"}}, io.EOF},
		{"only one space removed", "data:  x\n\n", 0, []got{{"", " x"}}, io.EOF},
		{"multi-line data", "data: a\ndata: b\ndata:\n\n", 0, []got{{"", "a\nb\n"}}, io.EOF},
		{"empty data dispatches", "data\n\n", 0, []got{{"", ""}}, io.EOF},
		{"CRLF", "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", 0, []got{{"", "a\nb"}, {"", "c"}}, io.EOF},
		{"lone CR", "data: a\rdata: b\r\rdata: c\r\r", 0, []got{{"", "a\nb"}, {"", "c"}}, io.EOF},
		{"mixed line ends", "data: a\r\n\ndata: b\n\r", 0, []got{{"", "a"}, {"", "b"}}, io.EOF},
		{"comments ignored", ": hello\ndata: a\n: mid\n\n:\n\n", 0, []got{{"", "a"}}, io.EOF},
		{"id and retry ignored", "id: 7\nretry: 10\ndata: a\n\n", 0, []got{{"", "a"}}, io.EOF},
		{"unknown field ignored", "foo: bar\ndata: a\n\n", 0, []got{{"", "a"}}, io.EOF},
		{"heartbeat", "event: heartbeat\ndata: 1700000000\n\n", 0, []got{{TypeHeartbeat, "1700000000"}}, io.EOF},
		{"closing", "event: closing\ndata: closing due to stream timeout\n\n", 0, []got{{TypeClosing, "closing due to stream timeout"}}, io.EOF},
		{"event without data not dispatched", "event: heartbeat\n\ndata: a\n\n", 0, []got{{"", "a"}}, io.EOF},
		{"type resets after dispatch", "event: x\ndata: 1\n\ndata: 2\n\n", 0, []got{{"x", "1"}, {"", "2"}}, io.EOF},
		{"last event line wins", "event: a\nevent: closing\ndata: 1\n\n", 0, []got{{TypeClosing, "1"}}, io.EOF},
		{"BOM skipped", "\xEF\xBB\xBFdata: a\n\n", 0, []got{{"", "a"}}, io.EOF},
		{"unterminated at EOF", "data: a\n\ndata: b\n", 0, []got{{"", "a"}}, ErrUnterminatedEvent},
		{"partial line at EOF", "data: a\n\ndata: b", 0, []got{{"", "a"}}, ErrUnterminatedEvent},
		{"comment at EOF is fine", "data: a\n\n: bye\n", 0, []got{{"", "a"}}, io.EOF},
		{"too large skipped", "data: 0123456789\n\ndata: ok\n\n", 8, []got{{typ: "!toolarge"}, {"", "ok"}}, io.EOF},
		{"too large across lines", "data: 12345\ndata: 1234\n\ndata: ok\n\n", 9, []got{{typ: "!toolarge"}, {"", "ok"}}, io.EOF},
		{"exactly max", "data: 12345678\n\n", 8, []got{{"", "12345678"}}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []string{"whole", "onebyte"} {
				var src io.Reader = strings.NewReader(tt.in)
				if mode == "onebyte" {
					src = iotest.OneByteReader(src)
				}
				r := NewReader(src, tt.max)
				evs, err := readAll(t, r)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("%s: err = %v, want %v", mode, err, tt.wantErr)
				}
				if len(evs) != len(tt.want) {
					t.Fatalf("%s: events = %q, want %q", mode, evs, tt.want)
				}
				for i := range evs {
					if evs[i] != tt.want[i] {
						t.Errorf("%s: event %d = %q, want %q", mode, i, evs[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestReaderDefaultMax(t *testing.T) {
	if got := NewReader(strings.NewReader(""), 0).MaxEventSize(); got != DefaultMaxEventSize || got < 1<<20 {
		t.Fatalf("MaxEventSize() = %d", got)
	}
}

func TestReaderLongLinesAcrossBuffer(t *testing.T) {
	long := strings.Repeat("x", 3*readBufferSize+17)
	in := "data: " + long + "\r\n" + "event:" + strings.Repeat("y", 2*readBufferSize) + "\r\n\r\n" +
		strings.Repeat("z", readBufferSize+5) + ": v\n" + "data: tail\n\n"
	r := NewReader(strings.NewReader(in), 4*readBufferSize)
	evs, err := readAll(t, r)
	if err != io.EOF {
		t.Fatalf("err = %v", err)
	}
	if len(evs) != 2 || evs[0].data != long || evs[1].data != "tail" || evs[1].typ != "" {
		t.Fatalf("unexpected events (%d)", len(evs))
	}
	if !strings.HasPrefix(evs[0].typ, "yyyy") || evs[0].typ == TypeClosing {
		t.Fatalf("type = %.10q", evs[0].typ)
	}
}

// hugeLine streams "data: " followed by n bytes of 'a', then "\n\n" and a
// small event, without holding the line in memory.
type hugeLine struct {
	head, tail []byte
	n          int64
}

func (h *hugeLine) Read(p []byte) (int, error) {
	if len(h.head) > 0 {
		c := copy(p, h.head)
		h.head = h.head[c:]
		return c, nil
	}
	if h.n > 0 {
		c := int64(len(p))
		if c > h.n {
			c = h.n
		}
		fillA(p[:c])
		h.n -= c
		return int(c), nil
	}
	if len(h.tail) > 0 {
		c := copy(p, h.tail)
		h.tail = h.tail[c:]
		return c, nil
	}
	return 0, io.EOF
}

func TestReaderHugeEventBoundedMemory(t *testing.T) {
	const size = 100 << 20
	const maxEvent = 1 << 20
	src := &hugeLine{head: []byte("data: "), n: size, tail: []byte("\n\ndata: after\n\n")}
	r := NewReader(src, maxEvent)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	evs, err := readAll(t, r)
	runtime.ReadMemStats(&after)

	if err != io.EOF {
		t.Fatalf("err = %v", err)
	}
	if len(evs) != 2 || evs[0].typ != "!toolarge" || evs[1].data != "after" {
		t.Fatalf("events = %q", evs)
	}
	if r.Skipped() != 1 {
		t.Fatalf("Skipped() = %d", r.Skipped())
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("100 MiB data line: TotalAlloc delta %d bytes (max event size %d)", alloc, maxEvent)
	if limit := uint64(2*maxEvent + 3*readBufferSize); alloc > limit {
		t.Fatalf("allocated %d bytes reading a 100 MiB line, more than twice the max event size + buffers (%d)", alloc, limit)
	}
}

// aaaa is a block of 'a' bytes that fillA copies from.
var aaaa = bytes.Repeat([]byte{'a'}, 64<<10)

// fillA fills p with 'a' quickly (a byte loop is slow under -race).
func fillA(p []byte) {
	for len(p) > 0 {
		p = p[copy(p, aaaa):]
	}
}

// TestReaderMaxEventSizeGrowsOnDemand: an absurd maximum is clamped and the
// event buffer grows with what arrives instead of being reserved up front
// (a maximum of math.MaxInt used to panic with makeslice on the first
// event over 64 KiB, and 1 TiB ran out of memory).
func TestReaderMaxEventSizeGrowsOnDemand(t *testing.T) {
	tests := []struct {
		name      string
		max       int
		size      int64
		wantSkip  bool
		allocSize uint64 // bound on TotalAlloc growth
	}{
		// 100 KiB event: at most 2x the data (doubling) plus the read buffer
		// and the Event's copy made by readAll.
		{"MaxInt 100 KiB event", math.MaxInt, 100 << 10, false, 4*(100<<10) + 3*readBufferSize},
		{"1 TiB 100 KiB event", 1 << 40, 100 << 10, false, 4*(100<<10) + 3*readBufferSize},
		// 2 GiB line: over the clamp, skipped; the buffer grows up to the
		// clamp (doubling) and is released.
		{"MaxInt 2 GiB line", math.MaxInt, 2 << 30, true, 2*MaxEventSizeLimit + 3*readBufferSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.size > 1<<30 && testing.Short() {
				t.Skip("streams 2 GiB")
			}
			r := NewReader(&hugeLine{head: []byte("data: "), n: tt.size, tail: []byte("\n\ndata: after\n\n")}, tt.max)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			evs, err := readAll(t, r)
			runtime.ReadMemStats(&after)
			if err != io.EOF {
				t.Fatalf("err = %v", err)
			}
			if len(evs) != 2 || evs[1].data != "after" {
				t.Fatalf("%d events", len(evs))
			}
			if tt.wantSkip {
				if evs[0].typ != "!toolarge" || r.Skipped() != 1 {
					t.Fatalf("first event %.20q, skipped %d; want it skipped", evs[0].typ, r.Skipped())
				}
			} else if int64(len(evs[0].data)) != tt.size {
				t.Fatalf("first event has %d bytes, want %d", len(evs[0].data), tt.size)
			}
			if r.MaxEventSize() != MaxEventSizeLimit {
				t.Fatalf("MaxEventSize() = %d, want the clamp %d", r.MaxEventSize(), MaxEventSizeLimit)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: TotalAlloc grew by %d bytes (bound %d)", tt.name, alloc, tt.allocSize)
			if alloc > tt.allocSize {
				t.Fatalf("allocated %d bytes, more than %d", alloc, tt.allocSize)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"batch\":[]}\n\n",
		"event: heartbeat\ndata: 1\n\n",
		"event: closing\r\ndata: x\r\n\r\n",
		"data:a\rdata:b\r\r",
		": c\nid: 1\nretry: 2\n\n",
		"\xEF\xBB\xBFdata: a\n",
		"data: 0123456789abcdef\n\ndata: z\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, werr := readAll(t, NewReader(bytes.NewReader(in), 16))
		bytewise, berr := readAll(t, NewReader(iotest.OneByteReader(bytes.NewReader(in)), 16))
		if werr != berr {
			t.Fatalf("errors differ: %v vs %v", werr, berr)
		}
		if len(whole) != len(bytewise) {
			t.Fatalf("event counts differ: %d vs %d", len(whole), len(bytewise))
		}
		for i := range whole {
			if whole[i] != bytewise[i] {
				t.Fatalf("event %d differs: %q vs %q", i, whole[i], bytewise[i])
			}
			if len(whole[i].data) > 16 {
				t.Fatalf("event %d larger than max: %d", i, len(whole[i].data))
			}
		}
	})
}
