package v1

import (
	"io"
	"log"
	"sync/atomic"
	"time"

	"github.com/cloudfoundry/dropsonde"
	"github.com/cloudfoundry/sonde-go/events"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

// UninitializedLogInterval is the shortest time between two log lines
// reporting that envelopes are dropped because dropsonde.Initialize was
// not called. The first occurrence is always logged.
const UninitializedLogInterval = time.Minute

// Client sends envelopes to Loggregator's v1 (dropsonde, UDP) API through
// dropsonde.DefaultEmitter. Create it with NewClient. It is safe for
// concurrent use.
type Client struct {
	tags   map[string]string
	logger loggregator.Logger

	// emitter returns the emitter to send with; dropsonde.DefaultEmitter,
	// looked up on every emit.
	emitter func() dropsonde.EventEmitter

	sent    atomic.Uint64 // envelopes the emitter accepted
	dropped atomic.Uint64 // envelopes built but not sent
	// lastWarn is the time (Unix ns) the uninitialised-emitter problem was
	// last logged; 0 before the first time.
	lastWarn atomic.Int64
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithTag adds a tag that is written into every envelope the client sends.
// It may be given several times; a later WithTag for the same name wins.
// Client tags are applied after the per-call tags of each Emit call, so
// they override per-call tags with the same name.
func WithTag(name, value string) ClientOption {
	return func(c *Client) {
		c.tags[name] = value
	}
}

// WithLogger sets the logger that reports emit failures and a missing
// dropsonde.Initialize. The default (and a nil l) discards everything. Only
// Printf is ever called.
func WithLogger(l loggregator.Logger) ClientOption {
	return func(c *Client) {
		c.logger = l
	}
}

// NewClient creates a v1 client. It never fails; the error is always nil
// and exists for compatibility.
func NewClient(opts ...ClientOption) (*Client, error) {
	c := &Client{
		tags:    make(map[string]string),
		emitter: func() dropsonde.EventEmitter { return dropsonde.DefaultEmitter },
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.logger == nil {
		c.logger = log.New(io.Discard, "", 0)
	}
	return c, nil
}

// Dropped returns the number of envelopes this client built but did not
// hand to the network: because dropsonde was not initialised, or because
// the emitter returned an error.
func (c *Client) Dropped() uint64 {
	return c.dropped.Load()
}

// EmitLog sends a LogMessage envelope with the given message, of type ERR
// unless loggregator.WithStdout is given.
//
// loggregator.WithSourceInfo (or WithAppInfo) sets the log's app_id,
// source_type and source_instance; tag options add envelope tags.
func (c *Client) EmitLog(message string, opts ...loggregator.EmitLogOption) {
	b := newBuilder(kindLog)
	now := time.Now().UnixNano()
	b.log = &events.Envelope{
		EventType: events.Envelope_LogMessage.Enum(),
		Timestamp: &now,
		LogMessage: &events.LogMessage{
			Message:     []byte(message),
			MessageType: events.LogMessage_ERR.Enum(),
			Timestamp:   ptr(time.Now().UnixNano()),
		},
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	c.send(b.tags, b.log)
}

// EmitCounter sends a CounterEvent envelope with the given name and a
// delta of 1 (total unset).
//
// loggregator.WithDelta sets the delta; loggregator.WithTotal sets the
// total and the delta to 0 (a later WithDelta sets the delta again);
// WithCounterSourceInfo and WithCounterAppInfo set the tags "source_id" and
// "instance_id".
func (c *Client) EmitCounter(name string, opts ...loggregator.EmitCounterOption) {
	b := newBuilder(kindCounter)
	now := time.Now().UnixNano()
	b.counter = &events.Envelope{
		EventType: events.Envelope_CounterEvent.Enum(),
		Timestamp: &now,
		CounterEvent: &events.CounterEvent{
			Name:  ptr(name),
			Delta: ptr(uint64(1)),
		},
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	c.send(b.tags, b.counter)
}

// EmitGauge sends one ValueMetric envelope per loggregator.WithGaugeValue
// option, in option order, each with its own timestamp and the tags of
// the call. Unlike the v2 client, a repeated name is sent repeatedly, and
// with no WithGaugeValue nothing at all is sent.
// WithGaugeSourceInfo and WithGaugeAppInfo set the tags "source_id" and
// "instance_id".
//
// Instead, a single ContainerMetric envelope is sent when all of these
// hold:
//   - exactly five values were given, named "cpu", "memory", "disk",
//     "memory_quota" and "disk_quota" (in any order);
//   - the call's own tags (not the client's WithTag tags) contain
//     "source_id";
//   - the call's tag "instance_id" is a base-10 integer that fits in an
//     int32 (other values, including larger numbers, prevent promotion).
//
// The ContainerMetric has applicationId = source_id, instanceIndex =
// instance_id, cpuPercentage = the cpu value, and memoryBytes, diskBytes,
// memoryBytesQuota and diskBytesQuota = the respective values truncated to
// uint64 (negative and NaN values become 0 and values too large become the
// largest uint64, where the original's result depended on the platform).
// Units are ignored; the envelope keeps all tags.
func (c *Client) EmitGauge(opts ...loggregator.EmitGaugeOption) {
	b := newBuilder(kindGauge)
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	if len(b.gauges) == 0 {
		return
	}
	if env, ok := b.containerMetric(); ok {
		c.send(b.tags, env)
		return
	}
	c.send(b.tags, b.gauges...)
}

// send stamps origin and tags on each envelope and emits it, one datagram
// each, in order.
func (c *Client) send(callTags map[string]string, envs ...*events.Envelope) {
	em := c.emitter()
	if em == nil || em.Origin() == "" {
		c.dropUninitialized(len(envs))
		return
	}
	origin := em.Origin()
	for _, env := range envs {
		tags := make(map[string]string, len(callTags)+len(c.tags))
		for k, v := range callTags {
			tags[k] = v
		}
		for k, v := range c.tags {
			tags[k] = v
		}
		env.Origin = ptr(origin)
		env.Tags = tags
		if err := em.EmitEnvelope(env); err != nil {
			c.dropped.Add(1)
			c.logger.Printf("Failed to emit envelope: %s", err)
			continue
		}
		c.sent.Add(1)
	}
}

// dropUninitialized counts n envelopes dropped for want of an initialised
// dropsonde emitter and logs that, rate-limited.
func (c *Client) dropUninitialized(n int) {
	total := c.dropped.Add(uint64(n))
	now := time.Now().UnixNano()
	last := c.lastWarn.Load()
	if last != 0 && now-last < int64(UninitializedLogInterval) {
		return
	}
	if !c.lastWarn.CompareAndSwap(last, now) {
		return // another goroutine logs this round
	}
	c.logger.Printf("go-loggregator/v1: dropsonde is not initialized (call dropsonde.Initialize with a destination and an origin); envelopes are not sent (%d dropped so far)", total)
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T {
	return &v
}
