package rfc5424_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

func ExampleMessage_MarshalBinary() {
	m := rfc5424.Message{
		Priority:  rfc5424.Daemon | rfc5424.Info,
		Timestamp: time.Date(2016, 2, 28, 9, 57, 10, 804642000, time.FixedZone("EST", -5*3600)),
		Hostname:  "myhostname",
		AppName:   "someapp",
		Message:   []byte("Hello, World!"),
	}
	m.AddDatum("foo@1234", "Revision", "1.2.3.4")
	b, err := m.MarshalBinary()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// <30>1 2016-02-28T09:57:10.804642-05:00 myhostname someapp - - [foo@1234 Revision="1.2.3.4"] Hello, World!
}

func ExampleMessage_MarshalBinary_invalid() {
	m := rfc5424.Message{Hostname: "my host"}
	_, err := m.MarshalBinary()
	var inv rfc5424.ErrInvalidValue
	if errors.As(err, &inv) {
		fmt.Println(inv.Property)
	}
	fmt.Println(err)
	// Output:
	// Hostname
	// Message cannot be serialized because Hostname is invalid: my host
}

func ExampleMessage_UnmarshalBinary() {
	var m rfc5424.Message
	err := m.UnmarshalBinary([]byte(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Priority, m.Timestamp, m.UseUTC, m.Hostname, m.AppName, m.MessageID)
	for _, sd := range m.StructuredData {
		fmt.Println(sd.ID, sd.Parameters)
	}
	fmt.Printf("%s\n", m.Message)
	// Output:
	// 165 2003-10-11 22:14:15.003 +0000 UTC true mymachine.example.com evntslog ID47
	// exampleSDID@32473 [{iut 3} {eventSource Application}]
	// An application event log entry
}

// Frames written with WriteTo are read back one at a time with ReadFrom,
// here from a buffer standing in for a TCP connection.
func ExampleMessage_ReadFrom() {
	var conn bytes.Buffer
	for i, text := range []string{"first", "second"} {
		m := rfc5424.Message{
			Priority:  rfc5424.User | rfc5424.Notice,
			Timestamp: time.Unix(1510251633, int64(i)*1000).UTC(),
			UseUTC:    true,
			AppName:   "app",
			Message:   []byte(text),
		}
		if _, err := m.WriteTo(&conn); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("%q\n", conn.String())

	for {
		var m rfc5424.Message
		n, err := m.ReadFrom(&conn)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d bytes: %s %s\n", n, m.Timestamp.Format(time.RFC3339Nano), m.Message)
	}
	// Output:
	// "44 <13>1 2017-11-09T18:20:33Z - app - - - first52 <13>1 2017-11-09T18:20:33.000001Z - app - - - second"
	// 47 bytes: 2017-11-09T18:20:33Z first
	// 55 bytes: 2017-11-09T18:20:33.000001Z second
}
