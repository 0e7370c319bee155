// Package rfc5424 reads and writes syslog messages in the format of
// RFC 5424, and frames them for stream transports with the octet counting
// of RFC 5425 section 4.3.
//
// It has the API of the package of the same name in later versions of the
// original library (code.cloudfoundry.org/go-loggregator/v10/rfc5424), so
// programs written for those versions only change the import path.
//
// # Writing
//
// Fill a [Message] and call [Message.MarshalBinary] (or
// [Message.AppendBinary] to reuse a buffer) for the bare message, or
// [Message.WriteTo] for a frame "<length> <message>" written with a single
// Write call:
//
//	m := rfc5424.Message{
//		Priority:  rfc5424.Daemon | rfc5424.Info,
//		Timestamp: time.Now(),
//		Hostname:  "myhostname",
//		AppName:   "someapp",
//		Message:   []byte("Hello, World!"),
//	}
//	m.AddDatum("foo@1234", "Revision", "1.2.3.4")
//	_, err := m.WriteTo(conn)
//
// Header fields are cut to the RFC's lengths before they are checked, and a
// field or structured-data name or value the RFC does not allow is reported
// as an [ErrInvalidValue] naming the field, instead of producing a message
// that receivers cannot parse.
//
// # Reading
//
// [Message.UnmarshalBinary] parses one message; [Message.ReadFrom] reads one
// octet-counted frame from a stream and parses it, consuming exactly the
// bytes of that frame, so it can be called in a loop on a connection.
// Malformed input is reported as an [ErrBadFormat] naming the part that is
// wrong. ReadFrom refuses frames longer than [MaxMessageLength] with an
// error wrapping [ErrFrameTooLong] before reading their body, and allocates
// memory as the body arrives rather than for the announced length, so a
// hostile peer cannot make it allocate without limit.
//
// # Additions to the original API
//
// [Message.AppendBinary] (encoding.BinaryAppender), [MaxMessageLength] and
// [ErrFrameTooLong] are new. Behaviour differs from the original where it
// produced messages its own parser rejected: empty SD-IDs and parameter
// names, and timestamps whose year or offset RFC 5424 cannot express, are
// errors or written in UTC (see [Message.MarshalBinary]); with UseUTC a
// non-UTC time is converted instead of getting a wrong "Z".
//
// # Concurrency
//
// A Message is a plain value: concurrent marshalling of one Message is
// safe, but a Message must not be modified (including by UnmarshalBinary,
// ReadFrom or AddDatum) while another goroutine uses it.
package rfc5424
