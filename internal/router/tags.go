package router

import (
	"strconv"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// ConvertTags returns e with its tags converged the way the Reverse Log
// Proxy does for a subscriber's use_preferred_tags flag
// (loggregator-v2-wire.md §8):
//
//   - preferred: every deprecated tag is copied into tags (text as is,
//     integers and decimals in Go's default number formatting; the
//     deprecated value wins on a key clash) and deprecated_tags is cleared.
//   - not preferred: every tag is copied into deprecated_tags as a text
//     Value and tags is cleared.
//
// e is never modified: when a change is needed a new envelope sharing e's
// message is returned, otherwise e itself.
func ConvertTags(e *loggregator_v2.Envelope, preferred bool) *loggregator_v2.Envelope {
	if preferred {
		if len(e.GetDeprecatedTags()) == 0 {
			return e
		}
		tags := make(map[string]string, len(e.GetTags())+len(e.GetDeprecatedTags()))
		for k, v := range e.GetTags() {
			tags[k] = v
		}
		for k, v := range e.GetDeprecatedTags() {
			tags[k] = valueText(v)
		}
		return withTags(e, tags, nil)
	}
	if len(e.GetTags()) == 0 {
		return e
	}
	dep := make(map[string]*loggregator_v2.Value, len(e.GetTags())+len(e.GetDeprecatedTags()))
	for k, v := range e.GetDeprecatedTags() {
		dep[k] = v
	}
	for k, v := range e.GetTags() {
		dep[k] = &loggregator_v2.Value{Data: &loggregator_v2.Value_Text{Text: v}}
	}
	return withTags(e, nil, dep)
}

func valueText(v *loggregator_v2.Value) string {
	switch d := v.GetData().(type) {
	case *loggregator_v2.Value_Text:
		return d.Text
	case *loggregator_v2.Value_Integer:
		return strconv.FormatInt(d.Integer, 10)
	case *loggregator_v2.Value_Decimal:
		return strconv.FormatFloat(d.Decimal, 'g', -1, 64)
	}
	return ""
}

func withTags(e *loggregator_v2.Envelope, tags map[string]string, dep map[string]*loggregator_v2.Value) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{
		Timestamp:      e.GetTimestamp(),
		SourceId:       e.GetSourceId(),
		InstanceId:     e.GetInstanceId(),
		DeprecatedTags: dep,
		Tags:           tags,
		Message:        e.GetMessage(),
	}
}
