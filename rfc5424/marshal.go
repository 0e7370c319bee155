package rfc5424

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Maximum lengths of the header fields in bytes (RFC 5424 section 6).
// Longer values are cut to these lengths when a message is written.
const (
	maxHostname  = 255
	maxAppName   = 48
	maxProcessID = 128
	maxMessageID = 32
)

// MarshalBinary returns the message in RFC 5424 form, without framing:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA[ MSG]
//
// Hostname, AppName, ProcessID and MessageID are first cut to 255, 48, 128
// and 32 bytes, then must be printable US-ASCII (33–126); empty ones are
// written as "-". Each structured-data element is written as
// [ID name="value" ...], elements back to back, or "-" when there is none;
// in values '\', '"' and ']' are escaped with a backslash. MSG and the space
// before it are written only when Message is not empty.
//
// Errors are of type ErrInvalidValue: a header field with a byte outside
// 33–126 (Property "Hostname", "AppName", "ProcessID", "MessageID"); an
// SD-ID or parameter name that is empty or has a byte outside 33–126 or one
// of '=', ']', '"' ("StructuredData/ID", "StructuredData/Name"; like the
// original, names longer than the RFC's 32 bytes are allowed); a parameter
// value that is not valid UTF-8 ("StructuredData/Value"); a timestamp whose
// year, once written, is outside 0000–9999 ("Timestamp").
//
// The timestamp is written in its own location with RFC5424TimeOffsetNum,
// or in UTC with RFC5424TimeOffsetUTC when UseUTC is set (the original
// wrote "Z" after a non-UTC time; this converts it first). A location whose
// offset is not a whole number of minutes under 24 hours, which the format
// cannot express, is written as UTC so the instant stays right.
func (m Message) MarshalBinary() ([]byte, error) {
	b, err := m.AppendBinary(make([]byte, 0, m.sizeHint()))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendBinary appends the message, as MarshalBinary writes it, to b and
// returns the extended buffer (it implements encoding.BinaryAppender). On
// error it returns b unchanged in length, and the error.
func (m Message) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	b, err := m.appendBinary(b)
	if err != nil {
		return b[:start], err
	}
	return b, nil
}

// sizeHint estimates the marshalled length, for a single allocation in the
// common case.
func (m Message) sizeHint() int {
	n := 48 + len(m.Hostname) + len(m.AppName) + len(m.ProcessID) + len(m.MessageID) + len(m.Message)
	for _, sd := range m.StructuredData {
		n += len(sd.ID) + 2
		for _, p := range sd.Parameters {
			n += len(p.Name) + len(p.Value) + 4
		}
	}
	return n
}

// appendBinary writes the message. Error values are copies, so that no
// part of m escapes through them: callers can build messages in stack
// memory.
func (m Message) appendBinary(b []byte) ([]byte, error) {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(m.Priority), 10)
	b = append(b, '>', '1', ' ')

	var err error
	if b, err = appendTimestamp(b, m.Timestamp, m.UseUTC); err != nil {
		return b, err
	}
	if b, err = appendHeaderField(b, "Hostname", m.Hostname, maxHostname); err != nil {
		return b, err
	}
	if b, err = appendHeaderField(b, "AppName", m.AppName, maxAppName); err != nil {
		return b, err
	}
	if b, err = appendHeaderField(b, "ProcessID", m.ProcessID, maxProcessID); err != nil {
		return b, err
	}
	if b, err = appendHeaderField(b, "MessageID", m.MessageID, maxMessageID); err != nil {
		return b, err
	}

	b = append(b, ' ')
	if len(m.StructuredData) == 0 {
		b = append(b, '-')
	}
	for i := range m.StructuredData {
		if b, err = appendElement(b, &m.StructuredData[i]); err != nil {
			return b, err
		}
	}

	if len(m.Message) > 0 {
		b = append(b, ' ')
		b = append(b, m.Message...)
	}
	return b, nil
}

// appendTimestamp writes the TIMESTAMP field, as t.AppendFormat with
// RFC5424TimeOffsetNum or RFC5424TimeOffsetUTC would (a test holds it to
// that), without the cost of parsing the layout on every call.
func appendTimestamp(b []byte, t time.Time, useUTC bool) ([]byte, error) {
	if useUTC {
		t = t.UTC()
	} else if _, off := t.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		t = t.UTC()
	}
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return b, ErrInvalidValue{Property: "Timestamp", Value: t.Format(time.RFC3339Nano)}
	}
	hour, minute, sec := t.Clock()
	b = append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if us := t.Nanosecond() / 1000; us > 0 {
		var frac [7]byte
		frac[0] = '.'
		for i := 6; i > 0; i-- {
			frac[i] = byte('0' + us%10)
			us /= 10
		}
		n := 7
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	if useUTC {
		return append(b, 'Z'), nil
	}
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	oh, om := off/3600, off/60%60
	return append(b, sign, byte('0'+oh/10), byte('0'+oh%10), ':', byte('0'+om/10), byte('0'+om%10)), nil
}

// appendHeaderField writes a space and the field cut to max bytes, or "-"
// when it is empty.
func appendHeaderField(b []byte, property, v string, max int) ([]byte, error) {
	if len(v) > max {
		v = v[:max]
	}
	b = append(b, ' ')
	if v == "" {
		return append(b, '-'), nil
	}
	for i := 0; i < len(v); i++ {
		if !printable[v[i]] {
			return b, ErrInvalidValue{Property: property, Value: strings.Clone(v)}
		}
	}
	return append(b, v...), nil
}

// appendElement writes one SD-ELEMENT.
func appendElement(b []byte, sd *StructuredData) ([]byte, error) {
	if !isSDName(sd.ID) {
		return b, ErrInvalidValue{Property: "StructuredData/ID", Value: strings.Clone(sd.ID)}
	}
	b = append(b, '[')
	b = append(b, sd.ID...)
	for _, p := range sd.Parameters {
		if !isSDName(p.Name) {
			return b, ErrInvalidValue{Property: "StructuredData/Name", Value: strings.Clone(p.Name)}
		}
		b = append(b, ' ')
		b = append(b, p.Name...)
		b = append(b, '=', '"')
		var ascii bool
		b, ascii = appendEscaped(b, p.Value)
		if !ascii && !utf8.ValidString(p.Value) {
			return b, ErrInvalidValue{Property: "StructuredData/Value", Value: strings.Clone(p.Value)}
		}
		b = append(b, '"')
	}
	return append(b, ']'), nil
}

// appendEscaped writes a PARAM-VALUE with '"', '\\' and ']' escaped, and
// reports whether v is all US-ASCII (so needs no UTF-8 check).
func appendEscaped(b []byte, v string) ([]byte, bool) {
	last := 0
	var high byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		high |= c
		if needsEscape[c] {
			b = append(b, v[last:i]...)
			b = append(b, '\\', c)
			last = i + 1
		}
	}
	return append(b, v[last:]...), high < utf8.RuneSelf
}

// Byte classes, indexed by byte value.
var (
	// printable: US-ASCII 33–126, the bytes of header fields.
	printable [256]bool
	// sdNameByte: printable other than '=', ']' and '"', the bytes of
	// SD-IDs and PARAM-NAMEs.
	sdNameByte [256]bool
	// needsEscape: the bytes escaped in a PARAM-VALUE.
	needsEscape [256]bool
)

func init() {
	for c := 33; c <= 126; c++ {
		printable[c] = true
		sdNameByte[c] = c != '=' && c != ']' && c != '"'
	}
	needsEscape['"'], needsEscape['\\'], needsEscape[']'] = true, true, true
}

// isSDName reports whether s can be written as an SD-ID or PARAM-NAME: not
// empty, printable US-ASCII other than '=', ']' and '"'. Its length is not
// limited.
func isSDName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !sdNameByte[s[i]] {
			return false
		}
	}
	return true
}
