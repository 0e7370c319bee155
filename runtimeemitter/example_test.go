package runtimeemitter_test

import (
	"fmt"
	"time"

	"code.cloudfoundry.org/go-loggregator/runtimeemitter"
)

// printV1Sender prints the names and units it is sent (values vary from
// run to run) and stops the emitter after the first emission.
type printV1Sender struct {
	calls int
	stop  func()
}

func (s *printV1Sender) SendComponentMetric(name string, value float64, unit string) error {
	fmt.Println(name, unit)
	if s.calls++; s.calls == 4 {
		s.stop()
	}
	return nil
}

func ExampleNewV1() {
	sender := &printV1Sender{}
	e := runtimeemitter.NewV1(sender, runtimeemitter.WithInterval(10*time.Millisecond))
	sender.stop = e.Stop
	e.Run() // returns once Stop is called
	// Output:
	// memoryStats.numBytesAllocatedHeap Bytes
	// memoryStats.numBytesAllocatedStack Bytes
	// memoryStats.lastGCPauseTimeNS ns
	// numGoRoutines Count
}
