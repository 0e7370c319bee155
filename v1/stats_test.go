package v1_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/cloudfoundry/dropsonde"

	loggregator "code.cloudfoundry.org/go-loggregator"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

// maxUDPPayload is the largest datagram IPv4 UDP carries; a bigger one
// makes the socket write fail with "message too long".
const maxUDPPayload = 65507

func TestClientStats(t *testing.T) {
	cases := []struct {
		name string
		// uninitialized swaps dropsonde's emitter for the null emitter
		// during emit.
		uninitialized bool
		emit          func(c *v1.Client)
		want          v1.ClientStats
		// received is how many envelopes must reach the UDP listener.
		received int
	}{
		{
			name: "nothing emitted",
			emit: func(c *v1.Client) {},
		},
		{
			name: "sent counts each datagram once",
			emit: func(c *v1.Client) {
				c.EmitLog("a", loggregator.WithStdout())
				c.EmitCounter("c", loggregator.WithDelta(5))
				c.EmitGauge( // three ValueMetric envelopes
					loggregator.WithGaugeValue("x", 1, "u"),
					loggregator.WithGaugeValue("y", 2, "u"),
					loggregator.WithGaugeValue("x", 3, "u"),
				)
				c.EmitGauge( // one ContainerMetric envelope
					loggregator.WithGaugeSourceInfo("app", "2"),
					loggregator.WithGaugeValue("cpu", 1, "percentage"),
					loggregator.WithGaugeValue("memory", 2, "bytes"),
					loggregator.WithGaugeValue("disk", 3, "bytes"),
					loggregator.WithGaugeValue("memory_quota", 4, "bytes"),
					loggregator.WithGaugeValue("disk_quota", 5, "bytes"),
				)
				c.EmitGauge() // no envelope at all
			},
			want:     v1.ClientStats{Sent: 6},
			received: 6,
		},
		{
			name: "a datagram too large for UDP is dropped",
			emit: func(c *v1.Client) {
				c.EmitLog(strings.Repeat("x", maxUDPPayload+1))
				c.EmitCounter("after")
			},
			want:     v1.ClientStats{Sent: 1, Dropped: 1},
			received: 1,
		},
		{
			name:          "dropsonde not initialised drops every envelope",
			uninitialized: true,
			emit: func(c *v1.Client) {
				c.EmitLog("lost")
				c.EmitGauge(loggregator.WithGaugeValue("a", 1, "u"), loggregator.WithGaugeValue("b", 2, "u"))
			},
			want: v1.ClientStats{Dropped: 3},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := v1.NewClient()
			if tc.uninitialized {
				saved := dropsonde.DefaultEmitter
				dropsonde.DefaultEmitter = &dropsonde.NullEventEmitter{}
				tc.emit(c)
				dropsonde.DefaultEmitter = saved
			} else {
				tc.emit(c)
			}
			if got := c.Stats(); got != tc.want {
				t.Errorf("Stats() = %+v, want %+v", got, tc.want)
			}
			if got := c.Dropped(); got != tc.want.Dropped {
				t.Errorf("Dropped() = %d, want %d (as in Stats)", got, tc.want.Dropped)
			}
			if got := collect(t); len(got) != tc.received {
				t.Errorf("listener received %d envelopes, want %d:\n%s", len(got), tc.received, dump(got))
			}
		})
	}
}

func TestClientStatsConcurrentSafe(t *testing.T) {
	c, _ := v1.NewClient()
	const goroutines, each = 4, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { // reads while the writers emit
		defer readers.Done()
		var last uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := c.Stats()
			if s.Sent < last {
				t.Errorf("Sent went down from %d to %d", last, s.Sent)
				return
			}
			last = s.Sent
		}
	}()
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				c.EmitCounter("n")
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	want := v1.ClientStats{Sent: goroutines * each}
	if got := c.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	if got := collect(t); len(got) != goroutines*each {
		t.Errorf("listener received %d envelopes, want %d", len(got), goroutines*each)
	}
}
