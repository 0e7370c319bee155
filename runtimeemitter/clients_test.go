package runtimeemitter_test

import (
	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/runtimeemitter"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

// Both of the library's clients are Senders.
var (
	_ runtimeemitter.Sender = (*loggregator.IngressClient)(nil)
	_ runtimeemitter.Sender = (*v1.Client)(nil)
)
