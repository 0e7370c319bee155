// Package promcollector exposes the statistics of go-loggregator clients
// as Prometheus metrics.
//
// Create a Collector with New, add each client under a name, and register
// the Collector with a Prometheus registry:
//
//	c, err := promcollector.New(promcollector.WithConstLabels(prometheus.Labels{"app": "my-nozzle"}))
//	if err != nil { ... }
//	if err := c.AddIngressClient("emitter", ingressClient); err != nil { ... }
//	if err := c.AddEnvelopeStreamConnector("firehose", connector); err != nil { ... }
//	prometheus.MustRegister(c)
//
// The Collector reads each client's Stats snapshot when it is scraped, so
// there is no background goroutine and nothing to stop. A client only
// needs a Stats method of the right type (IngressSource,
// EnvelopeStreamSource, RLPGatewaySource); a v1 client is added through a
// V1StatsFunc. A Collector is safe for concurrent use: clients may be
// added and removed while it is being scraped.
//
// # Metrics
//
// Every metric carries a "client" label, the name the client was added
// under (unique across all kinds of client), and the constant labels given
// with WithConstLabels. Counters end in "_total", durations are in seconds
// and sizes in bytes. The lag histograms use the fixed buckets of
// loggregator.LagBucketBounds. Other labels are shown in braces; the field
// of the statistics snapshot each metric exposes is documented on that
// snapshot type.
//
// From an IngressSource (loggregator.IngressClientStats):
//
//	loggregator_ingress_envelopes_accepted_total                 Accepted
//	loggregator_ingress_envelopes_sent_total                     Sent
//	loggregator_ingress_envelopes_dropped_total{cause}           Dropped; cause is buffer_full, agent_unavailable, after_close, invalid or broken_stream
//	loggregator_ingress_batches_sent_total                       BatchesSent
//	loggregator_ingress_batches_retried_total                    BatchesRetried
//	loggregator_ingress_reconnects_total                         Reconnects
//	loggregator_ingress_buffered_envelopes                       Buffered (gauge)
//	loggregator_ingress_emit_wait_seconds_total                  EmitWaitTotal
//	loggregator_ingress_emit_wait_max_seconds                    EmitWaitMax (gauge)
//	loggregator_ingress_last_error_timestamp_seconds             LastErrorTime as Unix seconds, 0 if none (gauge)
//
// From an EnvelopeStreamSource (loggregator.EnvelopeStreamStats):
//
//	loggregator_egress_envelopes_received_total                  Envelopes
//	loggregator_egress_batches_received_total                    Batches
//	loggregator_egress_envelopes_dropped_total                   Dropped (envelopes, although the buffer's alerter counts batches)
//	loggregator_egress_reconnects_total                          Reconnects (streams opened after the first of each Stream call)
//	loggregator_egress_last_error_timestamp_seconds              LastErrorTime (gauge)
//	loggregator_egress_lag_seconds                               Lag (histogram)
//	loggregator_egress_envelopes_future_timestamp_total          Lag.FutureTimestamps
//	loggregator_egress_envelopes_missing_timestamp_total         Lag.MissingTimestamps
//
// From an RLPGatewaySource (loggregator.RLPGatewayStats):
//
//	loggregator_rlp_gateway_envelopes_received_total             Envelopes
//	loggregator_rlp_gateway_events_received_total                Events
//	loggregator_rlp_gateway_heartbeats_received_total            Heartbeats
//	loggregator_rlp_gateway_events_skipped_total{reason}         Skipped; reason is malformed or oversized
//	loggregator_rlp_gateway_requests_total                       Requests
//	loggregator_rlp_gateway_reconnects_total{cause}              Reconnects; cause is status_code, network or closing
//	loggregator_rlp_gateway_received_bytes_total                 BytesRead
//	loggregator_rlp_gateway_last_error_timestamp_seconds         LastErrorTime (gauge)
//	loggregator_rlp_gateway_lag_seconds                          Lag (histogram)
//	loggregator_rlp_gateway_envelopes_future_timestamp_total     Lag.FutureTimestamps
//	loggregator_rlp_gateway_envelopes_missing_timestamp_total    Lag.MissingTimestamps
//
// From a V1StatsFunc:
//
//	loggregator_v1_envelopes_sent_total                          sent
//	loggregator_v1_envelopes_dropped_total                       dropped
//
// This package is the only part of go-loggregator that imports
// github.com/prometheus/client_golang: a program that does not import it
// does not link that module.
package promcollector
