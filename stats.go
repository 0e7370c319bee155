package loggregator

import (
	"io"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/stats"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Statistics snapshots.
//
// Each client keeps its statistics in lock-free counters that cost a few
// atomic operations on the hot path and never allocate there. A snapshot
// is a plain value: each field is read atomically, but a snapshot taken
// while the client works is not one instant across fields (Sent may
// already include an envelope that Buffered still shows). All counts
// start at zero when the client is created and only grow; they wrap at
// 2^64.

// NumLagBuckets is the number of buckets in a LagHistogram, the last of
// which has no upper bound.
const NumLagBuckets = stats.NumBuckets

// LagBucketBounds returns the inclusive upper bounds of the LagHistogram
// buckets, in ascending order: 1ms, 5ms, 10ms, 50ms, 100ms, 500ms, 1s, 5s,
// 10s, 30s, 60s and, for the last bucket, math.MaxInt64 nanoseconds
// standing for +Inf. A lag falls into the first bucket whose bound is at
// least the lag (the Prometheus "le" rule). The bounds are fixed: they are
// part of the API and change only with a major version.
func LagBucketBounds() [NumLagBuckets]time.Duration { return stats.Bounds() }

// LagHistogram is a snapshot of egress lag: for each envelope received, the
// receive time minus the envelope's timestamp, counted in the fixed buckets
// of LagBucketBounds. Lag includes any clock difference between the
// envelope's source and the receiving host.
type LagHistogram struct {
	// Counts holds the number of envelopes in each bucket, Counts[i] for
	// lags in (LagBucketBounds()[i-1], LagBucketBounds()[i]]. The counts
	// are per bucket, not cumulative; Cumulative returns the cumulative
	// form that Prometheus uses.
	Counts [NumLagBuckets]uint64
	// Count is the number of envelopes observed, the sum of Counts.
	Count uint64
	// SumSeconds is the sum of the observed lags, in seconds.
	SumSeconds float64
	// FutureTimestamps counts envelopes whose timestamp was later than the
	// time they were received (clock skew). They are observed as a lag of
	// zero, in Counts[0].
	FutureTimestamps uint64
	// MissingTimestamps counts envelopes whose timestamp was zero or
	// negative. They are not observed: they are in neither Counts nor
	// Count.
	MissingTimestamps uint64
}

// Cumulative returns the cumulative bucket counts: element i is the number
// of envelopes with a lag of at most LagBucketBounds()[i]. The last element
// equals Count.
func (h LagHistogram) Cumulative() [NumLagBuckets]uint64 {
	var c [NumLagBuckets]uint64
	var n uint64
	for i, v := range h.Counts {
		n += v
		c[i] = n
	}
	return c
}

func lagFromSnapshot(s stats.Snapshot) LagHistogram {
	return LagHistogram{
		Counts:            s.Counts,
		Count:             s.Count(),
		SumSeconds:        s.SumSeconds,
		FutureTimestamps:  s.Future,
		MissingTimestamps: s.Unstamped,
	}
}

// IngressClientStats is a snapshot of an IngressClient's statistics,
// returned by IngressClient.Stats.
//
// # Accounting
//
// Every envelope given to an Emit method (EmitEvent excepted, which
// bypasses the buffer) is either refused at once, and counted in
// Dropped.BufferFull, Dropped.AgentUnavailable (less Evicted),
// Dropped.AfterClose or Dropped.Invalid, or Accepted into the buffer. An
// accepted envelope then stays in the buffer (Buffered) until it is
// confirmed by the agent (Sent), evicted while the agent is unavailable
// (Evicted, part of Dropped.AgentUnavailable) or lost with a broken
// stream (Dropped.BrokenStream). So, in a snapshot taken once sending has
// stopped (after CloseSend returned, or after the WithContext context
// ended and CloseSend returned):
//
//	Accepted == Sent + Evicted + Dropped.BrokenStream    (Buffered is 0)
//	emitted  == Sent + Dropped.Total()
//
// where emitted is the number of Emit calls (EmitEvent excepted). While
// the client works the fields are read one after the other, not at one
// instant, so the identities hold only approximately, with Buffered added
// on the right.
//
// Sent counts each envelope once; the agent may have received some
// envelopes twice (see the package documentation on resending), so what
// an agent counts can exceed Sent. Dropped.Total always equals what
// IngressClient.Dropped returns at the same moment.
type IngressClientStats struct {
	// Accepted counts envelopes that Emit calls put into the buffer.
	Accepted uint64
	// Sent counts envelopes the agent confirmed: they were written to a
	// BatchSender stream that the agent then answered cleanly when the
	// client closed it. The client closes its stream to have it
	// confirmed once an eighth of the buffer (in envelopes or bytes) was
	// written on it, or 250 ms after the oldest unconfirmed batch when
	// there is nothing more to write, so Sent trails what the agent has
	// read by about that much. Each envelope counts once, however many
	// times it was written.
	Sent uint64
	// Dropped counts envelopes dropped, by cause.
	Dropped IngressDrops
	// Evicted counts the envelopes, among Dropped.AgentUnavailable, that
	// had been Accepted and were evicted from the buffer, oldest first,
	// to make room for newer ones while the agent was not accepting data.
	// It is part of Dropped, not a further cause.
	Evicted uint64
	// BatchesSent counts the batches in which the Sent envelopes were
	// confirmed (each once, however many times it was written).
	BatchesSent uint64
	// BatchesRetried counts batches queued again to be written on a new
	// stream after the stream they were written on (or were being
	// written on) broke or was not confirmed; a batch that needed three
	// streams counts two.
	BatchesRetried uint64
	// Reconnects counts BatchSender streams opened after a failure: the
	// first stream opened after the newest stream broke, was not
	// confirmed or could not be opened, or after the gRPC connection to
	// the agent was lost, counts one, however many attempts it took. So
	// an agent restart counts one reconnect (once the client has
	// something to send). The first stream the client opens is never a
	// reconnect, and streams that replace a stream closed to confirm it
	// are not either.
	Reconnects uint64
	// Buffered is the number of envelopes in the buffer when the snapshot
	// was taken: waiting to be sent, being sent, or written and waiting
	// for the agent's confirmation. It is a gauge, not a count.
	Buffered uint64
	// EmitWaits counts Emit calls that waited for room in a full buffer
	// (or for their turn behind other waiting calls), whether or not
	// they found room in the end.
	EmitWaits uint64
	// EmitWaitTotal is the total time Emit calls spent waiting for room,
	// summed over all callers (it saturates at about 292 years).
	EmitWaitTotal time.Duration
	// EmitWaitMax is the longest single wait of an Emit call for room. It
	// stays within WithMaxEmitWait, scheduling delays aside.
	EmitWaitMax time.Duration
	// LastError is the most recent error met while sending (opening a
	// stream, writing a batch, having a stream confirmed), or nil if there
	// was none. The agent's usual answer to a closed stream (Unknown
	// "EOF") is not an error.
	LastError error
	// LastErrorTime is when LastError happened; the zero time if there was
	// none.
	LastErrorTime time.Time
}

// IngressDrops counts an IngressClient's dropped envelopes by cause.
// Total is the number IngressClient.Dropped returns.
type IngressDrops struct {
	// BufferFull counts envelopes refused because the buffer was full
	// while the agent was accepting data, and stayed full for as long as
	// Emit may wait (WithMaxEmitWait; at once with WithDropWhenFull).
	BufferFull uint64
	// AgentUnavailable counts envelopes dropped because the buffer was
	// full while the agent was not accepting data: the connection was
	// failing, or the agent had been found stalled (an Emit wait ran out
	// without progress, or a send or confirmation overran
	// WithSendTimeout). Emit then does not wait: it evicts the oldest
	// batch in the buffer that was never written (those envelopes were
	// Accepted; see Evicted) and keeps the new envelope, or drops the new
	// envelope when there is no such batch. Both count here.
	AgentUnavailable uint64
	// AfterClose counts envelopes given to Emit after CloseSend started.
	AfterClose uint64
	// Invalid counts envelopes that could not be encoded (nil, or strings
	// that are not valid UTF-8) or were larger than
	// MaxIngressEnvelopeSize.
	Invalid uint64
	// BrokenStream counts accepted envelopes lost after their Emit call
	// returned: batches given up after MaxBatchSendAttempts streams broke
	// or went unconfirmed under them (they may have reached the agent),
	// and envelopes still in the buffer, written or not, when sending
	// stopped without their confirmation (CloseSend gave up, or the
	// WithContext context ended).
	BrokenStream uint64
}

// Total returns the sum of all drop causes.
func (d IngressDrops) Total() uint64 {
	return d.BufferFull + d.AgentUnavailable + d.AfterClose + d.Invalid + d.BrokenStream
}

// EnvelopeStreamStats is a snapshot of an EnvelopeStreamConnector's
// statistics, summed over all the streams it has opened.
type EnvelopeStreamStats struct {
	// Envelopes counts envelopes received from the server, before the
	// optional buffer (WithEnvelopeStreamBuffer), so it includes those
	// the buffer later dropped.
	Envelopes uint64
	// Batches counts batches (EnvelopeBatch messages) received from the
	// server, empty ones included. A batch that the stream returns in
	// several parts (see EnvelopeStreamMaxBatchBytes) counts once.
	Batches uint64
	// Dropped counts envelopes (not batches) that the optional buffer
	// dropped because the consumer did not keep up, as they are dropped.
	// The buffer's alerter hears of the same drops in batches, on the
	// consumer's next call of the EnvelopeStream: when every batch holds n
	// envelopes, Dropped is n times the total given to the alerter once
	// the alerter has been called. Envelopes still in the buffer when a
	// stream's context ends are not counted. It stays zero without the
	// buffer; an unbuffered stream slows the server down instead.
	Dropped uint64
	// Reconnects counts streams opened after the first stream of the same
	// Stream call, whatever ended the one before: a break, a clean end by
	// the server, a batch that could not be decoded. Failed attempts in
	// between are not counted (they are errors, see LastError), so a
	// server that goes away and comes back adds exactly one; a stream
	// that the server answers with an error status once it is open does
	// count. The first stream of each Stream call is not a reconnect, even
	// when attempts failed before it.
	Reconnects uint64
	// LastError is the most recent error met while opening or reading a
	// stream (including a batch that could not be decoded, and dial
	// options that gRPC rejects), or nil if there was none. A stream the server ends cleanly and the end of a
	// Stream call's context are not errors.
	LastError error
	// LastErrorTime is when LastError happened; the zero time if there was
	// none.
	LastErrorTime time.Time
	// Lag is the egress lag of every envelope counted in Envelopes: the
	// time its batch was read from the connection minus its timestamp.
	Lag LagHistogram
}

// RLPGatewayStats is a snapshot of an RLPGatewayClient's statistics,
// summed over all the streams it has opened (see RLPGatewayClient.Stats).
//
// Once no stream is running, Requests equals Reconnects.Total() plus the
// number of streams that made a request (the first request of a stream is
// not a reconnect). Skipped.Total() always equals
// RLPGatewayClient.SkippedEvents: both read the same counters.
type RLPGatewayStats struct {
	// Envelopes counts envelopes decoded from data events and handed to
	// the stream (including those still waiting for the caller). An event
	// decoded in parts whose later part turns out malformed counts the
	// envelopes of its earlier parts here and the event in
	// Skipped.Malformed.
	Envelopes uint64
	// Events counts server-sent events read, of every kind: data events,
	// heartbeats, closing events, skipped events and events of unknown
	// types.
	Events uint64
	// Heartbeats counts heartbeat events.
	Heartbeats uint64
	// Skipped counts events that were read and not delivered, by reason.
	Skipped RLPGatewaySkips
	// Requests counts HTTP stream requests given to the Doer, the first
	// of each stream and every reconnect, whether or not they reached the
	// gateway.
	Requests uint64
	// Reconnects counts new requests made after an earlier one ended, by
	// the cause of that end. A request whose stream is ended by its
	// context (or by WithRLPGatewayMaxRetries) is not followed by a
	// reconnect.
	Reconnects RLPGatewayReconnects
	// BytesRead counts response body bytes read from the gateway: event
	// streams and the bodies of error answers (as decoded by the HTTP
	// client: without chunk framing or compression). Bytes of a stream the
	// client discards when its context ends are counted as far as they
	// were read.
	BytesRead uint64
	// LastError is the most recent error met while requesting or reading
	// a stream, or nil if there was none: a request error, a non-200
	// answer (with up to 512 bytes of its body), a stream that broke, an
	// event skipped (an error wrapping ErrRLPGatewayEventSkipped), or
	// ErrRLPGatewayMaxRetries. A stream the gateway ends cleanly, and a
	// request cancelled by its context, are not errors.
	LastError error
	// LastErrorTime is when LastError happened; the zero time if there was
	// none.
	LastErrorTime time.Time
	// Lag is the egress lag of every envelope received.
	Lag LagHistogram
}

// RLPGatewaySkips counts an RLPGatewayClient's skipped events by reason.
type RLPGatewaySkips struct {
	// Malformed counts data events whose payload was not a valid envelope
	// batch.
	Malformed uint64
	// Oversized counts events whose data was larger than the client's
	// maximum event size (WithRLPGatewayMaxEventSize), read to their end
	// and discarded.
	Oversized uint64
}

// Total returns the sum of all skip reasons.
func (s RLPGatewaySkips) Total() uint64 { return s.Malformed + s.Oversized }

// RLPGatewayReconnects counts an RLPGatewayClient's reconnects by the
// cause that ended the previous request.
type RLPGatewayReconnects struct {
	// StatusCode counts requests the gateway answered with a status other
	// than 200 OK.
	StatusCode uint64
	// Network counts requests that failed (connection refused, TLS
	// errors, a Doer that returned an error or no response) and streams
	// whose body could not be read to its end (connection resets,
	// timeouts, an abrupt close), including a body that ended inside an
	// event, without its terminating blank line.
	Network uint64
	// Closing counts streams the gateway ended on its own: with a closing
	// event, or with a clean end of the body between events (io.EOF from
	// the body, as the real gateway does when its upstream ends; also when
	// that happens before any event, although the client then backs off as
	// after a failure).
	Closing uint64
}

// Total returns the sum of all reconnect causes.
func (r RLPGatewayReconnects) Total() uint64 { return r.StatusCode + r.Network + r.Closing }

// observeLag records the lag of each envelope of batch, received at now,
// into h with one atomic operation per non-empty bucket.
func observeLag(h *stats.Histogram, now time.Time, batch []*loggregator_v2.Envelope) {
	var b stats.Batch
	rt := now.UnixNano()
	for _, e := range batch {
		b.Observe(rt, e.GetTimestamp())
	}
	h.Add(&b)
}

// streamCounters records an EnvelopeStreamConnector's statistics over all
// its streams. The zero value is ready; it must not be copied after first
// use. All methods are safe for concurrent use, lock-free, and do not
// allocate (setError excepted).
type streamCounters struct {
	envelopes  atomic.Uint64
	batches    atomic.Uint64
	dropped    atomic.Uint64
	reconnects atomic.Uint64
	lastErr    stats.LastError
	lag        stats.Histogram
}

// received counts one batch received at now and records the lag of each
// of its envelopes. Call it with the time the batch arrived, before the
// optional buffer.
func (c *streamCounters) received(now time.Time, batch []*loggregator_v2.Envelope) {
	c.addBatch()
	c.addEnvelopes(now, batch)
}

// addBatch counts one batch received from the server. A batch handed out
// in several chunks is counted once, with addBatch, and its envelopes
// chunk by chunk, with addEnvelopes.
func (c *streamCounters) addBatch() { c.batches.Add(1) }

// addEnvelopes counts envs, part or all of a batch received at now, and
// records the lag of each.
func (c *streamCounters) addEnvelopes(now time.Time, envs []*loggregator_v2.Envelope) {
	c.envelopes.Add(uint64(len(envs)))
	observeLag(&c.lag, now, envs)
}

// addDropped counts n envelopes (not batches) dropped by the optional
// buffer.
func (c *streamCounters) addDropped(n int) {
	if n > 0 {
		c.dropped.Add(uint64(n))
	}
}

// addReconnect counts one stream reopened after an earlier one broke.
func (c *streamCounters) addReconnect() { c.reconnects.Add(1) }

// setError records err, met at at, as the last error; nil is ignored.
func (c *streamCounters) setError(err error, at time.Time) { c.lastErr.Set(err, at) }

// snapshot returns the statistics.
func (c *streamCounters) snapshot() EnvelopeStreamStats {
	s := EnvelopeStreamStats{
		Envelopes:  c.envelopes.Load(),
		Batches:    c.batches.Load(),
		Dropped:    c.dropped.Load(),
		Reconnects: c.reconnects.Load(),
		Lag:        lagFromSnapshot(c.lag.Snapshot()),
	}
	s.LastErrorTime, s.LastError = c.lastErr.Load()
	return s
}

// gatewaySkipReason says why an RLP gateway event was skipped.
type gatewaySkipReason int

const (
	skipMalformed gatewaySkipReason = iota
	skipOversized
	numGatewaySkipReasons
)

// gatewayReconnectCause says what ended the previous RLP gateway request.
type gatewayReconnectCause int

const (
	reconnectStatusCode gatewayReconnectCause = iota
	reconnectNetwork
	reconnectClosing
	numGatewayReconnectCauses
)

// gatewayCounters records an RLPGatewayClient's statistics over all its
// streams. The zero value is ready; it must not be copied after first use.
// All methods are safe for concurrent use, lock-free, and do not allocate
// (setError and countReads excepted).
type gatewayCounters struct {
	envelopes  atomic.Uint64
	events     atomic.Uint64
	heartbeats atomic.Uint64
	skipped    [numGatewaySkipReasons]atomic.Uint64
	requests   atomic.Uint64
	reconnects [numGatewayReconnectCauses]atomic.Uint64
	bytes      atomic.Uint64
	lastErr    stats.LastError
	lag        stats.Histogram
}

// received counts the envelopes of one data event received at now and
// records their lag.
func (c *gatewayCounters) received(now time.Time, batch []*loggregator_v2.Envelope) {
	c.envelopes.Add(uint64(len(batch)))
	observeLag(&c.lag, now, batch)
}

// addEvent counts one event read, of any kind.
func (c *gatewayCounters) addEvent() { c.events.Add(1) }

// addHeartbeat counts one heartbeat event (call addEvent for it too).
func (c *gatewayCounters) addHeartbeat() { c.heartbeats.Add(1) }

// addSkipped counts one event skipped for reason (call addEvent for it
// too). Unknown reasons are ignored.
func (c *gatewayCounters) addSkipped(reason gatewaySkipReason) {
	if reason >= 0 && reason < numGatewaySkipReasons {
		c.skipped[reason].Add(1)
	}
}

// skippedTotal returns the number of events skipped for any reason.
func (c *gatewayCounters) skippedTotal() uint64 {
	var n uint64
	for i := range c.skipped {
		n += c.skipped[i].Load()
	}
	return n
}

// addRequest counts one HTTP stream request made.
func (c *gatewayCounters) addRequest() { c.requests.Add(1) }

// addReconnect counts one new request made after the previous one ended
// for cause. Unknown causes are ignored.
func (c *gatewayCounters) addReconnect(cause gatewayReconnectCause) {
	if cause >= 0 && cause < numGatewayReconnectCauses {
		c.reconnects[cause].Add(1)
	}
}

// addBytes counts n response body bytes read.
func (c *gatewayCounters) addBytes(n int) {
	if n > 0 {
		c.bytes.Add(uint64(n))
	}
}

// countReads returns r wrapped so that every byte read through it is
// counted by addBytes.
func (c *gatewayCounters) countReads(r io.Reader) io.Reader {
	return &countingReader{r: r, c: c}
}

type countingReader struct {
	r io.Reader
	c *gatewayCounters
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.c.addBytes(n)
	return n, err
}

// setError records err, met at at, as the last error; nil is ignored.
func (c *gatewayCounters) setError(err error, at time.Time) { c.lastErr.Set(err, at) }

// snapshot returns the statistics.
func (c *gatewayCounters) snapshot() RLPGatewayStats {
	s := RLPGatewayStats{
		Envelopes:  c.envelopes.Load(),
		Events:     c.events.Load(),
		Heartbeats: c.heartbeats.Load(),
		Skipped: RLPGatewaySkips{
			Malformed: c.skipped[skipMalformed].Load(),
			Oversized: c.skipped[skipOversized].Load(),
		},
		Requests: c.requests.Load(),
		Reconnects: RLPGatewayReconnects{
			StatusCode: c.reconnects[reconnectStatusCode].Load(),
			Network:    c.reconnects[reconnectNetwork].Load(),
			Closing:    c.reconnects[reconnectClosing].Load(),
		},
		BytesRead: c.bytes.Load(),
		Lag:       lagFromSnapshot(c.lag.Snapshot()),
	}
	s.LastErrorTime, s.LastError = c.lastErr.Load()
	return s
}
