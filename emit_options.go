package loggregator

import (
	"strconv"

	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// EmitLogOption is the option type passed into EmitLog.
//
// What an option may do, for this and the other Emit option types: it
// runs on the caller's goroutine during the Emit call and may change the
// message, including replacing its slices, maps and sub-messages with its
// own; the IngressClient never writes into memory an option installed,
// and drops unknown fields an option set once the call is over. It must
// not keep the message, or anything the client put in it, after it
// returns: the client reuses that memory for later Emit calls.
type EmitLogOption func(proto.Message)

// EmitGaugeOption is the option type passed into EmitGauge.
type EmitGaugeOption func(proto.Message)

// EmitCounterOption is the option type passed into EmitCounter.
type EmitCounterOption func(proto.Message)

// EmitTimerOption is the option type passed into EmitTimer.
type EmitTimerOption func(proto.Message)

// EmitEventOption is the option type passed into EmitEvent.
type EmitEventOption func(proto.Message)

// envelopeEditor is implemented by messages other than a v2 envelope that
// the Emit options can edit: the v1 client's envelope builder. Each Emit
// option calls the matching method. Options applied to any other message
// type, or to a nil envelope, do nothing (the original panicked).
type envelopeEditor interface {
	SetLogAppInfo(appID, sourceType, sourceInstance string)
	SetLogToStdout()
	SetGaugeAppInfo(appID string, index int)
	SetCounterAppInfo(appID string, index int)
	SetSourceInfo(sourceID, instanceID string)
	SetGaugeValue(name string, value float64, unit string)
	SetDelta(d uint64)
	SetTotal(t uint64)
	SetTag(name, value string)
}

// setTag writes tags[name] = value, creating the map when needed.
func setTag(e *loggregator_v2.Envelope, name, value string) {
	if e.Tags == nil {
		e.Tags = make(map[string]string)
	}
	e.Tags[name] = value
}

// edit applies an option to m: v2 runs on a non-nil v2 envelope, ed on an
// envelopeEditor; any other message is left alone.
func edit(m proto.Message, v2 func(*loggregator_v2.Envelope), ed func(envelopeEditor)) {
	switch e := m.(type) {
	case *loggregator_v2.Envelope:
		if e != nil {
			v2(e)
		}
	case envelopeEditor:
		ed(e)
	}
}

// WithEnvelopeTag sets the tag name to value on the envelope, replacing a
// tag of that name already present (an IngressClient tag from WithTag, or
// one an earlier option set). It applies to every kind of envelope. With
// the v1 client it sets a per-call tag, and that client's own tags are
// applied afterwards and win.
func WithEnvelopeTag(name, value string) func(proto.Message) {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			setTag(e, name, value)
		}, func(e envelopeEditor) {
			e.SetTag(name, value)
		})
	}
}

// WithEnvelopeTags sets every entry of tags as a tag on the envelope, as
// WithEnvelopeTag does for one: an entry replaces a tag of the same name
// already present, and tags under other names are kept. Several calls
// therefore merge, and for a name set twice the later option wins. Values
// are strings (nothing is written to deprecated_tags). A nil or empty map
// changes nothing. It applies to every kind of envelope.
//
// The original documentation said that a second call overwrites the first
// and that values could be text, integer or decimal; its code merged
// string tags, as this does.
func WithEnvelopeTags(tags map[string]string) func(proto.Message) {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			for k, v := range tags {
				setTag(e, k, v)
			}
		}, func(e envelopeEditor) {
			for k, v := range tags {
				e.SetTag(k, v)
			}
		})
	}
}

// WithAppInfo configures the meta data associated with emitted data. Exists
// for backward compatability. If possible, use WithSourceInfo instead.
func WithAppInfo(appID, sourceType, sourceInstance string) EmitLogOption {
	return WithSourceInfo(appID, sourceType, sourceInstance)
}

// WithSourceInfo configures the meta data associated with emitted data.
//
// On a v2 envelope it sets source_id, instance_id and the tag
// "source_type" (even when sourceType is empty).
func WithSourceInfo(sourceID, sourceType, sourceInstance string) EmitLogOption {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			e.SourceId = sourceID
			e.InstanceId = sourceInstance
			setTag(e, "source_type", sourceType)
		}, func(e envelopeEditor) {
			e.SetLogAppInfo(sourceID, sourceType, sourceInstance)
		})
	}
}

// WithStdout sets the output type to stdout. Without using this option, all
// data is assumed to be stderr output. It does nothing to envelopes that do
// not carry a log.
func WithStdout() EmitLogOption {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			if l := e.GetLog(); l != nil {
				l.Type = loggregator_v2.Log_OUT
			}
		}, func(e envelopeEditor) {
			e.SetLogToStdout()
		})
	}
}

// WithGaugeAppInfo configures an envelope with both the app ID and index.
// Exists for backward compatability. If possible, use WithGaugeSourceInfo
// instead. The index becomes the decimal instance_id.
func WithGaugeAppInfo(appID string, index int) EmitGaugeOption {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			e.SourceId = appID
			e.InstanceId = strconv.Itoa(index)
		}, func(e envelopeEditor) {
			e.SetGaugeAppInfo(appID, index)
		})
	}
}

// WithGaugeSourceInfo configures an envelope with both the source ID and
// instance ID.
func WithGaugeSourceInfo(sourceID, instanceID string) EmitGaugeOption {
	return EmitGaugeOption(withSourceInstance(sourceID, instanceID))
}

// WithGaugeValue adds a gauge information. For example, to send information
// about current CPU usage, one might use:
//
//	WithGaugeValue("cpu", 3.0, "percent")
//
// Any number of calls to WithGaugeValue may be passed into EmitGauge. If there
// are duplicate names in any of the options, i.e., "cpu" and "cpu", then the
// last EmitGaugeOption will take precedence. It does nothing to envelopes
// that do not carry a gauge.
func WithGaugeValue(name string, value float64, unit string) EmitGaugeOption {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			g := e.GetGauge()
			if g == nil {
				return
			}
			if g.Metrics == nil {
				g.Metrics = make(map[string]*loggregator_v2.GaugeValue)
			}
			g.Metrics[name] = &loggregator_v2.GaugeValue{Unit: unit, Value: value}
		}, func(e envelopeEditor) {
			e.SetGaugeValue(name, value, unit)
		})
	}
}

// WithCounterAppInfo configures an envelope with both the app ID and index.
// Exists for backward compatability. If possible, use WithCounterSourceInfo
// instead. The index becomes the decimal instance_id.
func WithCounterAppInfo(appID string, index int) EmitCounterOption {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			e.SourceId = appID
			e.InstanceId = strconv.Itoa(index)
		}, func(e envelopeEditor) {
			e.SetCounterAppInfo(appID, index)
		})
	}
}

// WithCounterSourceInfo configures an envelope with both the source ID and
// instance ID.
func WithCounterSourceInfo(sourceID, instanceID string) EmitCounterOption {
	return EmitCounterOption(withSourceInstance(sourceID, instanceID))
}

// WithDelta is an option that sets the delta for a counter. It does
// nothing to envelopes that do not carry a counter.
func WithDelta(d uint64) EmitCounterOption {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			if c := e.GetCounter(); c != nil {
				c.Delta = d
			}
		}, func(e envelopeEditor) {
			e.SetDelta(d)
		})
	}
}

// WithTotal is an option that sets the total for a counter.
//
// It also sets the delta to 0; a WithDelta after it sets the delta again.
// It does nothing to envelopes that do not carry a counter.
func WithTotal(t uint64) EmitCounterOption {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			if c := e.GetCounter(); c != nil {
				c.Total = t
				c.Delta = 0
			}
		}, func(e envelopeEditor) {
			e.SetTotal(t)
		})
	}
}

// WithTimerSourceInfo configures an envelope with both the source and
// instance IDs.
func WithTimerSourceInfo(sourceID, instanceID string) EmitTimerOption {
	return EmitTimerOption(withSourceInstance(sourceID, instanceID))
}

// WithEventSourceInfo configures an envelope with both the source and
// instance IDs.
func WithEventSourceInfo(sourceID, instanceID string) EmitEventOption {
	return EmitEventOption(withSourceInstance(sourceID, instanceID))
}

// withSourceInstance sets source_id and instance_id on a v2 envelope, or
// calls SetSourceInfo on an editor.
func withSourceInstance(sourceID, instanceID string) func(proto.Message) {
	return func(m proto.Message) {
		edit(m, func(e *loggregator_v2.Envelope) {
			e.SourceId = sourceID
			e.InstanceId = instanceID
		}, func(e envelopeEditor) {
			e.SetSourceInfo(sourceID, instanceID)
		})
	}
}
