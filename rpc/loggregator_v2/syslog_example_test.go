package loggregator_v2_test

import (
	"fmt"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func ExampleEnvelope_Syslog() {
	e := &loggregator_v2.Envelope{
		Timestamp:  1510251633123456789,
		SourceId:   "app-guid",
		InstanceId: "0",
		Tags:       map[string]string{"source_type": "APP/PROC/WEB"},
		Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{
			Payload: []byte("hello"), Type: loggregator_v2.Log_ERR,
		}},
	}
	msgs, err := e.Syslog(loggregator_v2.WithSyslogHostname("org.space.app"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range msgs {
		fmt.Printf("%q\n", m)
	}
	// Output:
	// "<11>1 2017-11-09T18:20:33.123456+00:00 org.space.app app-guid 0 - [tags@47450 source_type=\"APP/PROC/WEB\"] hello\n"
}
