package conversion_test

import (
	"math"
	"testing"

	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"
)

// v1Base returns a v1 envelope with the fields every ToV1 result has.
func v1Base(t events.Envelope_EventType, ts int64, tags map[string]string) *events.Envelope {
	return &events.Envelope{
		Origin: proto.String(""), Deployment: proto.String(""), Job: proto.String(""),
		Index: proto.String(""), Ip: proto.String(""),
		EventType: t.Enum(), Timestamp: proto.Int64(ts), Tags: tags,
	}
}

func withFields(e *events.Envelope, origin, deployment, job, index, ip string) *events.Envelope {
	e.Origin, e.Deployment, e.Job, e.Index, e.Ip = proto.String(origin), proto.String(deployment), proto.String(job), proto.String(index), proto.String(ip)
	return e
}

func text(s string) *loggregator_v2.Value {
	return &loggregator_v2.Value{Data: &loggregator_v2.Value_Text{Text: s}}
}

func integer(i int64) *loggregator_v2.Value {
	return &loggregator_v2.Value{Data: &loggregator_v2.Value_Integer{Integer: i}}
}

func decimal(f float64) *loggregator_v2.Value {
	return &loggregator_v2.Value{Data: &loggregator_v2.Value_Decimal{Decimal: f}}
}

func gaugeEnv(metrics map[string]*loggregator_v2.GaugeValue) *loggregator_v2.Envelope_Gauge {
	return &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: metrics}}
}

func valueMetric(name, unit string, v float64, tags map[string]string) *events.Envelope {
	e := v1Base(events.Envelope_ValueMetric, 0, tags)
	e.ValueMetric = &events.ValueMetric{Name: proto.String(name), Unit: proto.String(unit), Value: proto.Float64(v)}
	return e
}

func containerMetric(app string, index int32, cpu float64, mem, disk, memq, diskq uint64, tags map[string]string) *events.Envelope {
	e := v1Base(events.Envelope_ContainerMetric, 0, tags)
	e.ContainerMetric = &events.ContainerMetric{
		ApplicationId: proto.String(app), InstanceIndex: proto.Int32(index), CpuPercentage: proto.Float64(cpu),
		MemoryBytes: proto.Uint64(mem), DiskBytes: proto.Uint64(disk), MemoryBytesQuota: proto.Uint64(memq), DiskBytesQuota: proto.Uint64(diskq),
	}
	return e
}

func emptyHTTP(instanceIndex int32) *events.HttpStartStop {
	return &events.HttpStartStop{
		StartTimestamp: proto.Int64(0), StopTimestamp: proto.Int64(0),
		PeerType: events.PeerType(0).Enum(), Method: events.Method(0).Enum(),
		Uri: proto.String(""), RemoteAddress: proto.String(""), UserAgent: proto.String(""),
		StatusCode: proto.Int32(0), ContentLength: proto.Int64(0),
		InstanceIndex: proto.Int32(instanceIndex), InstanceId: proto.String(""), Forwarded: []string{""},
	}
}

// TestToV1 covers the ToV1 behaviour fixed by the original's tests
// (conversion-rules.md §4) and the rules of §2.
func TestToV1(t *testing.T) {
	fullTimer := &loggregator_v2.Envelope{
		Timestamp: 99, SourceId: "b3015d69-09cd-476d-aace-ad2d824d5ab7", InstanceId: "10",
		DeprecatedTags: map[string]*loggregator_v2.Value{
			"request_id": text("08000000-0000-0000-0500-000000000000"), "peer_type": text("Server"),
			"method": text("POST"), "uri": text("/u"), "remote_address": text("1.2.3.4"), "user_agent": text("ua"),
			"status_code": integer(200), "content_length": text("42"), "routing_instance_id": text("rid"),
			"forwarded": text("6.6.6.6\n8.8.8.8"), "keep": text("me"),
		},
		Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "http", Start: 1, Stop: 2}},
	}
	fullHTTP := v1Base(events.Envelope_HttpStartStop, 99, map[string]string{"source_id": "b3015d69-09cd-476d-aace-ad2d824d5ab7", "keep": "me"})
	fullHTTP.HttpStartStop = &events.HttpStartStop{
		StartTimestamp: proto.Int64(1), StopTimestamp: proto.Int64(2),
		RequestId: uuid(8, 5), ApplicationId: uuid(0x6d47cd09695d01b3, 0xb75a4d822dadceaa),
		PeerType: events.PeerType_Server.Enum(), Method: events.Method_POST.Enum(),
		Uri: proto.String("/u"), RemoteAddress: proto.String("1.2.3.4"), UserAgent: proto.String("ua"),
		StatusCode: proto.Int32(200), ContentLength: proto.Int64(42),
		InstanceIndex: proto.Int32(10), InstanceId: proto.String("rid"), Forwarded: []string{"6.6.6.6", "8.8.8.8"},
	}

	zeroContainer := map[string]*loggregator_v2.GaugeValue{
		"cpu": gaugeValue("percentage", 0), "memory": gaugeValue("bytes", 0), "disk": gaugeValue("bytes", 0),
		"memory_quota": gaugeValue("bytes", 0), "disk_quota": gaugeValue("bytes", 0), "instance_index": gaugeValue("", 19),
	}

	tests := []struct {
		name string
		in   *loggregator_v2.Envelope
		want []*events.Envelope
	}{
		{
			name: "log (21)",
			in: &loggregator_v2.Envelope{
				Timestamp: 99, SourceId: "uuid", InstanceId: "inst",
				DeprecatedTags: map[string]*loggregator_v2.Value{"source_type": text("st")},
				Message:        &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("Hello World")}},
			},
			want: func() []*events.Envelope {
				e := v1Base(events.Envelope_LogMessage, 99, map[string]string{"source_id": "uuid"})
				e.LogMessage = &events.LogMessage{
					Message: []byte("Hello World"), MessageType: events.LogMessage_OUT.Enum(), Timestamp: proto.Int64(99),
					AppId: proto.String("uuid"), SourceType: proto.String("st"), SourceInstance: proto.String("inst"),
				}
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "deprecated tags render as text and fill the envelope fields (18)",
			in: &loggregator_v2.Envelope{
				Timestamp: 99,
				DeprecatedTags: map[string]*loggregator_v2.Value{
					"origin": text("o"), "deployment": text("d"), "job": text("j"), "index": text("i"), "ip": text("p"),
					"random_int": integer(123), "random_decimal": decimal(123),
				},
				Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Type: loggregator_v2.Log_ERR}},
			},
			want: func() []*events.Envelope {
				e := withFields(v1Base(events.Envelope_LogMessage, 99, map[string]string{"random_int": "123", "random_decimal": "123.000000"}), "o", "d", "j", "i", "p")
				e.LogMessage = &events.LogMessage{
					MessageType: events.LogMessage_ERR.Enum(), Timestamp: proto.Int64(99),
					AppId: proto.String(""), SourceType: proto.String(""), SourceInstance: proto.String(""),
				}
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "nil deprecated values are skipped; tags win the lookup, deprecated wins the map (19)",
			in: &loggregator_v2.Envelope{
				Tags:           map[string]string{"origin": "from-tags", "foo": "tag"},
				DeprecatedTags: map[string]*loggregator_v2.Value{"origin": text("from-deprecated"), "foo": text("bar"), "baz": nil, "empty": {}},
				Message:        &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Total: 99}},
			},
			want: func() []*events.Envelope {
				e := withFields(v1Base(events.Envelope_CounterEvent, 0, map[string]string{"foo": "bar"}), "from-tags", "", "", "", "")
				e.CounterEvent = &events.CounterEvent{Name: proto.String(""), Delta: proto.Uint64(0), Total: proto.Uint64(99)}
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "error log (rules 2.2)",
			in: &loggregator_v2.Envelope{
				SourceId: "src",
				Tags:     map[string]string{"__v1_type": "Error", "source": "s", "code": "12345", "source_type": "kept"},
				Message:  &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("boom"), Type: loggregator_v2.Log_ERR}},
			},
			want: func() []*events.Envelope {
				e := v1Base(events.Envelope_Error, 0, map[string]string{"source_id": "src", "source_type": "kept"})
				e.Error = &events.Error{Source: proto.String("s"), Code: proto.Int32(12345), Message: proto.String("boom")}
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "error code out of int32 range is 0",
			in: &loggregator_v2.Envelope{
				Tags:    map[string]string{"__v1_type": "Error", "code": "2147483648"},
				Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{}},
			},
			want: func() []*events.Envelope {
				e := v1Base(events.Envelope_Error, 0, map[string]string{})
				e.Error = &events.Error{Source: proto.String(""), Code: proto.Int32(0), Message: proto.String("")}
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "counter with total only; instance_id tag (17, 23)",
			in: &loggregator_v2.Envelope{
				InstanceId: "x",
				Message:    &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "c", Delta: 99}},
			},
			want: func() []*events.Envelope {
				e := v1Base(events.Envelope_CounterEvent, 0, map[string]string{"instance_id": "x"})
				e.CounterEvent = &events.CounterEvent{Name: proto.String("c"), Delta: proto.Uint64(99), Total: proto.Uint64(0)}
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "container gauge (14)",
			in:   &loggregator_v2.Envelope{SourceId: "some-id", InstanceId: "123", Message: containerGauge()},
			want: []*events.Envelope{containerMetric("some-id", 123, 11, 13, 15, 17, 19, map[string]string{"source_id": "some-id"})},
		},
		{
			name: "container gauge with zero values and instance_index (15)",
			in:   &loggregator_v2.Envelope{InstanceId: "123", Message: gaugeEnv(zeroContainer)},
			want: []*events.Envelope{containerMetric("", 19, 0, 0, 0, 0, 0, map[string]string{})},
		},
		{
			name: "container gauge with garbage instance_id (22)",
			in:   &loggregator_v2.Envelope{InstanceId: "garbage", Message: containerGauge()},
			want: []*events.Envelope{containerMetric("", 0, 11, 13, 15, 17, 19, map[string]string{})},
		},
		{
			name: "bare envelope (16)",
			in:   &loggregator_v2.Envelope{},
		},
		{
			name: "gauge with the five keys nil (16)",
			in: &loggregator_v2.Envelope{Message: gaugeEnv(map[string]*loggregator_v2.GaugeValue{
				"cpu": nil, "memory": nil, "disk": nil, "memory_quota": nil, "disk_quota": nil,
			})},
		},
		{
			name: "single gauge (24)",
			in:   &loggregator_v2.Envelope{InstanceId: "x", Message: gaugeEnv(map[string]*loggregator_v2.GaugeValue{"name": gaugeValue("meters", 123)})},
			want: []*events.Envelope{valueMetric("name", "meters", 123, map[string]string{"instance_id": "x"})},
		},
		{
			name: "two gauges with envelope fields (24)",
			in: &loggregator_v2.Envelope{
				Tags:    map[string]string{"origin": "o", "deployment": "d", "job": "j", "index": "i", "ip": "p"},
				Message: gaugeEnv(map[string]*loggregator_v2.GaugeValue{"a": gaugeValue("u", 1), "b": gaugeValue("v", 2)}),
			},
			want: []*events.Envelope{
				withFields(valueMetric("a", "u", 1, map[string]string{}), "o", "d", "j", "i", "p"),
				withFields(valueMetric("b", "v", 2, map[string]string{}), "o", "d", "j", "i", "p"),
			},
		},
		{
			name: "gauge with a nil value (24)",
			in:   &loggregator_v2.Envelope{Message: gaugeEnv(map[string]*loggregator_v2.GaugeValue{"a": gaugeValue("u", 1), "name": nil})},
		},
		{
			name: "gauge with an empty value (24)",
			in:   &loggregator_v2.Envelope{Message: gaugeEnv(map[string]*loggregator_v2.GaugeValue{"name": {}})},
			want: []*events.Envelope{valueMetric("name", "", 0, map[string]string{})},
		},
		{
			name: "empty timer (13)",
			in:   &loggregator_v2.Envelope{SourceId: "some-id", Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{}}},
			want: func() []*events.Envelope {
				e := v1Base(events.Envelope_HttpStartStop, 0, map[string]string{"source_id": "some-id"})
				e.HttpStartStop = emptyHTTP(0)
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "timer with every HTTP tag (20)",
			in:   fullTimer,
			want: []*events.Envelope{fullHTTP},
		},
		{
			name: "timer instance 1234 (22)",
			in:   &loggregator_v2.Envelope{InstanceId: "1234", Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{}}},
			want: func() []*events.Envelope {
				e := v1Base(events.Envelope_HttpStartStop, 0, map[string]string{})
				e.HttpStartStop = emptyHTTP(1234)
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "timer instance out of int32 range, malformed UUIDs",
			in: &loggregator_v2.Envelope{
				SourceId: "b3015d69-09cd-476d-aace-ad2d824d5ab", InstanceId: "99999999999",
				Tags:    map[string]string{"request_id": "b3015d69x09cdx476dxaacexad2d824d5abz", "status_code": "4294967496"},
				Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{}},
			},
			want: func() []*events.Envelope {
				e := v1Base(events.Envelope_HttpStartStop, 0, map[string]string{"source_id": "b3015d69-09cd-476d-aace-ad2d824d5ab"})
				e.HttpStartStop = emptyHTTP(0)
				e.HttpStartStop.StatusCode = proto.Int32(200) // truncated to 32 bits
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "UUID separators are not checked",
			in: &loggregator_v2.Envelope{
				SourceId: "08000000x0000y0000z0500w000000000000",
				Message:  &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{}},
			},
			want: func() []*events.Envelope {
				e := v1Base(events.Envelope_HttpStartStop, 0, map[string]string{"source_id": "08000000x0000y0000z0500w000000000000"})
				e.HttpStartStop = emptyHTTP(0)
				e.HttpStartStop.ApplicationId = uuid(8, 5)
				return []*events.Envelope{e}
			}(),
		},
		{
			name: "event gives nothing",
			in:   &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "t"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := proto.Clone(tt.in)
			got := conversion.ToV1(tt.in)
			if !equalMultiset(got, tt.want) {
				t.Errorf("ToV1\n got:  %s\n want: %s", formatAll(got), formatAll(tt.want))
			}
			if !proto.Equal(before, tt.in) {
				t.Errorf("input modified: %s", showJSON.Format(tt.in))
			}
		})
	}
}

// TestToV1OutputsDoNotShareTags checks that each ValueMetric of a
// multi-metric gauge gets its own tag map.
func TestToV1OutputsDoNotShareTags(t *testing.T) {
	got := conversion.ToV1(&loggregator_v2.Envelope{
		SourceId: "s",
		Message:  gaugeEnv(map[string]*loggregator_v2.GaugeValue{"a": {}, "b": {}}),
	})
	if len(got) != 2 {
		t.Fatalf("got %d envelopes, want 2", len(got))
	}
	got[0].Tags["source_id"] = "changed"
	if got[1].Tags["source_id"] != "s" {
		t.Errorf("second envelope's tags changed with the first's")
	}
}

// TestToV1NilInputs checks that nil envelopes, nil payloads and nil map
// values neither panic nor produce nil entries.
func TestToV1NilInputs(t *testing.T) {
	tests := []struct {
		name  string
		in    *loggregator_v2.Envelope
		count int
	}{
		{"nil envelope", nil, 0},
		{"nil log", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Log{}}, 1},
		{"nil log wrapper", &loggregator_v2.Envelope{Message: (*loggregator_v2.Envelope_Log)(nil)}, 1},
		{"nil counter", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{}}, 1},
		{"nil gauge", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{}}, 0},
		{"nil timer", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Timer{}}, 1},
		{"nil event", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Event{}}, 0},
		{"nil counter wrapper", &loggregator_v2.Envelope{Message: (*loggregator_v2.Envelope_Counter)(nil)}, 1},
		{"nil gauge wrapper", &loggregator_v2.Envelope{Message: (*loggregator_v2.Envelope_Gauge)(nil)}, 0},
		{"nil timer wrapper", &loggregator_v2.Envelope{Message: (*loggregator_v2.Envelope_Timer)(nil)}, 1},
		{"nil value data wrappers", &loggregator_v2.Envelope{
			DeprecatedTags: map[string]*loggregator_v2.Value{
				"origin":    {Data: (*loggregator_v2.Value_Text)(nil)},
				"__v1_type": {Data: (*loggregator_v2.Value_Integer)(nil)},
				"x":         {Data: (*loggregator_v2.Value_Decimal)(nil)},
			},
			Message: &loggregator_v2.Envelope_Log{},
		}, 1},
		{"nil deprecated value", &loggregator_v2.Envelope{
			DeprecatedTags: map[string]*loggregator_v2.Value{"origin": nil, "__v1_type": nil},
			Message:        &loggregator_v2.Envelope_Log{},
		}, 1},
		{"container metric with nil instance_index and NaN/Inf values", &loggregator_v2.Envelope{
			Message: gaugeEnv(map[string]*loggregator_v2.GaugeValue{
				"cpu": gaugeValue("", math.NaN()), "memory": gaugeValue("", math.Inf(1)), "disk": gaugeValue("", -1),
				"memory_quota": gaugeValue("", 1e300), "disk_quota": gaugeValue("", math.Inf(-1)), "instance_index": nil,
			}),
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := conversion.ToV1(tt.in)
			if len(got) != tt.count {
				t.Fatalf("got %d envelopes, want %d", len(got), tt.count)
			}
			for i, e := range got {
				if e == nil {
					t.Errorf("envelope %d is nil", i)
				}
			}
		})
	}
}
