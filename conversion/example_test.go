package conversion_test

import (
	"fmt"

	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"
)

func ExampleToV2() {
	v1 := &events.Envelope{
		Origin:     proto.String("router"),
		EventType:  events.Envelope_CounterEvent.Enum(),
		Timestamp:  proto.Int64(1),
		Deployment: proto.String("cf"),
		Job:        proto.String("router"),
		Tags:       map[string]string{"instance_id": "0"},
		CounterEvent: &events.CounterEvent{
			Name: proto.String("requests"), Delta: proto.Uint64(2), Total: proto.Uint64(10),
		},
	}
	v2 := conversion.ToV2(v1, true)
	fmt.Println(v2.GetSourceId(), v2.GetInstanceId(), v2.GetCounter().GetTotal())
	fmt.Println(v2.GetTags()["__v1_type"], v2.GetTags()["origin"], len(v2.GetTags()))
	// Output:
	// cf/router 0 10
	// CounterEvent router 6
}

func ExampleToV1() {
	v2 := &loggregator_v2.Envelope{
		Timestamp:  1,
		SourceId:   "app-guid",
		InstanceId: "2",
		Tags:       map[string]string{"origin": "rep", "source_type": "APP/PROC/WEB"},
		Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{
			Payload: []byte("hello"), Type: loggregator_v2.Log_OUT,
		}},
	}
	for _, e := range conversion.ToV1(v2) {
		m := e.GetLogMessage()
		fmt.Println(e.GetEventType(), e.GetOrigin(), e.GetTags())
		fmt.Println(string(m.GetMessage()), m.GetMessageType(), m.GetAppId(), m.GetSourceType(), m.GetSourceInstance())
	}
	// Output:
	// LogMessage rep map[source_id:app-guid]
	// hello OUT app-guid APP/PROC/WEB 2
}
