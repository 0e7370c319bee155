package sloghandler_test

import (
	"log/slog"
	"testing"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/sloghandler"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

// Both clients are Emitters.
var (
	_ sloghandler.Emitter = (*loggregator.IngressClient)(nil)
	_ sloghandler.Emitter = (*v1.Client)(nil)
)

// reusingEmitter applies the options to one reused envelope, as the
// IngressClient does with its pooled envelopes, and sends nothing: it
// measures the handler in isolation.
type reusingEmitter struct {
	env loggregator_v2.Envelope
	log loggregator_v2.Envelope_Log
}

func (r *reusingEmitter) EmitLog(message string, opts ...loggregator.EmitLogOption) {
	if r.env.Tags == nil {
		r.env.Tags = map[string]string{}
		r.log.Log = &loggregator_v2.Log{}
	}
	clear(r.env.Tags)
	r.log.Log.Payload = append(r.log.Log.Payload[:0], message...)
	r.log.Log.Type = loggregator_v2.Log_ERR
	r.env.Message = &r.log
	for _, o := range opts {
		o(&r.env)
	}
}

func benchmarkLogger(l *slog.Logger, b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Info("request served", "status", 200, "bytes", i, slog.Group("http", "method", "GET", "path", "/v1/items"))
	}
}

// BenchmarkHandlerIsolated is the handler alone: one record with four
// attributes (one group) and one WithAttrs attribute per iteration.
func BenchmarkHandlerIsolated(b *testing.B) {
	l := slog.New(sloghandler.New(&reusingEmitter{}, sloghandler.WithSourceInfo("app", "APP", "0"))).With("component", "api")
	benchmarkLogger(l, b)
}

// BenchmarkHandlerIngress is the handler with a real IngressClient (default
// options) sending to the in-process ingress server, which decodes every
// envelope.
func BenchmarkHandlerIngress(b *testing.B) {
	a := newAgentB(b)
	l := slog.New(sloghandler.New(a.client, sloghandler.WithSourceInfo("app", "APP", "0"))).With("component", "api")
	benchmarkLogger(l, b)
	b.StopTimer()
	if err := a.client.CloseSend(); err != nil {
		b.Fatal(err)
	}
	// Envelopes the client dropped because its buffer was full while the
	// server decoded (the client's documented behaviour).
	b.ReportMetric(float64(a.client.Dropped()), "dropped")
}
