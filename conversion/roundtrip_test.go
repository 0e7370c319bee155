package conversion_test

import (
	"testing"

	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"
)

// TestRoundTripV1 checks the exact v1 → ToV2(false) → ToV1 round trips of
// conversion-rules.md §4: envelope fields set and a source_id tag equal to
// what ToV1 writes back.
func TestRoundTripV1(t *testing.T) {
	withSource := func(e *events.Envelope, id string) *events.Envelope {
		e.Tags = map[string]string{"source_id": id, "custom": "x"}
		return e
	}
	http := commonV1(events.Envelope_HttpStartStop)
	http.HttpStartStop = &events.HttpStartStop{
		StartTimestamp: proto.Int64(1), StopTimestamp: proto.Int64(2),
		RequestId: uuid(0x6d47cd09695d01b3, 0xb75a4d822dadceaa), PeerType: events.PeerType_Server.Enum(), Method: events.Method_PATCH.Enum(),
		Uri: proto.String("/u"), RemoteAddress: proto.String("r"), UserAgent: proto.String("ua"),
		StatusCode: proto.Int32(503), ContentLength: proto.Int64(7), ApplicationId: uuid(8, 5),
		InstanceIndex: proto.Int32(4), InstanceId: proto.String("rid"), Forwarded: []string{"a", "b"},
	}
	log := commonV1(events.Envelope_LogMessage)
	log.LogMessage = &events.LogMessage{
		Message: []byte("m"), MessageType: events.LogMessage_ERR.Enum(), Timestamp: proto.Int64(99),
		AppId: proto.String("app"), SourceType: proto.String("st"), SourceInstance: proto.String("si"),
	}
	value := commonV1(events.Envelope_ValueMetric)
	value.ValueMetric = &events.ValueMetric{Name: proto.String("n"), Unit: proto.String("u"), Value: proto.Float64(1.5)}
	counter := commonV1(events.Envelope_CounterEvent)
	counter.CounterEvent = &events.CounterEvent{Name: proto.String("n"), Delta: proto.Uint64(1), Total: proto.Uint64(2)}
	errEnv := commonV1(events.Envelope_Error)
	errEnv.Error = &events.Error{Source: proto.String("s"), Code: proto.Int32(-3), Message: proto.String("m")}
	cm := containerMetricV1()

	tests := []struct {
		name string
		in   *events.Envelope
	}{
		{"HttpStartStop", withSource(http, "08000000-0000-0000-0500-000000000000")},
		{"LogMessage", withSource(log, "app")},
		{"ValueMetric", withSource(value, "src")},
		{"CounterEvent", withSource(counter, "src")},
		{"Error", withSource(errEnv, "src")},
		{"ContainerMetric", withSource(cm, "some-id")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := conversion.ToV1(conversion.ToV2(tt.in, false))
			if len(got) != 1 || !proto.Equal(got[0], tt.in) {
				t.Errorf("round trip\n got:  %s\n want: %s", formatAll(got), showJSON.Format(tt.in))
			}
		})
	}
}

// TestRoundTripV2 checks the exact v2 → ToV1 → ToV2(false) round trips of
// conversion-rules.md §4.
func TestRoundTripV2(t *testing.T) {
	dep := func(more ...string) map[string]*loggregator_v2.Value {
		return textTags(commonTags(more[0], more[1:]...))
	}
	tests := []struct {
		name string
		in   *loggregator_v2.Envelope
	}{
		{"timer", &loggregator_v2.Envelope{
			Timestamp: 99, SourceId: "08000000-0000-0000-0500-000000000000", InstanceId: "4",
			DeprecatedTags: dep("HttpStartStop", "request_id", "b3015d69-09cd-476d-aace-ad2d824d5ab7", "peer_type", "Client",
				"method", "GET", "uri", "/u", "remote_address", "r", "user_agent", "ua", "status_code", "200",
				"content_length", "5", "routing_instance_id", "rid", "forwarded", "a\nb"),
			Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "http", Start: 1, Stop: 2}},
		}},
		{"log", &loggregator_v2.Envelope{
			Timestamp: 99, SourceId: "app", InstanceId: "3",
			DeprecatedTags: dep("LogMessage", "source_type", "st"),
			Message:        &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("m"), Type: loggregator_v2.Log_ERR}},
		}},
		{"counter", &loggregator_v2.Envelope{
			Timestamp: 99, SourceId: "src", InstanceId: "99",
			DeprecatedTags: dep("CounterEvent"),
			Message:        &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "n", Total: 5}},
		}},
		{"container gauge", &loggregator_v2.Envelope{
			Timestamp: 99, SourceId: "some-id", InstanceId: "123",
			DeprecatedTags: dep("ContainerMetric"),
			Message:        containerGauge(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v1 := conversion.ToV1(tt.in)
			if len(v1) != 1 {
				t.Fatalf("ToV1 gave %d envelopes", len(v1))
			}
			if got := conversion.ToV2(v1[0], false); !proto.Equal(got, tt.in) {
				t.Errorf("round trip\n got:  %s\n want: %s", showJSON.Format(got), showJSON.Format(tt.in))
			}
		})
	}
}
