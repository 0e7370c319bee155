package router_test

import (
	"testing"

	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// BenchmarkSize measures Size on a typical log: it runs once per published
// envelope and once per egress envelope.
func BenchmarkSize(b *testing.B) {
	e := &loggregator_v2.Envelope{Timestamp: 1700000000000000000, SourceId: "app-1", InstanceId: "0", Tags: map[string]string{"source_type": "APP"},
		Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("a reasonably sized log line of some eighty bytes, like most real log lines are")}}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = router.Size(e)
	}
}
