// Command v1_ingress emits envelopes to a Loggregator agent over the v1
// (dropsonde, UDP) API with the v1 client.
//
// With DROPSONDE_DESTINATION set (for example "127.0.0.1:3457", the
// agent's default v1 port) it sends there and exits. Without it, it
// starts its own UDP listener on 127.0.0.1, sends to that, prints every
// envelope the listener received and exits 0 (1 if something is missing
// after five seconds).
package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/cloudfoundry/dropsonde"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

// exampleTag marks this program's envelopes, to tell them from the runtime
// statistics dropsonde.Initialize starts sending on its own.
const exampleTag = "example"

func main() {
	log.SetFlags(0)
	dest := os.Getenv("DROPSONDE_DESTINATION")
	var listener net.PacketConn
	if dest == "" {
		var err error
		listener, err = net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			log.Fatalf("listen: %v", err)
		}
		defer listener.Close()
		dest = listener.LocalAddr().String()
		fmt.Printf("DROPSONDE_DESTINATION not set; listening on %s\n", dest)
	}

	// Once per process: the destination and the origin of every envelope.
	if err := dropsonde.Initialize(dest, "v1-ingress-example"); err != nil {
		log.Fatalf("dropsonde: %v", err)
	}

	client, _ := v1.NewClient(
		v1.WithTag(exampleTag, "v1_ingress"),
		v1.WithLogger(log.New(os.Stderr, "v1 client: ", 0)),
	)
	sent := emit(client)
	fmt.Printf("sent %d envelopes to %s\n", sent, dest)

	if listener == nil {
		return
	}
	if err := receive(listener, sent); err != nil {
		log.Fatal(err)
	}
}

// emit sends one envelope of each kind the v1 client makes and returns
// how many datagrams that is.
func emit(c *v1.Client) int {
	c.EmitLog("hello from the v1 client",
		loggregator.WithStdout(),
		loggregator.WithSourceInfo("example-app", "APP/PROC/WEB", "0"))

	c.EmitCounter("requests",
		loggregator.WithDelta(3),
		loggregator.WithCounterSourceInfo("example-app", "0"))

	// Two values: two ValueMetric envelopes.
	c.EmitGauge(
		loggregator.WithGaugeValue("queue_length", 12, "items"),
		loggregator.WithGaugeValue("cache_hit_ratio", 0.29, "ratio"),
		loggregator.WithGaugeSourceInfo("example-app", "0"))

	// The five container values with source and instance: one
	// ContainerMetric envelope.
	c.EmitGauge(
		loggregator.WithGaugeAppInfo("example-app", 0),
		loggregator.WithGaugeValue("cpu", 2.5, "percentage"),
		loggregator.WithGaugeValue("memory", 64<<20, "bytes"),
		loggregator.WithGaugeValue("disk", 128<<20, "bytes"),
		loggregator.WithGaugeValue("memory_quota", 256<<20, "bytes"),
		loggregator.WithGaugeValue("disk_quota", 1<<30, "bytes"))

	// No values: nothing is sent.
	c.EmitGauge(loggregator.WithGaugeSourceInfo("example-app", "0"))

	return 5
}

// receive prints this program's envelopes as they arrive until it has
// seen want of them.
func receive(conn net.PacketConn, want int) error {
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	buf := make([]byte, 65535)
	for got := 0; got < want; {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("received %d of %d envelopes: %w", got, want, err)
		}
		env := &events.Envelope{}
		if err := proto.Unmarshal(buf[:n], env); err != nil {
			return fmt.Errorf("datagram is not an envelope: %w", err)
		}
		if env.GetTags()[exampleTag] == "" {
			continue // dropsonde's own runtime statistics
		}
		got++
		fmt.Printf("received %s: %s\n", env.GetEventType(), prototext.MarshalOptions{}.Format(env))
	}
	return nil
}
