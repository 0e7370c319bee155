package pulseemitter_test

import (
	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/pulseemitter"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

// Both of the library's clients are LogClients.
var (
	_ pulseemitter.LogClient = (*loggregator.IngressClient)(nil)
	_ pulseemitter.LogClient = (*v1.Client)(nil)
)
