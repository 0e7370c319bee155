package loggregator

import "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"

// EnvelopeStream returns batches of envelopes. It blocks until its context
// is done or a batch of envelopes is available.
//
// Once the context that created the stream is done, every call returns nil
// (the original could panic in buffered mode). A stream is produced by
// (*EnvelopeStreamConnector).Stream or (*RLPGatewayClient).Stream.
type EnvelopeStream func() []*loggregator_v2.Envelope
