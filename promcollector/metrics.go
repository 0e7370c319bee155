package promcollector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

const (
	namespace   = "loggregator"
	clientLabel = "client"
	causeLabel  = "cause"
	reasonLabel = "reason"
)

// descs holds the descriptor of every metric the Collector exposes.
type descs struct {
	ingAccepted, ingSent, ingDropped, ingBatchesSent, ingBatchesRetried, ingReconnects,
	ingBuffered, ingWaitTotal, ingWaitMax, ingLastError *prometheus.Desc

	egEnvelopes, egBatches, egDropped, egReconnects, egLastError,
	egLag, egFuture, egMissing *prometheus.Desc

	gwEnvelopes, gwEvents, gwHeartbeats, gwSkipped, gwRequests, gwReconnects,
	gwBytes, gwLastError, gwLag, gwFuture, gwMissing *prometheus.Desc

	v1Sent, v1Dropped *prometheus.Desc

	lagBounds []float64 // upper bounds in seconds, without +Inf
}

func newDescs(constLabels prometheus.Labels) descs {
	nd := func(subsystem, name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help,
			append([]string{clientLabel}, labels...), constLabels)
	}
	d := descs{
		ingAccepted:       nd("ingress", "envelopes_accepted_total", "Envelopes an IngressClient's Emit calls put into its buffer."),
		ingSent:           nd("ingress", "envelopes_sent_total", "Envelopes an IngressClient sent and the agent confirmed (each counted once)."),
		ingDropped:        nd("ingress", "envelopes_dropped_total", "Envelopes an IngressClient dropped, by cause.", causeLabel),
		ingBatchesSent:    nd("ingress", "batches_sent_total", "Batches an IngressClient sent and the agent confirmed."),
		ingBatchesRetried: nd("ingress", "batches_retried_total", "Failed batch sends an IngressClient tried again."),
		ingReconnects:     nd("ingress", "reconnects_total", "BatchSender streams an IngressClient opened after a stream or the connection failed."),
		ingBuffered:       nd("ingress", "buffered_envelopes", "Envelopes an IngressClient holds in its buffer now, including a batch in flight."),
		ingWaitTotal:      nd("ingress", "emit_wait_seconds_total", "Time Emit calls spent waiting for room in a full buffer, summed over callers."),
		ingWaitMax:        nd("ingress", "emit_wait_max_seconds", "Longest single wait of an Emit call for room in the buffer."),
		ingLastError:      nd("ingress", "last_error_timestamp_seconds", "Unix time of an IngressClient's last send error; 0 if none."),

		egEnvelopes:  nd("egress", "envelopes_received_total", "Envelopes an EnvelopeStreamConnector received over all its streams."),
		egBatches:    nd("egress", "batches_received_total", "Batches an EnvelopeStreamConnector received over all its streams."),
		egDropped:    nd("egress", "envelopes_dropped_total", "Envelopes an EnvelopeStreamConnector's optional buffer dropped because the consumer did not keep up."),
		egReconnects: nd("egress", "reconnects_total", "Streams an EnvelopeStreamConnector opened after its first one ended, cleanly or not."),
		egLastError:  nd("egress", "last_error_timestamp_seconds", "Unix time of an EnvelopeStreamConnector's last stream error; 0 if none."),
		egLag:        nd("egress", "lag_seconds", "Receive time minus envelope timestamp, for envelopes an EnvelopeStreamConnector received."),
		egFuture:     nd("egress", "envelopes_future_timestamp_total", "Envelopes an EnvelopeStreamConnector received stamped later than their receipt (observed as zero lag)."),
		egMissing:    nd("egress", "envelopes_missing_timestamp_total", "Envelopes an EnvelopeStreamConnector received without a timestamp (not in the lag histogram)."),

		gwEnvelopes:  nd("rlp_gateway", "envelopes_received_total", "Envelopes an RLPGatewayClient decoded from data events."),
		gwEvents:     nd("rlp_gateway", "events_received_total", "Server-sent events of every kind an RLPGatewayClient read."),
		gwHeartbeats: nd("rlp_gateway", "heartbeats_received_total", "Heartbeat events an RLPGatewayClient read."),
		gwSkipped:    nd("rlp_gateway", "events_skipped_total", "Events an RLPGatewayClient read and did not deliver, by reason.", reasonLabel),
		gwRequests:   nd("rlp_gateway", "requests_total", "HTTP stream requests an RLPGatewayClient made."),
		gwReconnects: nd("rlp_gateway", "reconnects_total", "Requests an RLPGatewayClient made after an earlier one ended, by the cause of that end.", causeLabel),
		gwBytes:      nd("rlp_gateway", "received_bytes_total", "Response body bytes an RLPGatewayClient read."),
		gwLastError:  nd("rlp_gateway", "last_error_timestamp_seconds", "Unix time of an RLPGatewayClient's last request or read error; 0 if none."),
		gwLag:        nd("rlp_gateway", "lag_seconds", "Receive time minus envelope timestamp, for envelopes an RLPGatewayClient received."),
		gwFuture:     nd("rlp_gateway", "envelopes_future_timestamp_total", "Envelopes an RLPGatewayClient received stamped later than their receipt (observed as zero lag)."),
		gwMissing:    nd("rlp_gateway", "envelopes_missing_timestamp_total", "Envelopes an RLPGatewayClient received without a timestamp (not in the lag histogram)."),

		v1Sent:    nd("v1", "envelopes_sent_total", "Envelopes a v1 client sent."),
		v1Dropped: nd("v1", "envelopes_dropped_total", "Envelopes a v1 client dropped."),
	}
	bounds := loggregator.LagBucketBounds()
	for _, b := range bounds[:len(bounds)-1] {
		d.lagBounds = append(d.lagBounds, b.Seconds())
	}
	return d
}

func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.ingAccepted, d.ingSent, d.ingDropped, d.ingBatchesSent, d.ingBatchesRetried, d.ingReconnects,
		d.ingBuffered, d.ingWaitTotal, d.ingWaitMax, d.ingLastError,
		d.egEnvelopes, d.egBatches, d.egDropped, d.egReconnects, d.egLastError, d.egLag, d.egFuture, d.egMissing,
		d.gwEnvelopes, d.gwEvents, d.gwHeartbeats, d.gwSkipped, d.gwRequests, d.gwReconnects,
		d.gwBytes, d.gwLastError, d.gwLag, d.gwFuture, d.gwMissing,
		d.v1Sent, d.v1Dropped,
	}
}

// send sends one constant metric, or an invalid metric carrying the error
// if it cannot be built (the registry then reports it on Gather).
func send(ch chan<- prometheus.Metric, desc *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(desc, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}

func counter(ch chan<- prometheus.Metric, desc *prometheus.Desc, v uint64, labels ...string) {
	send(ch, desc, prometheus.CounterValue, float64(v), labels...)
}

func gauge(ch chan<- prometheus.Metric, desc *prometheus.Desc, v float64, labels ...string) {
	send(ch, desc, prometheus.GaugeValue, v, labels...)
}

// unixSeconds returns t as Unix seconds, or 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func (d *descs) histogram(ch chan<- prometheus.Metric, desc *prometheus.Desc, h loggregator.LagHistogram, name string) {
	cum := h.Cumulative()
	buckets := make(map[float64]uint64, len(d.lagBounds))
	for i, b := range d.lagBounds {
		buckets[b] = cum[i]
	}
	m, err := prometheus.NewConstHistogram(desc, h.Count, h.SumSeconds, buckets, name)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}

func (d *descs) collectIngress(ch chan<- prometheus.Metric, name string, s loggregator.IngressClientStats) {
	counter(ch, d.ingAccepted, s.Accepted, name)
	counter(ch, d.ingSent, s.Sent, name)
	counter(ch, d.ingDropped, s.Dropped.BufferFull, name, "buffer_full")
	counter(ch, d.ingDropped, s.Dropped.AgentUnavailable, name, "agent_unavailable")
	counter(ch, d.ingDropped, s.Dropped.AfterClose, name, "after_close")
	counter(ch, d.ingDropped, s.Dropped.Invalid, name, "invalid")
	counter(ch, d.ingDropped, s.Dropped.BrokenStream, name, "broken_stream")
	counter(ch, d.ingBatchesSent, s.BatchesSent, name)
	counter(ch, d.ingBatchesRetried, s.BatchesRetried, name)
	counter(ch, d.ingReconnects, s.Reconnects, name)
	gauge(ch, d.ingBuffered, float64(s.Buffered), name)
	send(ch, d.ingWaitTotal, prometheus.CounterValue, s.EmitWaitTotal.Seconds(), name)
	gauge(ch, d.ingWaitMax, s.EmitWaitMax.Seconds(), name)
	gauge(ch, d.ingLastError, unixSeconds(s.LastErrorTime), name)
}

func (d *descs) collectStream(ch chan<- prometheus.Metric, name string, s loggregator.EnvelopeStreamStats) {
	counter(ch, d.egEnvelopes, s.Envelopes, name)
	counter(ch, d.egBatches, s.Batches, name)
	counter(ch, d.egDropped, s.Dropped, name)
	counter(ch, d.egReconnects, s.Reconnects, name)
	gauge(ch, d.egLastError, unixSeconds(s.LastErrorTime), name)
	d.histogram(ch, d.egLag, s.Lag, name)
	counter(ch, d.egFuture, s.Lag.FutureTimestamps, name)
	counter(ch, d.egMissing, s.Lag.MissingTimestamps, name)
}

func (d *descs) collectGateway(ch chan<- prometheus.Metric, name string, s loggregator.RLPGatewayStats) {
	counter(ch, d.gwEnvelopes, s.Envelopes, name)
	counter(ch, d.gwEvents, s.Events, name)
	counter(ch, d.gwHeartbeats, s.Heartbeats, name)
	counter(ch, d.gwSkipped, s.Skipped.Malformed, name, "malformed")
	counter(ch, d.gwSkipped, s.Skipped.Oversized, name, "oversized")
	counter(ch, d.gwRequests, s.Requests, name)
	counter(ch, d.gwReconnects, s.Reconnects.StatusCode, name, "status_code")
	counter(ch, d.gwReconnects, s.Reconnects.Network, name, "network")
	counter(ch, d.gwReconnects, s.Reconnects.Closing, name, "closing")
	counter(ch, d.gwBytes, s.BytesRead, name)
	gauge(ch, d.gwLastError, unixSeconds(s.LastErrorTime), name)
	d.histogram(ch, d.gwLag, s.Lag, name)
	counter(ch, d.gwFuture, s.Lag.FutureTimestamps, name)
	counter(ch, d.gwMissing, s.Lag.MissingTimestamps, name)
}

func (d *descs) collectV1(ch chan<- prometheus.Metric, name string, sent, dropped uint64) {
	counter(ch, d.v1Sent, sent, name)
	counter(ch, d.v1Dropped, dropped, name)
}
