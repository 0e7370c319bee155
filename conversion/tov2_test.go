package conversion_test

import (
	"testing"

	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"
)

// commonV1 returns a v1 envelope of type t with origin, deployment, job,
// index and ip set.
func commonV1(t events.Envelope_EventType) *events.Envelope {
	return &events.Envelope{
		Origin:     proto.String("origin"),
		EventType:  t.Enum(),
		Timestamp:  proto.Int64(99),
		Deployment: proto.String("deployment"),
		Job:        proto.String("job"),
		Index:      proto.String("index"),
		Ip:         proto.String("ip"),
	}
}

// commonTags are the tags ToV2 injects for commonV1(t).
func commonTags(t string, more ...string) map[string]string {
	m := map[string]string{
		"origin":     "origin",
		"deployment": "deployment",
		"job":        "job",
		"index":      "index",
		"ip":         "ip",
		"__v1_type":  t,
	}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = more[i+1]
	}
	return m
}

func textTags(m map[string]string) map[string]*loggregator_v2.Value {
	out := make(map[string]*loggregator_v2.Value, len(m))
	for k, v := range m {
		out[k] = &loggregator_v2.Value{Data: &loggregator_v2.Value_Text{Text: v}}
	}
	return out
}

func gaugeValue(unit string, v float64) *loggregator_v2.GaugeValue {
	return &loggregator_v2.GaugeValue{Unit: unit, Value: v}
}

func uuid(low, high uint64) *events.UUID {
	return &events.UUID{Low: proto.Uint64(low), High: proto.Uint64(high)}
}

func containerMetricV1() *events.Envelope {
	e := commonV1(events.Envelope_ContainerMetric)
	e.Tags = map[string]string{"custom_tag": "custom"}
	e.ContainerMetric = &events.ContainerMetric{
		ApplicationId:    proto.String("some-id"),
		InstanceIndex:    proto.Int32(123),
		CpuPercentage:    proto.Float64(11),
		MemoryBytes:      proto.Uint64(13),
		DiskBytes:        proto.Uint64(15),
		MemoryBytesQuota: proto.Uint64(17),
		DiskBytesQuota:   proto.Uint64(19),
	}
	return e
}

func containerGauge() *loggregator_v2.Envelope_Gauge {
	return &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
		"cpu":          gaugeValue("percentage", 11),
		"memory":       gaugeValue("bytes", 13),
		"disk":         gaugeValue("bytes", 15),
		"memory_quota": gaugeValue("bytes", 17),
		"disk_quota":   gaugeValue("bytes", 19),
	}}}
}

// TestToV2 covers the ToV2 behaviour fixed by the original's tests
// (conversion-rules.md §4) and the rules of §1.
func TestToV2(t *testing.T) {
	httpV1 := func() *events.Envelope {
		e := commonV1(events.Envelope_HttpStartStop)
		e.HttpStartStop = &events.HttpStartStop{
			StartTimestamp: proto.Int64(99),
			StopTimestamp:  proto.Int64(100),
			RequestId:      uuid(0x6d47cd09695d01b3, 0xb75a4d822dadceaa),
			PeerType:       events.PeerType_Client.Enum(),
			Method:         events.Method_GET.Enum(),
			Uri:            proto.String("https://example.com"),
			RemoteAddress:  proto.String("remote-address"),
			UserAgent:      proto.String("user-agent"),
			StatusCode:     proto.Int32(200),
			ContentLength:  proto.Int64(1000000),
			ApplicationId:  uuid(8, 5),
			InstanceIndex:  proto.Int32(10),
			InstanceId:     proto.String("application-id"),
			Forwarded:      []string{"6.6.6.6", "8.8.8.8"},
		}
		return e
	}
	httpTags := commonTags("HttpStartStop",
		"request_id", "b3015d69-09cd-476d-aace-ad2d824d5ab7",
		"peer_type", "Client", "method", "GET", "uri", "https://example.com",
		"remote_address", "remote-address", "user_agent", "user-agent",
		"status_code", "200", "content_length", "1000000",
		"routing_instance_id", "application-id", "forwarded", "6.6.6.6\n8.8.8.8")
	cmMetrics := containerGauge()

	tests := []struct {
		name      string
		in        *events.Envelope
		preferred bool
		want      *loggregator_v2.Envelope
	}{
		{
			name: "injected origin overwrites the v1 tag (1)",
			in: func() *events.Envelope {
				e := commonV1(events.Envelope_LogMessage)
				e.Origin = proto.String("doppler")
				e.Tags = map[string]string{"origin": "not-doppler"}
				e.LogMessage = &events.LogMessage{Message: []byte("hi"), MessageType: events.LogMessage_OUT.Enum(), Timestamp: proto.Int64(1)}
				return e
			}(),
			preferred: true,
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "deployment/job",
				Tags:    commonTags("LogMessage", "origin", "doppler", "source_type", ""),
				Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hi")}},
			},
		},
		{
			name: "container metric, deprecated tags (2)",
			in:   containerMetricV1(),
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "some-id", InstanceId: "123",
				DeprecatedTags: textTags(commonTags("ContainerMetric", "custom_tag", "custom")),
				Message:        cmMetrics,
			},
		},
		{
			name:      "container metric, preferred tags (3)",
			in:        containerMetricV1(),
			preferred: true,
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "some-id", InstanceId: "123",
				Tags:    commonTags("ContainerMetric", "custom_tag", "custom"),
				Message: cmMetrics,
			},
		},
		{
			name: "container metric without app id uses deployment/job (4)",
			in: func() *events.Envelope {
				e := containerMetricV1()
				e.Tags = nil
				e.ContainerMetric.ApplicationId = nil
				e.Deployment = proto.String("some-deployment")
				e.Job = proto.String("some-job")
				return e
			}(),
			preferred: true,
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "some-deployment/some-job", InstanceId: "123",
				Tags:    commonTags("ContainerMetric", "deployment", "some-deployment", "job", "some-job"),
				Message: cmMetrics,
			},
		},
		{
			name: "counter moves source_id and instance_id tags (5)",
			in: func() *events.Envelope {
				e := commonV1(events.Envelope_CounterEvent)
				e.Tags = map[string]string{"custom_tag": "custom", "source_id": "source-id", "instance_id": "instance-id"}
				e.CounterEvent = &events.CounterEvent{Name: proto.String("name"), Delta: proto.Uint64(2), Total: proto.Uint64(99)}
				return e
			}(),
			preferred: true,
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "source-id", InstanceId: "instance-id",
				Tags:    commonTags("CounterEvent", "custom_tag", "custom"),
				Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "name", Delta: 2, Total: 99}},
			},
		},
		{
			name: "error becomes an OUT log (6)",
			in: func() *events.Envelope {
				e := commonV1(events.Envelope_Error)
				e.Error = &events.Error{Source: proto.String("test-source"), Code: proto.Int32(12345), Message: proto.String("test-message")}
				return e
			}(),
			preferred: true,
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "deployment/job",
				Tags:    commonTags("Error", "source", "test-source", "code", "12345"),
				Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("test-message")}},
			},
		},
		{
			name:      "http start stop becomes a timer (7, 10)",
			in:        httpV1(),
			preferred: true,
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "08000000-0000-0000-0500-000000000000", InstanceId: "10",
				Tags:    httpTags,
				Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "http", Start: 99, Stop: 100}},
			},
		},
		{
			name: "log message, deprecated tags (8)",
			in: func() *events.Envelope {
				e := commonV1(events.Envelope_LogMessage)
				e.LogMessage = &events.LogMessage{
					Message: []byte("hello"), MessageType: events.LogMessage_ERR.Enum(), Timestamp: proto.Int64(1),
					AppId: proto.String("uuid"), SourceType: proto.String("test-source-type"), SourceInstance: proto.String("test-source-instance"),
				}
				return e
			}(),
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "uuid", InstanceId: "test-source-instance",
				DeprecatedTags: textTags(commonTags("LogMessage", "source_type", "test-source-type")),
				Message:        &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hello"), Type: loggregator_v2.Log_ERR}},
			},
		},
		{
			name: "value metric keeps the instance_id tag (9, 11)",
			in: func() *events.Envelope {
				e := commonV1(events.Envelope_ValueMetric)
				e.Tags = map[string]string{"instance_id": "x"}
				e.ValueMetric = &events.ValueMetric{Name: proto.String("name"), Unit: proto.String("meters"), Value: proto.Float64(123)}
				return e
			}(),
			preferred: true,
			want: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "deployment/job", InstanceId: "x",
				Tags: commonTags("ValueMetric", "instance_id", "x"),
				Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
					"name": gaugeValue("meters", 123),
				}}},
			},
		},
		{
			name:      "bare envelope reads as HttpStartStop with zero values",
			in:        &events.Envelope{},
			preferred: true,
			want: &loggregator_v2.Envelope{
				SourceId: "/", InstanceId: "0",
				Tags: map[string]string{
					"origin": "", "deployment": "", "job": "", "index": "", "ip": "", "__v1_type": "HttpStartStop",
					"request_id": "00000000-0000-0000-0000-000000000000", "peer_type": "Client", "method": "GET",
					"uri": "", "remote_address": "", "user_agent": "", "status_code": "0", "content_length": "0",
					"routing_instance_id": "", "forwarded": "",
				},
				Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "http"}},
			},
		},
		{
			name: "unknown event type renders its number and has no payload",
			in: &events.Envelope{
				EventType: events.Envelope_EventType(42).Enum(),
				Tags:      map[string]string{"source_id": ""},
			},
			want: &loggregator_v2.Envelope{
				DeprecatedTags: textTags(map[string]string{
					"origin": "", "deployment": "", "job": "", "index": "", "ip": "", "__v1_type": "42",
				}),
			},
		},
		{
			name: "out-of-range enums render as numbers",
			in: func() *events.Envelope {
				e := &events.Envelope{EventType: events.Envelope_HttpStartStop.Enum()}
				e.HttpStartStop = &events.HttpStartStop{
					PeerType: events.PeerType(7).Enum(), Method: events.Method(99).Enum(),
					ApplicationId: uuid(0, 0), InstanceIndex: proto.Int32(-2147483648),
				}
				return e
			}(),
			preferred: true,
			want: &loggregator_v2.Envelope{
				SourceId: "/", InstanceId: "-2147483648",
				Tags: map[string]string{
					"origin": "", "deployment": "", "job": "", "index": "", "ip": "", "__v1_type": "HttpStartStop",
					"request_id": "00000000-0000-0000-0000-000000000000", "peer_type": "7", "method": "99",
					"uri": "", "remote_address": "", "user_agent": "", "status_code": "0", "content_length": "0",
					"routing_instance_id": "", "forwarded": "",
				},
				Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "http"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := proto.Clone(tt.in)
			got := conversion.ToV2(tt.in, tt.preferred)
			if !proto.Equal(got, tt.want) {
				t.Errorf("ToV2\n got:  %s\n want: %s", showJSON.Format(got), showJSON.Format(tt.want))
			}
			if tt.preferred && (got.Tags == nil || got.DeprecatedTags != nil) {
				t.Errorf("preferred: Tags nil=%v, DeprecatedTags nil=%v", got.Tags == nil, got.DeprecatedTags == nil)
			}
			if !tt.preferred && (got.Tags != nil || got.DeprecatedTags == nil) {
				t.Errorf("deprecated: Tags nil=%v, DeprecatedTags nil=%v", got.Tags == nil, got.DeprecatedTags == nil)
			}
			if !proto.Equal(before, tt.in) {
				t.Errorf("input modified: %s", showJSON.Format(tt.in))
			}
		})
	}
}

// TestToV2NilInputs checks that nil envelopes and nil sub-messages convert
// like their zero values instead of panicking.
func TestToV2NilInputs(t *testing.T) {
	types := []events.Envelope_EventType{
		events.Envelope_HttpStartStop, events.Envelope_LogMessage, events.Envelope_ValueMetric,
		events.Envelope_CounterEvent, events.Envelope_Error, events.Envelope_ContainerMetric,
	}
	for _, preferred := range []bool{true, false} {
		if conversion.ToV2(nil, preferred) == nil {
			t.Fatal("ToV2(nil) returned nil")
		}
		for _, et := range types {
			t.Run(et.String(), func(t *testing.T) {
				got := conversion.ToV2(&events.Envelope{EventType: et.Enum()}, preferred)
				if got == nil {
					t.Fatal("nil result")
				}
				if got.GetSourceId() != "/" {
					t.Errorf("source_id = %q, want %q", got.GetSourceId(), "/")
				}
			})
		}
	}
}
