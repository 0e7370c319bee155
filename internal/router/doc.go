// Package router is the routing core of `loggregator dev`: it hands every
// published envelope to the subscribers whose selectors match it, with the
// semantics of Loggregator's egress (loggregator-v2-wire.md §4):
//
//   - A selector matches by source id (empty means any source) and by
//     envelope kind: log, counter (optionally one exact name), gauge
//     (optionally an exact set of metric names), timer or event. A
//     subscription without selectors matches nothing.
//   - Subscriptions sharing a non-empty shard id form a group: each envelope
//     goes to exactly one member whose selectors match, chosen round robin
//     (or by counter/gauge name when the request sets deterministic_name).
//     An empty shard id makes a group of one. Different groups each get
//     every matching envelope.
//   - Each subscription has a buffer bounded in envelopes and in bytes
//     (Limits; DefaultBufferSize envelopes and DefaultBufferBytes, each
//     envelope counted by Size, an estimate of its decoded memory). Publish
//     never blocks: when a buffer is full the envelopes that do not fit are
//     dropped and counted, and the drop is logged (at most once per second
//     per subscription). NextBytes lets a reader take a bounded number of
//     bytes at a time, so what it holds outside the buffer is bounded too.
//
// Envelopes passed to Publish must not be modified afterwards: they are
// shared by every subscription that receives them. Tag conversion for
// use_preferred_tags (ConvertTags) builds new envelopes and leaves the
// shared ones untouched.
//
// A Router and its Subscriptions are safe for concurrent use; each
// Subscription is meant to be read by one goroutine.
package router
