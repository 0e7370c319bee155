package rfc5424

import (
	"io"
	"strconv"
)

// MaxMessageLength is the largest frame length, in bytes, that ReadFrom
// accepts (8 MiB). A longer announced length is refused with an error
// wrapping ErrFrameTooLong before any of the body is read. WriteTo does not
// check it.
const MaxMessageLength = 8 << 20

// readChunk is the first allocation for a frame body; it grows by doubling
// as bytes arrive, so memory follows what the peer actually sent.
const readChunk = 32 << 10

// frameHeadroom is room reserved in front of the message for "<len> ".
const frameHeadroom = 21

// WriteTo writes the message framed with octet counting (RFC 5425 section
// 4.3): the decimal byte length of the marshalled message, one space, then
// the message, in a single Write call. It returns the number of bytes
// written. Marshalling errors are those of MarshalBinary; nothing is
// written then.
func (m Message) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, frameHeadroom, frameHeadroom+m.sizeHint())
	buf, err := m.AppendBinary(buf)
	if err != nil {
		return 0, err
	}
	var lenBuf [frameHeadroom]byte
	head := append(strconv.AppendInt(lenBuf[:0], int64(len(buf)-frameHeadroom), 10), ' ')
	start := frameHeadroom - len(head)
	copy(buf[start:], head)
	n, err := w.Write(buf[start:])
	return int64(n), err
}

// ReadFrom reads one octet-counted frame (RFC 5425 section 4.3) from r and
// unmarshals its message into m as UnmarshalBinary does. It reads the
// length one byte at a time and then exactly that many bytes, so it never
// consumes bytes of the next frame and can be called in a loop on a
// connection. It returns the number of bytes consumed.
//
// The length must be a decimal number without leading zeros followed by a
// space (else ErrBadFormat with Property "MSG-LEN") and at most
// MaxMessageLength (else an error wrapping ErrFrameTooLong, returned as
// soon as the digits read exceed it). A stream that ends before the first
// byte returns io.EOF; one that ends inside the length returns
// io.ErrUnexpectedEOF; one that ends inside the body returns the error
// "expected to read N bytes, got M", which wraps io.ErrUnexpectedEOF (or
// the reader's error). The body buffer grows as bytes arrive instead of
// being allocated for the announced length.
func (m *Message) ReadFrom(r io.Reader) (int64, error) {
	length, consumed, err := readLength(r)
	if err != nil {
		return consumed, err
	}
	buf := make([]byte, 0, min(length, readChunk))
	for len(buf) < length {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(length, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		k, err := io.ReadFull(r, buf[len(buf):min(length, cap(buf))])
		buf = buf[:len(buf)+k]
		consumed += int64(k)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return consumed, &shortReadError{want: length, got: len(buf), err: err}
		}
	}
	// buf is ours and not reused: MSG may refer to it instead of a copy.
	return consumed, m.unmarshal(buf, false)
}

// readLength reads "<MSG-LEN> " one byte at a time.
func readLength(r io.Reader) (length int, consumed int64, err error) {
	br, ok := r.(io.ByteReader)
	if !ok {
		br = &oneByteReader{r: r}
	}
	for {
		c, err := br.ReadByte()
		if err != nil {
			if err == io.EOF && consumed > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, consumed, err
		}
		consumed++
		switch {
		case c == ' ' && length > 0:
			return length, consumed, nil
		case c >= '0' && c <= '9' && (c != '0' || length > 0):
			length = length*10 + int(c-'0')
			if length > MaxMessageLength {
				return 0, consumed, &frameTooLongError{}
			}
		default:
			return 0, consumed, ErrBadFormat{Property: "MSG-LEN"}
		}
	}
}

// frameTooLongError is the error for a length over MaxMessageLength.
type frameTooLongError struct{}

func (*frameTooLongError) Error() string {
	return "rfc5424: frame length exceeds the maximum of " + strconv.Itoa(MaxMessageLength) + " bytes"
}

func (*frameTooLongError) Unwrap() error { return ErrFrameTooLong }

// oneByteReader reads single bytes from a reader without buffering ahead.
type oneByteReader struct {
	r   io.Reader
	buf [1]byte
}

// ReadByte returns the next byte; a reader that returns neither data nor
// an error 100 times in a row gets io.ErrNoProgress, as in bufio.
func (o *oneByteReader) ReadByte() (byte, error) {
	for range 100 {
		n, err := o.r.Read(o.buf[:])
		if n == 1 {
			return o.buf[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, io.ErrNoProgress
}
