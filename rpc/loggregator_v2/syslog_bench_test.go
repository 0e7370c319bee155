package loggregator_v2_test

import (
	"testing"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// BenchmarkSyslog measures Envelope.Syslog for each payload kind, with the
// tags a Cloud Foundry application log carries.
func BenchmarkSyslog(b *testing.B) {
	tags := map[string]string{
		"source_type":       "APP/PROC/WEB",
		"organization_name": "org",
		"space_name":        "space",
		"app_name":          "app",
		"deployment":        "cf",
	}
	base := func(set func(*loggregator_v2.Envelope)) *loggregator_v2.Envelope {
		e := &loggregator_v2.Envelope{
			Timestamp:  1510251633123456789,
			SourceId:   "8f1f5a1e-0b0c-4a2b-9a4e-7b8e1b7e2c11",
			InstanceId: "0",
			Tags:       tags,
		}
		set(e)
		return e
	}
	cases := []struct {
		name string
		env  *loggregator_v2.Envelope
	}{
		{"log", base(func(e *loggregator_v2.Envelope) {
			e.Message = &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{
				Payload: []byte(`127.0.0.1 - - [09/Nov/2017:18:20:33 +0000] "GET /v2/info HTTP/1.1" 200 512 "-" "curl/7.58.0"`),
				Type:    loggregator_v2.Log_OUT,
			}}
		})},
		{"gauge", base(func(e *loggregator_v2.Envelope) {
			e.Message = &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
				"cpu":    {Unit: "percentage", Value: 0.2512},
				"memory": {Unit: "bytes", Value: 123456789},
				"disk":   {Unit: "bytes", Value: 987654321},
			}}}
		})},
		{"counter", base(func(e *loggregator_v2.Envelope) {
			e.Message = &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "requests", Delta: 5, Total: 1234567}}
		})},
		{"event", base(func(e *loggregator_v2.Envelope) {
			e.Message = &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "app crashed", Body: "exit status 137"}}
		})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.env.Syslog(loggregator_v2.WithSyslogHostname("org.space.app")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
