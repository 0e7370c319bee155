// Package runtimeemitter periodically emits statistics about the Go
// runtime as gauges: heap and stack bytes in use, the latest garbage
// collection pause and the number of goroutines.
//
// New emits through a v2 Sender (such as loggregator.IngressClient) as
// one gauge envelope with four values per interval; NewV1 emits through a
// V1Sender (such as dropsonde's metric sender) as four component metrics:
//
//	e := runtimeemitter.New(client, runtimeemitter.WithInterval(30*time.Second))
//	go e.Run()
//	defer e.Stop()
//
// Run blocks, emitting every interval (DefaultInterval unless WithInterval
// says otherwise; the first emission comes one interval after Run starts),
// until Stop is called; RunContext also returns when its context is done.
// The original Run could never be stopped. An Emitter is safe for
// concurrent use; Stop may be called from any goroutine, any number of
// times, before or after Run.
package runtimeemitter
