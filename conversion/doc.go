// Package conversion translates envelopes between the Loggregator v1
// (dropsonde, github.com/cloudfoundry/sonde-go/events) and v2
// (loggregator.v2) formats.
//
// [ToV2] turns one v1 envelope into exactly one v2 envelope; [ToV1] turns one
// v2 envelope into zero or more v1 envelopes. Both reproduce the output of
// the original go-loggregator conversion package field for field, including
// its rough edges, because downstream systems compare the results byte for
// byte. The most surprising of those, kept on purpose:
//
//   - ToV2 always adds the tags origin, deployment, job, index, ip and
//     __v1_type, even when their values are empty, and they overwrite v1 tags
//     with the same names.
//   - ToV2 keeps the instance_id tag of a ValueMetric but removes it from a
//     CounterEvent.
//   - ToV1 reads a single tag (for envelope fields such as origin) from tags
//     first and deprecated_tags second, but builds the v1 tag map with
//     deprecated_tags overwriting tags.
//   - ToV1 turns every v2 timer, whatever its name, into an HttpStartStop;
//     enum fields whose tags are missing get the invalid value 0.
//   - ToV1 returns no envelopes for a gauge in which any metric value is nil
//     (unless the gauge becomes a ContainerMetric, see below), and gives
//     multi-metric gauges back in map iteration (random) order.
//   - A gauge carrying non-empty cpu, memory, disk, memory_quota and
//     disk_quota metrics (and not exactly one metric) becomes a single
//     ContainerMetric.
//
// In ToV1, instance indexes parsed from instance_id and error codes that are
// not integers or do not fit in an int32 convert to 0, as in go-loggregator
// v9 and later (v7 truncated them); a ContainerMetric takes its instance
// index from an instance_index metric instead when the gauge has one. HTTP
// status codes are parsed as 64-bit integers and truncated to 32 bits, as in
// every version of the original.
//
// Neither function panics, whatever the input: a nil envelope, nil
// sub-messages and nil map values behave as their zero values. The inputs
// are not modified, but outputs may share byte slices (log payloads) with
// them, so callers should treat an input as handed over. Envelopes produced
// by ToV1 can lack proto2 required fields (for example an HttpStartStop whose
// request_id tag is not a UUID); marshal them with AllowPartial if that
// matters.
//
// Both functions are safe for concurrent use; they keep no state.
package conversion
