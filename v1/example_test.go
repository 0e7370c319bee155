package v1_test

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/cloudfoundry/dropsonde"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

// A client sending a counter to a Loggregator agent. Here the agent is a
// UDP socket on 127.0.0.1 that prints what it receives.
func ExampleClient() {
	agent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer agent.Close()

	// Once per process, before emitting.
	if err := dropsonde.Initialize(agent.LocalAddr().String(), "example-job"); err != nil {
		fmt.Println(err)
		return
	}

	client, _ := v1.NewClient(v1.WithTag("deployment_name", "demo"))
	client.EmitCounter("requests",
		loggregator.WithDelta(3),
		loggregator.WithCounterSourceInfo("my-service", "0"))

	// Each datagram is one protobuf events.Envelope. dropsonde's own
	// runtime stats (ValueMetrics) arrive on the same socket; skip them.
	_ = agent.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	for {
		n, _, err := agent.ReadFrom(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		env := &events.Envelope{}
		if err := proto.Unmarshal(buf[:n], env); err != nil {
			fmt.Println(err)
			return
		}
		if c := env.GetCounterEvent(); c != nil {
			fmt.Println(env.GetOrigin(), c.GetName(), c.GetDelta(), env.GetTags()["source_id"], env.GetTags()["deployment_name"])
			return
		}
	}
	// Output: example-job requests 3 my-service demo
}

// Stats tells how many envelopes a client sent and how many it dropped.
// The second log here is larger than a UDP datagram can be, so the socket
// refuses it and the client counts it as dropped.
func ExampleClient_Stats() {
	agent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer agent.Close()
	if err := dropsonde.Initialize(agent.LocalAddr().String(), "example-job"); err != nil {
		fmt.Println(err)
		return
	}

	client, _ := v1.NewClient()
	client.EmitLog("fits in a datagram")
	client.EmitLog(strings.Repeat("x", 70000))

	s := client.Stats()
	fmt.Printf("sent %d, dropped %d\n", s.Sent, s.Dropped)
	// Output: sent 1, dropped 1
}
