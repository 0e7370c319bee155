package conversion_test

import (
	"testing"

	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"
)

// benchV1 are typical v1 envelopes, one per benchmarked event type.
func benchV1() map[string]*events.Envelope {
	withTags := func(t events.Envelope_EventType) *events.Envelope {
		e := commonV1(t)
		e.Tags = map[string]string{"custom": "value", "other": "tag"}
		return e
	}
	log := withTags(events.Envelope_LogMessage)
	log.LogMessage = &events.LogMessage{
		Message: []byte("a log line of moderate length"), MessageType: events.LogMessage_OUT.Enum(), Timestamp: proto.Int64(1),
		AppId: proto.String("6b5f2d5c-9f47-4b34-a3c9-3f0a2b1c0d9e"), SourceType: proto.String("APP/PROC/WEB"), SourceInstance: proto.String("3"),
	}
	http := withTags(events.Envelope_HttpStartStop)
	http.HttpStartStop = &events.HttpStartStop{
		StartTimestamp: proto.Int64(99), StopTimestamp: proto.Int64(100),
		RequestId: uuid(0x6d47cd09695d01b3, 0xb75a4d822dadceaa), PeerType: events.PeerType_Server.Enum(), Method: events.Method_GET.Enum(),
		Uri: proto.String("https://example.com/path"), RemoteAddress: proto.String("10.0.0.1:4567"), UserAgent: proto.String("curl/8.0"),
		StatusCode: proto.Int32(200), ContentLength: proto.Int64(1234), ApplicationId: uuid(0x1122334455667788, 0x99aabbccddeeff00),
		InstanceIndex: proto.Int32(3), InstanceId: proto.String("d7f6bb5c-1f4e-4a52-6a3b-8c7d"), Forwarded: []string{"6.6.6.6", "8.8.8.8"},
	}
	value := withTags(events.Envelope_ValueMetric)
	value.ValueMetric = &events.ValueMetric{Name: proto.String("latency"), Unit: proto.String("ms"), Value: proto.Float64(12.5)}
	counter := withTags(events.Envelope_CounterEvent)
	counter.CounterEvent = &events.CounterEvent{Name: proto.String("requests"), Delta: proto.Uint64(5), Total: proto.Uint64(12345)}
	return map[string]*events.Envelope{"Log": log, "HttpStartStop": http, "ValueMetric": value, "CounterEvent": counter}
}

// benchV2 are typical v2 envelopes, one per benchmarked payload.
func benchV2() map[string]*loggregator_v2.Envelope {
	tags := func(more ...string) map[string]string {
		m := map[string]string{"origin": "o", "deployment": "d", "job": "j", "index": "i", "ip": "10.0.0.1", "custom": "value"}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}
	const app = "6b5f2d5c-9f47-4b34-a3c9-3f0a2b1c0d9e"
	return map[string]*loggregator_v2.Envelope{
		"Log": {
			Timestamp: 1, SourceId: app, InstanceId: "3", Tags: tags("__v1_type", "LogMessage", "source_type", "APP/PROC/WEB"),
			Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("a log line of moderate length")}},
		},
		"Counter": {
			Timestamp: 1, SourceId: app, InstanceId: "3", Tags: tags("__v1_type", "CounterEvent"),
			Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "requests", Delta: 5, Total: 12345}},
		},
		"Gauge": {
			Timestamp: 1, SourceId: app, InstanceId: "3", Tags: tags("__v1_type", "ValueMetric"),
			Message: gaugeEnv(map[string]*loggregator_v2.GaugeValue{"latency": gaugeValue("ms", 12.5)}),
		},
		"Timer": {
			Timestamp: 1, SourceId: app, InstanceId: "3",
			Tags: tags("__v1_type", "HttpStartStop", "request_id", "b3015d69-09cd-476d-aace-ad2d824d5ab7", "peer_type", "Server",
				"method", "GET", "uri", "https://example.com/path", "remote_address", "10.0.0.1:4567", "user_agent", "curl/8.0",
				"status_code", "200", "content_length", "1234", "routing_instance_id", "rid", "forwarded", "6.6.6.6\n8.8.8.8"),
			Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "http", Start: 99, Stop: 100}},
		},
	}
}

func BenchmarkToV2(b *testing.B) {
	envs := benchV1()
	for _, name := range []string{"Log", "HttpStartStop", "ValueMetric", "CounterEvent"} {
		for _, preferred := range []bool{true, false} {
			mode := "deprecated"
			if preferred {
				mode = "preferred"
			}
			b.Run(name+"/"+mode, func(b *testing.B) {
				e := envs[name]
				b.ReportAllocs()
				for b.Loop() {
					_ = conversion.ToV2(e, preferred)
				}
			})
		}
	}
}

func BenchmarkToV1(b *testing.B) {
	envs := benchV2()
	for _, name := range []string{"Log", "Counter", "Gauge", "Timer"} {
		b.Run(name, func(b *testing.B) {
			e := envs[name]
			b.ReportAllocs()
			for b.Loop() {
				_ = conversion.ToV1(e)
			}
		})
	}
}
