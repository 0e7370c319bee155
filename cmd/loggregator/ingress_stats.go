package main

import loggregator "code.cloudfoundry.org/go-loggregator"

// ingressStats returns c's statistics.
// TODO(cmdstats): call c.Stats() directly once IngressClient.Stats is merged.
func ingressStats(c *loggregator.IngressClient) loggregator.IngressClientStats {
	if s, ok := any(c).(interface {
		Stats() loggregator.IngressClientStats
	}); ok {
		return s.Stats()
	}
	return loggregator.IngressClientStats{}
}
