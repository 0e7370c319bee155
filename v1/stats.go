package v1

// ClientStats is a snapshot of a Client's envelope counters since
// NewClient. Both fields only grow. Each envelope the client builds is
// counted exactly once, in Sent or in Dropped; EmitGauge builds one
// envelope per WithGaugeValue option (or one ContainerMetric envelope) and
// a call without values builds none.
//
// ClientStats is an addition to the original API. It is the v1 member of
// the library's family of client statistics types.
type ClientStats struct {
	// Sent is the number of envelopes handed to dropsonde's emitter that
	// it accepted: one UDP datagram each was written to the socket. UDP
	// has no acknowledgement, so an envelope counted here may still be
	// lost on the way to the agent.
	Sent uint64

	// Dropped is the number of envelopes the client built but did not
	// send: because dropsonde was not initialised (see the package
	// documentation) or because the emitter returned an error, for example
	// a datagram larger than UDP allows. It equals Dropped().
	Dropped uint64
}

// Stats returns the client's counters. It is safe for concurrent use with
// the Emit methods, costs two atomic loads and never blocks. The two
// fields are read one after the other, so a snapshot taken while other
// goroutines emit may count an envelope emitted in between in one field
// and not yet the other; each field on its own is exact.
func (c *Client) Stats() ClientStats {
	return ClientStats{
		Sent:    c.sent.Load(),
		Dropped: c.dropped.Load(),
	}
}
