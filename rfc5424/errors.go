package rfc5424

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrInvalidValue is returned by the marshalling methods when a field
// cannot be written as RFC 5424 allows. Property is one of "Timestamp",
// "Hostname", "AppName", "ProcessID", "MessageID", "StructuredData/ID",
// "StructuredData/Name" or "StructuredData/Value"; Value is a copy of the
// offending string (header fields after cutting them to their maximum
// length; the timestamp in RFC 3339 form).
type ErrInvalidValue struct {
	Property string
	Value    interface{}
}

// Error returns "Message cannot be serialized because <Property> is
// invalid: <Value>".
func (e ErrInvalidValue) Error() string {
	return fmt.Sprintf("Message cannot be serialized because %s is invalid: %v", e.Property, e.Value)
}

// ErrBadFormat is returned by UnmarshalBinary and ReadFrom when the input
// is not a well-formed message. Property names the part that is wrong:
// "Priority", "Version", "Timestamp", "Hostname", "AppName", "ProcessID",
// "MessageID", "StructuredData", "StructuredData[]",
// "StructuredData[].Parameters", "StructuredData[].Parameters[]",
// "expected space" for a missing separator, and (from ReadFrom) "MSG-LEN"
// for a frame length that is not a decimal number without leading zeros
// followed by a space.
type ErrBadFormat struct {
	Property string
}

// Error returns "Message cannot be unmarshaled because it is not well
// formed (<Property>)".
func (e ErrBadFormat) Error() string {
	return "Message cannot be unmarshaled because it is not well formed (" + e.Property + ")"
}

// ErrFrameTooLong is wrapped by the error ReadFrom returns for a frame whose
// length exceeds MaxMessageLength. Test for it with errors.Is.
var ErrFrameTooLong = errors.New("rfc5424: frame length exceeds MaxMessageLength")

// shortReadError is the error of ReadFrom when the stream ends (or fails)
// before the announced number of bytes arrived. It unwraps to the reader's
// error, io.ErrUnexpectedEOF when the stream simply ended.
type shortReadError struct {
	want, got int
	err       error
}

func (e *shortReadError) Error() string {
	return "expected to read " + strconv.Itoa(e.want) + " bytes, got " + strconv.Itoa(e.got)
}

func (e *shortReadError) Unwrap() error { return e.err }
