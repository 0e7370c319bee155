package rfc5424_test

import (
	"encoding"
	"io"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

// This file pins the exported API of the package to the one of the
// original's rfc5424 package (spec: rfc5424.md): it does not compile if a
// name, a field, a type or a method signature changes. The conversions from
// struct literals require identical field names, types and order.

var (
	_ string = rfc5424.RFC5424TimeOffsetNum
	_ string = rfc5424.RFC5424TimeOffsetUTC

	_ rfc5424.Priority = rfc5424.Emergency
	_ int              = int(rfc5424.Priority(0))

	_ = rfc5424.SDParam(struct {
		Name  string
		Value string
	}{})
	_ = rfc5424.StructuredData(struct {
		ID         string
		Parameters []rfc5424.SDParam
	}{})
	_ = rfc5424.Message(struct {
		Priority       rfc5424.Priority
		Timestamp      time.Time
		UseUTC         bool
		Hostname       string
		AppName        string
		ProcessID      string
		MessageID      string
		StructuredData []rfc5424.StructuredData
		Message        []byte
	}{})
	_ = rfc5424.ErrInvalidValue(struct {
		Property string
		Value    interface{}
	}{})
	_ = rfc5424.ErrBadFormat(struct{ Property string }{})

	_ func(*rfc5424.Message, string, string, string)   = (*rfc5424.Message).AddDatum
	_ func(rfc5424.Message) ([]byte, error)            = rfc5424.Message.MarshalBinary
	_ func(*rfc5424.Message, []byte) error             = (*rfc5424.Message).UnmarshalBinary
	_ func(rfc5424.Message, io.Writer) (int64, error)  = rfc5424.Message.WriteTo
	_ func(*rfc5424.Message, io.Reader) (int64, error) = (*rfc5424.Message).ReadFrom
	_ func(rfc5424.ErrInvalidValue) string             = rfc5424.ErrInvalidValue.Error
	_ func(rfc5424.ErrBadFormat) string                = rfc5424.ErrBadFormat.Error

	_ encoding.BinaryMarshaler   = rfc5424.Message{}
	_ encoding.BinaryUnmarshaler = (*rfc5424.Message)(nil)
	_ io.WriterTo                = rfc5424.Message{}
	_ io.ReaderFrom              = (*rfc5424.Message)(nil)
	_ error                      = rfc5424.ErrInvalidValue{}
	_ error                      = rfc5424.ErrBadFormat{}

	// Additions of this library (documented in doc.go).
	_ func(rfc5424.Message, []byte) ([]byte, error) = rfc5424.Message.AppendBinary
	_ encoding.BinaryAppender                       = rfc5424.Message{}
	_ int                                           = rfc5424.MaxMessageLength
	_ error                                         = rfc5424.ErrFrameTooLong
)

// TestPriorityValues checks the values of the severity and facility
// constants: severities 0..7, facilities 0, 8, ... 152.
func TestPriorityValues(t *testing.T) {
	severities := []rfc5424.Priority{
		rfc5424.Emergency, rfc5424.Alert, rfc5424.Crit, rfc5424.Error,
		rfc5424.Warning, rfc5424.Notice, rfc5424.Info, rfc5424.Debug,
	}
	for i, p := range severities {
		if int(p) != i {
			t.Errorf("severity %d = %d", i, p)
		}
	}
	facilities := []rfc5424.Priority{
		rfc5424.Kern, rfc5424.User, rfc5424.Mail, rfc5424.Daemon, rfc5424.Auth,
		rfc5424.Syslog, rfc5424.Lpr, rfc5424.News, rfc5424.Uucp, rfc5424.Cron,
		rfc5424.Authpriv, rfc5424.Ftp, rfc5424.Local0, rfc5424.Local1, rfc5424.Local2,
		rfc5424.Local3, rfc5424.Local4, rfc5424.Local5, rfc5424.Local6, rfc5424.Local7,
	}
	for i, p := range facilities {
		if int(p) != i*8 {
			t.Errorf("facility %d = %d, want %d", i, p, i*8)
		}
	}
	if rfc5424.RFC5424TimeOffsetNum != "2006-01-02T15:04:05.999999-07:00" || rfc5424.RFC5424TimeOffsetUTC != "2006-01-02T15:04:05.999999Z" {
		t.Errorf("layouts %q %q", rfc5424.RFC5424TimeOffsetNum, rfc5424.RFC5424TimeOffsetUTC)
	}
}
