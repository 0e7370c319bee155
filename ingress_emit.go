package loggregator

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"code.cloudfoundry.org/go-loggregator/internal/batch"
	"code.cloudfoundry.org/go-loggregator/internal/protobin"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// envSlot is a reusable envelope with one payload of every kind, so that
// building an envelope allocates nothing. Everything an Emit option might
// have replaced (payload slice, maps, sub-messages) is put back from the
// slot's own fields before the slot is used again, so the client only
// ever writes into memory it allocated itself.
type envSlot struct {
	env      loggregator_v2.Envelope
	tags     map[string]string
	log      loggregator_v2.Log
	logW     loggregator_v2.Envelope_Log
	payload  []byte // the slot's own payload buffer
	counter  loggregator_v2.Counter
	counterW loggregator_v2.Envelope_Counter
	gauge    loggregator_v2.Gauge
	gaugeW   loggregator_v2.Envelope_Gauge
	metrics  map[string]*loggregator_v2.GaugeValue
	timer    loggregator_v2.Timer
	timerW   loggregator_v2.Envelope_Timer
	scratch  []byte
}

func newEnvSlot() *envSlot {
	return &envSlot{
		tags:    make(map[string]string, 8),
		metrics: make(map[string]*loggregator_v2.GaugeValue, 4),
	}
}

// emitWaitMargin is how much earlier than the bound a waiting Emit gives
// up, to leave room for scheduling.
const emitWaitMargin = 5 * time.Millisecond

// maxPooledBytes limits what a pooled slot keeps after a large envelope.
const maxPooledBytes = 64 << 10

// start resets the slot's envelope and fills timestamp and client tags.
func (c *IngressClient) start() (*envSlot, *loggregator_v2.Envelope) {
	s := c.pool.Get().(*envSlot)
	e := &s.env
	e.Timestamp = time.Now().UnixNano()
	e.SourceId = ""
	e.InstanceId = ""
	e.DeprecatedTags = nil
	clear(s.tags)
	for k, v := range c.tags {
		s.tags[k] = v
	}
	e.Tags = s.tags
	return s, e
}

// clearUnknown drops unknown fields an option may have set.
func clearUnknown(m protoreflect.ProtoMessage) {
	if r := m.ProtoReflect(); len(r.GetUnknown()) != 0 {
		r.SetUnknown(nil)
	}
}

// finish encodes e into the buffer and returns the slot to the pool,
// re-linking the slot's own fields in place of anything an option set.
func (c *IngressClient) finish(s *envSlot, e *loggregator_v2.Envelope) {
	c.enqueue(s, e)
	e.Message = nil
	e.Tags = nil
	s.logW.Log, s.counterW.Counter, s.gaugeW.Gauge, s.timerW.Timer = &s.log, &s.counter, &s.gauge, &s.timer
	s.log.Payload = nil
	if cap(s.payload) > maxPooledBytes {
		s.payload = nil
	}
	s.counter.Name, s.timer.Name = "", ""
	clear(s.metrics)
	s.gauge.Metrics = nil
	for _, m := range []protoreflect.ProtoMessage{e, &s.log, &s.counter, &s.gauge, &s.timer} {
		clearUnknown(m)
	}
	if cap(s.scratch) > maxPooledBytes {
		s.scratch = nil
	}
	c.pool.Put(s)
}

func (c *IngressClient) enqueue(s *envSlot, e *loggregator_v2.Envelope) {
	if c.closed.Load() {
		c.drop(&c.stats.DroppedClosed, 1)
		return
	}
	var err error
	s.scratch, err = protobin.AppendBatchEntry(s.scratch[:0], e)
	if err != nil || len(s.scratch) > MaxIngressEnvelopeSize {
		c.drop(&c.stats.DroppedInvalid, 1)
		return
	}
	if c.waiters.Load() == 0 {
		// No one waits for room: try the buffer directly.
		err = c.buf.Add(s.scratch)
		if err == nil {
			return
		}
		if err == batch.ErrClosed {
			c.drop(&c.stats.DroppedClosed, 1)
			return
		}
	}
	c.waitForRoom(s.scratch)
}

// waitForRoom runs when the buffer is full or others wait for room: it
// waits its turn and for room while the agent is accepting, at most
// maxEmitWait in all, and drops otherwise. Waiters take turns in arrival
// order (c.turn), and Emit calls that find waiters queue behind them, so
// that no emitter is starved while others keep finding room.
func (c *IngressClient) waitForRoom(entry []byte) {
	if !c.sender.Accepting() {
		c.replaceOldest(entry)
		return
	}
	if c.cfg.maxEmitWait <= 0 {
		c.drop(&c.stats.DroppedFull, 1)
		return
	}
	c.waiters.Add(1)
	defer c.waiters.Add(-1)
	t0 := time.Now()
	// Every way out from here on counts as one wait.
	defer func() { c.stats.AddEmitWait(time.Since(t0)) }()
	// Fire a little early, so that the call as a whole, scheduling
	// included, stays within the bound.
	timer := time.NewTimer(max(c.cfg.maxEmitWait-emitWaitMargin, c.cfg.maxEmitWait/2))
	defer timer.Stop()
	select {
	case c.turn <- struct{}{}:
		defer func() { <-c.turn }()
	case <-timer.C:
		c.sender.MarkStalled(t0)
		c.drop(&c.stats.DroppedFull, 1)
		return
	}
	for {
		room := c.buf.Room()
		switch c.buf.Add(entry) {
		case nil:
			return
		case batch.ErrClosed:
			c.drop(&c.stats.DroppedClosed, 1)
			return
		}
		if !c.sender.Accepting() {
			c.replaceOldest(entry)
			return
		}
		select {
		case <-room:
		case <-timer.C:
			c.sender.MarkStalled(t0)
			c.drop(&c.stats.DroppedFull, 1)
			return
		}
	}
}

// replaceOldest runs when the buffer is full and the agent is not
// accepting: it drops the oldest waiting batch (counted as evicted) to keep the new
// envelope, so that what is emitted last, and in particular after the
// agent returns, is what survives an outage. When no batch waits (all are
// with the sender) it drops the new envelope.
func (c *IngressClient) replaceOldest(entry []byte) {
	for i := 0; i < 2; i++ {
		n := c.buf.DropOldest()
		if n == 0 {
			break
		}
		c.stats.EvictedDown.Add(uint64(n))
		switch c.buf.Add(entry) {
		case nil:
			c.signalDrop()
			return
		case batch.ErrClosed:
			c.drop(&c.stats.DroppedClosed, 1)
			return
		}
	}
	c.drop(&c.stats.DroppedDown, 1)
}

func (c *IngressClient) drop(counter *atomic.Uint64, n int) {
	counter.Add(uint64(n))
	c.signalDrop()
}

func (c *IngressClient) signalDrop() {
	select {
	case c.dropSignal <- struct{}{}:
	default:
	}
}

// Dropped returns the number of envelopes dropped so far: refused because
// the buffer was full or the client closed, evicted from a full buffer
// while the agent was unavailable, not encodable or larger than
// MaxIngressEnvelopeSize, given up after MaxBatchSendAttempts, or still
// undelivered when CloseSend gave up. It equals Stats().Dropped.Total()
// taken at the same moment, which splits it by cause. It is an addition
// to the original API.
func (c *IngressClient) Dropped() uint64 { return c.stats.Dropped() }

// EmitLog sends a message to loggregator.
//
// The envelope carries the time, the client tags, the message as a log
// payload of type ERR (WithStdout selects OUT), then the options' edits in
// argument order.
func (c *IngressClient) EmitLog(message string, opts ...EmitLogOption) {
	s, e := c.start()
	s.payload = append(s.payload[:0], message...)
	s.log.Payload = s.payload
	s.log.Type = loggregator_v2.Log_ERR
	s.logW.Log = &s.log
	e.Message = &s.logW
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	c.finish(s, e)
}

// EmitGauge sends the configured gauge values to loggregator. If no
// EmitGaugeOption values are present, the client will emit an empty gauge.
func (c *IngressClient) EmitGauge(opts ...EmitGaugeOption) {
	s, e := c.start()
	clear(s.metrics)
	s.gauge.Metrics = s.metrics
	s.gaugeW.Gauge = &s.gauge
	e.Message = &s.gaugeW
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	c.finish(s, e)
}

// EmitCounter sends a counter envelope with a delta of 1.
//
// WithDelta sets another delta; WithTotal sets the total and a delta of 0.
func (c *IngressClient) EmitCounter(name string, opts ...EmitCounterOption) {
	s, e := c.start()
	s.counter.Name, s.counter.Delta, s.counter.Total = name, 1, 0
	s.counterW.Counter = &s.counter
	e.Message = &s.counterW
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	c.finish(s, e)
}

// EmitTimer sends a timer envelope with the given name, start time and
// stop time (as Unix nanoseconds).
func (c *IngressClient) EmitTimer(name string, start, stop time.Time, opts ...EmitTimerOption) {
	s, e := c.start()
	s.timer.Name, s.timer.Start, s.timer.Stop = name, start.UnixNano(), stop.UnixNano()
	s.timerW.Timer = &s.timer
	e.Message = &s.timerW
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	c.finish(s, e)
}

// Emit sends an envelope. It will sent within a batch.
//
// The envelope is sent as it is: no timestamp and no client tags are
// added. It is encoded before Emit returns, so the caller may reuse it
// afterwards. A nil envelope, one with strings that are not valid UTF-8,
// or one larger than MaxIngressEnvelopeSize is dropped and counted.
func (c *IngressClient) Emit(env *loggregator_v2.Envelope) {
	if env == nil {
		c.drop(&c.stats.DroppedInvalid, 1)
		return
	}
	s := c.pool.Get().(*envSlot)
	c.enqueue(s, env)
	if cap(s.scratch) > maxPooledBytes {
		s.scratch = nil
	}
	c.pool.Put(s)
}

// EmitEvent sends an Event envelope.
//
// Unlike the other Emit methods it is synchronous: it sends a batch of
// one envelope with the unary /loggregator.v2.Ingress/Send RPC on ctx and
// returns the RPC's error. It bypasses the buffer and works after
// CloseSend too (it then opens a connection for the call). An EmitEvent
// running while CloseSend closes the connection may fail.
func (c *IngressClient) EmitEvent(ctx context.Context, title, body string, opts ...EmitEventOption) error {
	e := &loggregator_v2.Envelope{
		Timestamp: time.Now().UnixNano(),
		Tags:      make(map[string]string, len(c.tags)),
		Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{
			Title: title,
			Body:  body,
		}},
	}
	for k, v := range c.tags {
		e.Tags[k] = v
	}
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	conn := c.conn
	if c.closed.Load() {
		cc, err := grpc.NewClient(c.target, c.dial...)
		if err != nil {
			return fmt.Errorf("loggregator: EmitEvent: %w", err)
		}
		defer cc.Close()
		conn = cc
	}
	_, err := loggregator_v2.NewIngressClient(conn).Send(ctx, &loggregator_v2.EnvelopeBatch{
		Batch: []*loggregator_v2.Envelope{e},
	})
	return err
}
