package conversion

import (
	"strconv"
	"strings"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
)

// Number of tags every ToV2 result carries besides the copied v1 tags:
// origin, deployment, job, index, ip and __v1_type.
const injectedTags = 6

// Number of tags each v1 event type adds on top of the injected ones.
const (
	logExtraTags   = 1  // source_type
	errorExtraTags = 2  // source, code
	httpExtraTags  = 10 // request_id … forwarded
)

// ToV2 converts a v1 envelope into a v2 envelope. It never returns nil.
//
// usePreferredTags selects the tag container of the result: true writes
// every tag as a string into Tags (DeprecatedTags stays nil); false writes
// every tag as a text Value into DeprecatedTags (Tags stays nil), numbers
// included. The v1 tags are copied, then origin, deployment, job, index, ip
// and __v1_type are added (even when empty) along with the event type's own
// tags. source_id comes from the v1 tag source_id when present, else from
// "<deployment>/<job>", unless the event type supplies one (an application
// id). A nil envelope converts like an empty one, whose unset event type
// reads as HttpStartStop.
//
// The result may share the log payload bytes of e; e itself, including its
// tag map, is not modified.
func ToV2(e *events.Envelope, usePreferredTags bool) *loggregator_v2.Envelope {
	v1Tags := e.GetTags()
	eventType := e.GetEventType()

	extra := 0
	switch eventType {
	case events.Envelope_LogMessage:
		extra = logExtraTags
	case events.Envelope_Error:
		extra = errorExtraTags
	case events.Envelope_HttpStartStop:
		extra = httpExtraTags
	}

	// Tags dropped while copying: source_id always goes to the envelope
	// field; a CounterEvent also moves instance_id there.
	sourceIDTag, hasSourceID := v1Tags["source_id"]
	var instanceIDTag string
	dropInstanceID := false
	if eventType == events.Envelope_ValueMetric || eventType == events.Envelope_CounterEvent {
		var hasInstanceID bool
		instanceIDTag, hasInstanceID = v1Tags["instance_id"]
		dropInstanceID = eventType == events.Envelope_CounterEvent && hasInstanceID
	}

	size := len(v1Tags) + injectedTags + extra
	if hasSourceID {
		size--
	}
	if dropInstanceID {
		size--
	}
	w := newTagWriter(usePreferredTags, size)
	for k, v := range v1Tags {
		if k == "source_id" || (dropInstanceID && k == "instance_id") {
			continue
		}
		w.set(k, v)
	}
	w.set("origin", e.GetOrigin())
	w.set("deployment", e.GetDeployment())
	w.set("job", e.GetJob())
	w.set("index", e.GetIndex())
	w.set("ip", e.GetIp())
	w.set("__v1_type", eventTypeName(eventType))

	defaultSourceID := sourceIDDefault{e: e, tag: sourceIDTag, hasTag: hasSourceID}

	var out *loggregator_v2.Envelope
	switch eventType {
	case events.Envelope_LogMessage:
		out = logToV2(e.GetLogMessage(), w, defaultSourceID)
	case events.Envelope_HttpStartStop:
		out = httpToV2(e.GetHttpStartStop(), w, defaultSourceID)
	case events.Envelope_ValueMetric:
		out = valueMetricToV2(e.GetValueMetric())
		out.SourceId = defaultSourceID.get()
		out.InstanceId = instanceIDTag
	case events.Envelope_CounterEvent:
		out = counterToV2(e.GetCounterEvent())
		out.SourceId = defaultSourceID.get()
		out.InstanceId = instanceIDTag
	case events.Envelope_Error:
		out = errorToV2(e.GetError(), w)
		out.SourceId = defaultSourceID.get()
	case events.Envelope_ContainerMetric:
		out = containerMetricToV2(e.GetContainerMetric(), defaultSourceID)
	default:
		out = &loggregator_v2.Envelope{SourceId: defaultSourceID.get()}
	}
	out.Timestamp = e.GetTimestamp()
	out.Tags = w.str
	out.DeprecatedTags = w.dep
	return out
}

// sourceIDDefault yields the source_id used when the event type supplies
// none: the v1 tag source_id if present (even empty), else
// "<deployment>/<job>". It is built only when used.
type sourceIDDefault struct {
	e      *events.Envelope
	tag    string
	hasTag bool
}

func (s sourceIDDefault) get() string {
	if s.hasTag {
		return s.tag
	}
	return s.e.GetDeployment() + "/" + s.e.GetJob()
}

// eventTypeName is the enum name of t, or its number when t has no name.
func eventTypeName(t events.Envelope_EventType) string {
	switch t {
	case events.Envelope_HttpStartStop:
		return "HttpStartStop"
	case events.Envelope_LogMessage:
		return "LogMessage"
	case events.Envelope_ValueMetric:
		return "ValueMetric"
	case events.Envelope_CounterEvent:
		return "CounterEvent"
	case events.Envelope_Error:
		return "Error"
	case events.Envelope_ContainerMetric:
		return "ContainerMetric"
	}
	return strconv.FormatInt(int64(t), 10)
}

// textValue holds a deprecated tag value and its oneof wrapper so that both
// come from one allocation.
type textValue struct {
	value loggregator_v2.Value
	text  loggregator_v2.Value_Text
}

// tagWriter writes tags into the container chosen by usePreferredTags.
type tagWriter struct {
	str  map[string]string
	dep  map[string]*loggregator_v2.Value
	pool []textValue
}

func newTagWriter(preferred bool, size int) *tagWriter {
	if preferred {
		return &tagWriter{str: make(map[string]string, size)}
	}
	return &tagWriter{
		dep:  make(map[string]*loggregator_v2.Value, size),
		pool: make([]textValue, size),
	}
}

func (w *tagWriter) set(k, v string) {
	if w.str != nil {
		w.str[k] = v
		return
	}
	if len(w.pool) == 0 {
		// Only reached if a caller under-counted; stay correct anyway.
		w.pool = make([]textValue, 4)
	}
	tv := &w.pool[0]
	w.pool = w.pool[1:]
	tv.text.Text = v
	tv.value.Data = &tv.text
	w.dep[k] = &tv.value
}

type v2Log struct {
	env  loggregator_v2.Envelope
	wrap loggregator_v2.Envelope_Log
	log  loggregator_v2.Log
}

func newV2Log(payload []byte, typ loggregator_v2.Log_Type) *loggregator_v2.Envelope {
	b := &v2Log{}
	b.log.Payload = payload
	b.log.Type = typ
	b.wrap.Log = &b.log
	b.env.Message = &b.wrap
	return &b.env
}

func logToV2(m *events.LogMessage, w *tagWriter, defaultSourceID sourceIDDefault) *loggregator_v2.Envelope {
	typ := loggregator_v2.Log_OUT
	if m.GetMessageType() == events.LogMessage_ERR {
		typ = loggregator_v2.Log_ERR
	}
	out := newV2Log(m.GetMessage(), typ)
	if id := m.GetAppId(); id != "" {
		out.SourceId = id
	} else {
		out.SourceId = defaultSourceID.get()
	}
	out.InstanceId = m.GetSourceInstance()
	w.set("source_type", m.GetSourceType())
	return out
}

func errorToV2(m *events.Error, w *tagWriter) *loggregator_v2.Envelope {
	out := newV2Log([]byte(m.GetMessage()), loggregator_v2.Log_OUT)
	w.set("source", m.GetSource())
	w.set("code", strconv.FormatInt(int64(m.GetCode()), 10))
	return out
}

type v2Timer struct {
	env   loggregator_v2.Envelope
	wrap  loggregator_v2.Envelope_Timer
	timer loggregator_v2.Timer
}

func httpToV2(m *events.HttpStartStop, w *tagWriter, defaultSourceID sourceIDDefault) *loggregator_v2.Envelope {
	b := &v2Timer{}
	b.timer.Name = "http"
	b.timer.Start = m.GetStartTimestamp()
	b.timer.Stop = m.GetStopTimestamp()
	b.wrap.Timer = &b.timer
	b.env.Message = &b.wrap

	if app := m.GetApplicationId(); app != nil && (app.GetLow() != 0 || app.GetHigh() != 0) {
		b.env.SourceId = uuidText(app)
	} else {
		b.env.SourceId = defaultSourceID.get()
	}
	b.env.InstanceId = strconv.FormatInt(int64(m.GetInstanceIndex()), 10)

	w.set("request_id", uuidText(m.GetRequestId()))
	w.set("peer_type", peerTypeName(m.GetPeerType()))
	w.set("method", methodName(m.GetMethod()))
	w.set("uri", m.GetUri())
	w.set("remote_address", m.GetRemoteAddress())
	w.set("user_agent", m.GetUserAgent())
	w.set("status_code", strconv.FormatInt(int64(m.GetStatusCode()), 10))
	w.set("content_length", strconv.FormatInt(m.GetContentLength(), 10))
	w.set("routing_instance_id", m.GetInstanceId())
	w.set("forwarded", strings.Join(m.GetForwarded(), "\n"))
	return &b.env
}

func peerTypeName(p events.PeerType) string {
	if name, ok := events.PeerType_name[int32(p)]; ok {
		return name
	}
	return strconv.FormatInt(int64(p), 10)
}

func methodName(m events.Method) string {
	if name, ok := events.Method_name[int32(m)]; ok {
		return name
	}
	return strconv.FormatInt(int64(m), 10)
}

type v2Gauge struct {
	env   loggregator_v2.Envelope
	wrap  loggregator_v2.Envelope_Gauge
	gauge loggregator_v2.Gauge
}

func newV2Gauge(size int) *v2Gauge {
	b := &v2Gauge{}
	b.gauge.Metrics = make(map[string]*loggregator_v2.GaugeValue, size)
	b.wrap.Gauge = &b.gauge
	b.env.Message = &b.wrap
	return b
}

func valueMetricToV2(m *events.ValueMetric) *loggregator_v2.Envelope {
	type block struct {
		v2Gauge
		value loggregator_v2.GaugeValue
	}
	b := &block{}
	b.value.Unit = m.GetUnit()
	b.value.Value = m.GetValue()
	b.gauge.Metrics = map[string]*loggregator_v2.GaugeValue{m.GetName(): &b.value}
	b.wrap.Gauge = &b.gauge
	b.env.Message = &b.wrap
	return &b.env
}

func containerMetricToV2(m *events.ContainerMetric, defaultSourceID sourceIDDefault) *loggregator_v2.Envelope {
	b := newV2Gauge(5)
	values := make([]loggregator_v2.GaugeValue, 5)
	put := func(i int, name, unit string, v float64) {
		values[i].Unit = unit
		values[i].Value = v
		b.gauge.Metrics[name] = &values[i]
	}
	put(0, "cpu", "percentage", m.GetCpuPercentage())
	put(1, "memory", "bytes", float64(m.GetMemoryBytes()))
	put(2, "disk", "bytes", float64(m.GetDiskBytes()))
	put(3, "memory_quota", "bytes", float64(m.GetMemoryBytesQuota()))
	put(4, "disk_quota", "bytes", float64(m.GetDiskBytesQuota()))

	if id := m.GetApplicationId(); id != "" {
		b.env.SourceId = id
	} else {
		b.env.SourceId = defaultSourceID.get()
	}
	b.env.InstanceId = strconv.FormatInt(int64(m.GetInstanceIndex()), 10)
	return &b.env
}

func counterToV2(m *events.CounterEvent) *loggregator_v2.Envelope {
	type block struct {
		env     loggregator_v2.Envelope
		wrap    loggregator_v2.Envelope_Counter
		counter loggregator_v2.Counter
	}
	b := &block{}
	b.counter.Name = m.GetName()
	b.counter.Delta = m.GetDelta()
	b.counter.Total = m.GetTotal()
	b.wrap.Counter = &b.counter
	b.env.Message = &b.wrap
	return &b.env
}
