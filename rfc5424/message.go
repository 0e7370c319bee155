package rfc5424

import "time"

// Timestamp layouts of the TIMESTAMP field: microsecond precision (trailing
// zeros and a bare dot are dropped), with a numeric offset, or with "Z" for
// UTC.
const (
	RFC5424TimeOffsetNum = "2006-01-02T15:04:05.999999-07:00"
	RFC5424TimeOffsetUTC = "2006-01-02T15:04:05.999999Z"
)

// Priority is the PRI value of a message: a facility ORed with a severity,
// for example Daemon|Info. It is written as its decimal integer value and
// not range-checked.
type Priority int

// Severities (RFC 5424 section 6.2.1), the low three bits of a Priority.
const (
	Emergency Priority = iota
	Alert
	Crit
	Error
	Warning
	Notice
	Info
	Debug
)

// Facilities, multiples of 8, with the values of the original library:
// Kern..Ftp are RFC 5424's facilities 0..11, but Local0..Local7 follow
// directly as 12..19 (values 96..152), whereas RFC 5424 section 6.2.1
// numbers local0..local7 16..23. For the RFC's local facilities write the
// value, for example Priority(20<<3) for local4.
const (
	Kern Priority = iota << 3
	User
	Mail
	Daemon
	Auth
	Syslog
	Lpr
	News
	Uucp
	Cron
	Authpriv
	Ftp
	Local0
	Local1
	Local2
	Local3
	Local4
	Local5
	Local6
	Local7
)

// SDParam is one SD-PARAM of a structured-data element: Name="Value".
type SDParam struct {
	Name  string
	Value string
}

// StructuredData is one SD-ELEMENT: an SD-ID and its parameters, written as
// [ID name="value" ...].
type StructuredData struct {
	ID         string
	Parameters []SDParam
}

// Message is an RFC 5424 syslog message. The zero value is a valid message
// with priority 0, the zero time and every header field empty (written as
// "-").
type Message struct {
	// Priority is the PRI field.
	Priority Priority
	// Timestamp is written with microsecond precision: with
	// RFC5424TimeOffsetNum in its own location, or, when UseUTC is set,
	// converted to UTC and written with RFC5424TimeOffsetUTC.
	Timestamp time.Time
	// UseUTC selects the "Z" form of the timestamp. UnmarshalBinary sets
	// it when the timestamp read ends in "Z".
	UseUTC bool
	// Hostname, AppName, ProcessID and MessageID are the header fields;
	// empty ones are written as "-" (the NILVALUE) and "-" reads back as
	// empty.
	Hostname  string
	AppName   string
	ProcessID string
	MessageID string
	// StructuredData holds the SD-ELEMENTs in order; none is written
	// as "-".
	StructuredData []StructuredData
	// Message is the MSG part, written after one space when it is not
	// empty. It is not checked or changed.
	Message []byte
}

// AddDatum appends the parameter Name="Value" to the structured-data
// element with the given ID, creating that element at the end of
// StructuredData if there is none.
func (m *Message) AddDatum(ID string, Name string, Value string) {
	p := SDParam{Name: Name, Value: Value}
	for i := range m.StructuredData {
		if m.StructuredData[i].ID == ID {
			m.StructuredData[i].Parameters = append(m.StructuredData[i].Parameters, p)
			return
		}
	}
	m.StructuredData = append(m.StructuredData, StructuredData{ID: ID, Parameters: []SDParam{p}})
}
