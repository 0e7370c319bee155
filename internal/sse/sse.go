// Package sse reads a Server-Sent Events stream as the HTML standard
// defines it ("Interpreting an event stream"), in bounded memory.
//
// Lines end with LF, CRLF or a lone CR. A line starting with ':' is a
// comment. "data" lines are collected and joined with '\n'; one space after
// the colon is removed. "event" sets the event type; "id", "retry" and
// unknown fields are ignored. A blank line dispatches the collected event if
// at least one data line was seen. A UTF-8 byte order mark at the start of
// the stream is skipped.
//
// Memory is bounded by what arrives: the Reader keeps a fixed 64 KiB read
// buffer, and the event data buffer grows on demand (doubling, so at most
// twice the largest event read so far, never beyond MaxEventSize). The
// maximum itself is clamped to MaxEventSizeLimit. An event whose data would
// exceed the maximum is read to its end and discarded, its buffer is
// released, and Next reports ErrEventTooLarge; the Reader stays usable. At the end of the stream an event that was not
// terminated by a blank line is not dispatched (as the standard requires)
// and Next reports ErrUnterminatedEvent instead of io.EOF.
//
// A Reader is not safe for concurrent use.
package sse

import (
	"bytes"
	"errors"
	"io"
	"math/bits"
)

// DefaultMaxEventSize is the largest event data, in bytes, a Reader
// accepts when NewReader is given a size of zero or less: 16 MiB, enough
// for the largest envelope batch the RLP gateway can send (see
// loggregator.DefaultRLPGatewayMaxEventSize for the arithmetic).
const DefaultMaxEventSize = 16 << 20

// MaxEventSizeLimit is the largest maximum event size a Reader accepts:
// 64 MiB. Larger values given to NewReader are clamped to it. It is above
// the worst-case JSON encoding of the largest batch the gateway can
// receive (10 MiB of protobuf whose strings are all control characters,
// escaped as \u00XX: 60 MiB).
const MaxEventSizeLimit = 64 << 20

// readBufferSize is the size of the fixed read buffer.
const readBufferSize = 64 << 10

// maxEventTypeSize bounds the event type kept from an "event" line. Longer
// types are kept truncated and marked so they match no known type.
const maxEventTypeSize = 64

// Event types the RLP gateway sends besides plain data frames.
const (
	// TypeHeartbeat is the gateway's keep-alive event.
	TypeHeartbeat = "heartbeat"
	// TypeClosing announces that the gateway ends the stream.
	TypeClosing = "closing"
)

var (
	// ErrEventTooLarge is returned by Next for an event whose data exceeded
	// the maximum event size. The event was read and discarded; call Next
	// again for the following events.
	ErrEventTooLarge = errors.New("sse: event larger than the maximum event size discarded")
	// ErrUnterminatedEvent is returned by Next when the stream ended inside
	// an event (no blank line after it). The event is discarded, as the
	// standard requires; the stream is over.
	ErrUnterminatedEvent = errors.New("sse: stream ended inside an event that had no terminating blank line; event discarded")
)

// Event is one dispatched event.
type Event struct {
	// Type is the value of the last "event" line, or "" for the default
	// ("message") type.
	Type string
	// Data is the event data: the data lines joined with '\n'. It is only
	// valid until the next call to Next.
	Data []byte
}

// field identifies the field of the line being read.
type field uint8

const (
	fieldIgnore field = iota
	fieldData
	fieldEvent
)

// Reader reads events from an io.Reader.
type Reader struct {
	src    io.Reader
	buf    []byte
	r, w   int
	rerr   error // sticky error from src
	max    int
	start  bool // nothing read yet (BOM check)
	skipLF bool // the previous line ended with CR: drop a leading LF

	// Line being read when it spans several buffer fills.
	inLine    bool
	lineField field
	lineStrip bool // a leading space of the value may still need removing

	// Event being collected.
	data      []byte
	dataLines int
	evType    []byte
	typeLong  bool
	tooLarge  bool
	pending   bool // a field line was seen since the last blank line
	skipped   int64
}

// NewReader returns a Reader of src that accepts events of up to
// maxEventSize bytes of data (DefaultMaxEventSize when maxEventSize <= 0,
// MaxEventSizeLimit when it is larger than that).
func NewReader(src io.Reader, maxEventSize int) *Reader {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	maxEventSize = min(maxEventSize, MaxEventSizeLimit)
	return &Reader{
		src:   src,
		buf:   make([]byte, readBufferSize),
		max:   maxEventSize,
		start: true,
	}
}

// MaxEventSize returns the maximum event data size in effect.
func (r *Reader) MaxEventSize() int { return r.max }

// Skipped returns how many events were discarded for being too large.
func (r *Reader) Skipped() int64 { return r.skipped }

// Next returns the next event. It returns ErrEventTooLarge for a discarded
// oversized event (the Reader remains usable), ErrUnterminatedEvent or
// io.EOF at the end of the stream, and any other error from the underlying
// reader.
func (r *Reader) Next() (Event, error) {
	for {
		if r.r == r.w {
			if err := r.fill(); err != nil {
				return Event{}, r.end(err)
			}
			continue
		}
		if r.start {
			if r.w-r.r < 3 && r.rerr == nil {
				if err := r.fill(); err == nil {
					continue
				}
			}
			r.start = false
			if bytes.HasPrefix(r.buf[r.r:r.w], []byte("\xEF\xBB\xBF")) {
				r.r += 3
				continue
			}
		}
		if r.skipLF {
			r.skipLF = false
			if r.buf[r.r] == '\n' {
				r.r++
				continue
			}
		}
		avail := r.buf[r.r:r.w]
		end := bytes.IndexByte(avail, '\n')
		seg := avail
		if end >= 0 {
			seg = avail[:end]
		}
		if cr := bytes.IndexByte(seg, '\r'); cr >= 0 {
			end = cr
			r.skipLF = true
		}
		if end < 0 {
			// No line end in the buffer. Make room and read more, or, when
			// the buffer is full of this one line, consume it as a chunk.
			if r.r > 0 || r.w < len(r.buf) {
				if err := r.fill(); err != nil {
					return Event{}, r.end(err)
				}
				continue
			}
			r.chunk(avail, false)
			r.r = r.w
			continue
		}
		line := avail[:end]
		r.r += end + 1
		if !r.inLine && len(line) == 0 {
			if ev, ok, err := r.dispatch(); ok || err != nil {
				return ev, err
			}
			continue
		}
		r.chunk(line, true)
	}
}

// fill compacts the buffer and reads more bytes into it.
func (r *Reader) fill() error {
	if r.rerr != nil {
		return r.rerr
	}
	if r.r > 0 {
		copy(r.buf, r.buf[r.r:r.w])
		r.w -= r.r
		r.r = 0
	}
	for tries := 0; tries < 100; tries++ {
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			r.rerr = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	r.rerr = io.ErrNoProgress
	return r.rerr
}

// end turns the underlying reader's error into Next's result, discarding
// any incomplete event.
func (r *Reader) end(err error) error {
	incomplete := r.pending || r.inLine || r.r < r.w
	r.r, r.w = 0, 0
	r.resetEvent()
	r.inLine = false
	if err == io.EOF && incomplete {
		return ErrUnterminatedEvent
	}
	return err
}

// chunk processes part of a line; last reports whether the line ends here.
func (r *Reader) chunk(b []byte, last bool) {
	if !r.inLine {
		r.inLine = true
		r.lineField = fieldIgnore
		r.lineStrip = false
		if len(b) > 0 && b[0] == ':' {
			// Comment.
		} else {
			colon := bytes.IndexByte(b, ':')
			var name []byte
			switch {
			case colon >= 0:
				name, b = b[:colon], b[colon+1:]
			case last:
				name, b = b, nil
			default:
				// A field name longer than the read buffer: no such
				// field exists; ignore the line.
				name, b = nil, nil
			}
			r.pending = true
			switch string(name) {
			case "data":
				r.lineField = fieldData
				r.lineStrip = true
				if r.dataLines > 0 {
					r.appendData([]byte{'\n'})
				}
				r.dataLines++
			case "event":
				r.lineField = fieldEvent
				r.lineStrip = true
				r.evType = r.evType[:0]
				r.typeLong = false
			}
		}
	}
	if r.lineStrip && len(b) > 0 {
		r.lineStrip = false
		if b[0] == ' ' {
			b = b[1:]
		}
	}
	switch r.lineField {
	case fieldData:
		r.appendData(b)
	case fieldEvent:
		room := maxEventTypeSize - len(r.evType)
		if len(b) > room {
			b = b[:room]
			r.typeLong = true
		}
		r.evType = append(r.evType, b...)
	}
	if last {
		r.inLine = false
	}
}

// appendData adds b to the event data unless that exceeds the maximum.
func (r *Reader) appendData(b []byte) {
	if r.tooLarge {
		return
	}
	need := len(r.data) + len(b)
	if need > r.max {
		// Release the buffer: an oversized event must not pin memory
		// for the rest of the stream.
		r.tooLarge = true
		r.data = nil
		return
	}
	if need > cap(r.data) {
		// Grow geometrically, as data arrives: powers of two, so the
		// buffer is at most twice the data it holds (and all growth so
		// far sums to less than that again), never above the maximum.
		n := min(max(1<<bits.Len(uint(need-1)), 512), r.max)
		nb := make([]byte, len(r.data), n)
		copy(nb, r.data)
		r.data = nb
	}
	r.data = append(r.data, b...)
}

// dispatch handles a blank line.
func (r *Reader) dispatch() (Event, bool, error) {
	defer r.resetEvent()
	if r.tooLarge {
		r.skipped++
		return Event{}, false, ErrEventTooLarge
	}
	if r.dataLines == 0 {
		return Event{}, false, nil
	}
	ev := Event{Data: r.data}
	switch {
	case len(r.evType) == 0:
	case r.typeLong:
		ev.Type = string(r.evType) + "..."
	case string(r.evType) == TypeHeartbeat:
		ev.Type = TypeHeartbeat
	case string(r.evType) == TypeClosing:
		ev.Type = TypeClosing
	default:
		ev.Type = string(r.evType)
	}
	return ev, true, nil
}

func (r *Reader) resetEvent() {
	r.data = r.data[:0]
	r.dataLines = 0
	r.evType = r.evType[:0]
	r.typeLong = false
	r.tooLarge = false
	r.pending = false
}
