package conversion

import (
	"maps"
	"strconv"
	"strings"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"github.com/cloudfoundry/sonde-go/events"
)

// ToV1 converts a v2 envelope into v1 envelopes.
//
// Logs, counters and timers give one envelope each. A log whose __v1_type
// tag is "Error" becomes an Error event; every timer becomes an
// HttpStartStop. A gauge with non-empty cpu, memory, disk, memory_quota and
// disk_quota metrics (and not exactly one metric) becomes one
// ContainerMetric; any other gauge gives one ValueMetric per metric, in
// unspecified order, and nothing at all if one of its metric values is nil.
// Events, envelopes without a payload and nil envelopes give nil.
//
// The v1 fields origin, deployment, job, index and ip, and the
// payload-specific fields read from tags, are looked up in Tags first and
// DeprecatedTags second. The v1 tag map is Tags overwritten by the rendered
// DeprecatedTags, plus source_id when non-empty, minus the tags consumed as
// fields; counters and ValueMetrics also get the tag instance_id when
// InstanceId is non-empty. Deprecated integer values render as decimal
// text, decimals with six fractional digits.
//
// Results may share the log payload bytes of e; e is not modified. Some
// results lack proto2 required fields (see the package documentation).
func ToV1(e *loggregator_v2.Envelope) []*events.Envelope {
	// The generated getters (GetLog …) dereference the oneof wrapper, which
	// panics on a typed nil wrapper; read the wrappers here instead.
	switch m := e.GetMessage().(type) {
	case *loggregator_v2.Envelope_Log:
		var l *loggregator_v2.Log
		if m != nil {
			l = m.Log
		}
		if lookup(e, "__v1_type") == "Error" {
			return errorToV1(e, l)
		}
		return logToV1(e, l)
	case *loggregator_v2.Envelope_Counter:
		var c *loggregator_v2.Counter
		if m != nil {
			c = m.Counter
		}
		return counterToV1(e, c)
	case *loggregator_v2.Envelope_Gauge:
		var g *loggregator_v2.Gauge
		if m != nil {
			g = m.Gauge
		}
		return gaugeToV1(e, g)
	case *loggregator_v2.Envelope_Timer:
		var t *loggregator_v2.Timer
		if m != nil {
			t = m.Timer
		}
		return timerToV1(e, t)
	}
	return nil
}

// render gives the text form of a deprecated tag value; ok is false for a
// nil value or one without data.
func render(v *loggregator_v2.Value) (s string, ok bool) {
	switch d := v.GetData().(type) {
	case *loggregator_v2.Value_Text:
		if d != nil {
			return d.Text, true
		}
	case *loggregator_v2.Value_Integer:
		if d != nil {
			return strconv.FormatInt(d.Integer, 10), true
		}
	case *loggregator_v2.Value_Decimal:
		if d != nil {
			return strconv.FormatFloat(d.Decimal, 'f', 6, 64), true
		}
	}
	return "", false
}

// lookup reads one tag: Tags wins over DeprecatedTags; absent gives "".
func lookup(e *loggregator_v2.Envelope, key string) string {
	if v, ok := e.GetTags()[key]; ok {
		return v
	}
	s, _ := render(e.GetDeprecatedTags()[key])
	return s
}

// Tags consumed as fields, by payload. Every result drops the common ones
// (origin, deployment, job, index, ip and __v1_type).
type consumed uint8

const (
	consumedCommon consumed = iota
	consumedLog
	consumedError
	consumedTimer
)

// hasSpecific reports whether the payload c consumes tag k (besides the
// common ones).
func (c consumed) hasSpecific(k string) bool {
	switch c {
	case consumedLog:
		return k == "source_type"
	case consumedError:
		return k == "source" || k == "code"
	case consumedTimer:
		switch k {
		case "peer_type", "method", "request_id", "uri", "remote_address",
			"user_agent", "status_code", "content_length",
			"routing_instance_id", "forwarded":
			return true
		}
	}
	return false
}

// headerValues are the envelope fields looked up from the tags; they are
// shared by every envelope made from one v2 envelope.
type headerValues struct {
	origin, deployment, job, index, ip string
}

// Bits of the header fields found in Tags.
const (
	foundOrigin = 1 << iota
	foundDeployment
	foundJob
	foundIndex
	foundIP
	foundAll = foundOrigin | foundDeployment | foundJob | foundIndex | foundIP
)

// convertTags builds the v1 tag map and reads the envelope fields in one
// pass over the tags. The map is Tags overwritten by the rendered
// DeprecatedTags (nil or empty values skipped), plus source_id when
// non-empty, without the tags consumed as fields; extra is room for tags the
// caller adds. The fields use the single lookup: Tags first, then
// DeprecatedTags.
func convertTags(e *loggregator_v2.Envelope, c consumed, extra int) (map[string]string, headerValues) {
	tags, dep := e.GetTags(), e.GetDeprecatedTags()
	var hv headerValues
	found := 0

	// Most tags are consumed as fields, so the upper bound overestimates.
	// Cap the hint at one map group (8 entries): a small map is much cheaper
	// to build than a large one, and the rare bigger tag set just grows.
	size := min(len(tags)+len(dep)+1+extra, 8)
	out := make(map[string]string, size)

	for k, v := range tags {
		switch k {
		case "origin":
			hv.origin, found = v, found|foundOrigin
		case "deployment":
			hv.deployment, found = v, found|foundDeployment
		case "job":
			hv.job, found = v, found|foundJob
		case "index":
			hv.index, found = v, found|foundIndex
		case "ip":
			hv.ip, found = v, found|foundIP
		case "__v1_type":
		default:
			if !c.hasSpecific(k) {
				out[k] = v
			}
		}
	}
	for k, v := range dep {
		if isCommon(k) || c.hasSpecific(k) {
			continue
		}
		if s, ok := render(v); ok {
			out[k] = s
		}
	}
	if id := e.GetSourceId(); id != "" {
		out["source_id"] = id
	}

	if found != foundAll && len(dep) > 0 {
		if found&foundOrigin == 0 {
			hv.origin, _ = render(dep["origin"])
		}
		if found&foundDeployment == 0 {
			hv.deployment, _ = render(dep["deployment"])
		}
		if found&foundJob == 0 {
			hv.job, _ = render(dep["job"])
		}
		if found&foundIndex == 0 {
			hv.index, _ = render(dep["index"])
		}
		if found&foundIP == 0 {
			hv.ip, _ = render(dep["ip"])
		}
	}
	return out, hv
}

func isCommon(k string) bool {
	switch k {
	case "__v1_type", "origin", "deployment", "job", "index", "ip":
		return true
	}
	return false
}

// v1Header holds the scalar values of a v1 envelope so that the pointers
// the v1 type needs come from one allocation.
type v1Header struct {
	origin, deployment, job, index, ip string
	timestamp                          int64
	eventType                          events.Envelope_EventType
}

func (h *v1Header) fill(dst *events.Envelope, hv headerValues, ts int64, t events.Envelope_EventType) {
	h.origin, h.deployment, h.job, h.index, h.ip = hv.origin, hv.deployment, hv.job, hv.index, hv.ip
	h.timestamp = ts
	h.eventType = t
	dst.Origin = &h.origin
	dst.Deployment = &h.deployment
	dst.Job = &h.job
	dst.Index = &h.index
	dst.Ip = &h.ip
	dst.Timestamp = &h.timestamp
	dst.EventType = &h.eventType
}

// parseInt32 parses decimal text into an int32; text that is not an
// integer or does not fit gives 0.
func parseInt32(s string) int32 {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// parseInt64 parses decimal text; anything invalid gives 0.
func parseInt64(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

type v1Log struct {
	env            events.Envelope
	hdr            v1Header
	log            events.LogMessage
	messageType    events.LogMessage_MessageType
	timestamp      int64
	appID          string
	sourceType     string
	sourceInstance string
	out            [1]*events.Envelope
}

func logToV1(e *loggregator_v2.Envelope, l *loggregator_v2.Log) []*events.Envelope {
	b := &v1Log{}
	tags, hv := convertTags(e, consumedLog, 0)
	b.env.Tags = tags
	b.hdr.fill(&b.env, hv, e.GetTimestamp(), events.Envelope_LogMessage)

	b.messageType = events.LogMessage_ERR
	if l.GetType() == loggregator_v2.Log_OUT {
		b.messageType = events.LogMessage_OUT
	}
	b.timestamp = e.GetTimestamp()
	b.appID = e.GetSourceId()
	b.sourceType = lookup(e, "source_type")
	b.sourceInstance = e.GetInstanceId()

	b.log.Message = l.GetPayload()
	b.log.MessageType = &b.messageType
	b.log.Timestamp = &b.timestamp
	b.log.AppId = &b.appID
	b.log.SourceType = &b.sourceType
	b.log.SourceInstance = &b.sourceInstance
	b.env.LogMessage = &b.log

	b.out[0] = &b.env
	return b.out[:]
}

type v1Error struct {
	env     events.Envelope
	hdr     v1Header
	err     events.Error
	source  string
	code    int32
	message string
	out     [1]*events.Envelope
}

func errorToV1(e *loggregator_v2.Envelope, l *loggregator_v2.Log) []*events.Envelope {
	b := &v1Error{}
	tags, hv := convertTags(e, consumedError, 0)
	b.env.Tags = tags
	b.hdr.fill(&b.env, hv, e.GetTimestamp(), events.Envelope_Error)

	b.source = lookup(e, "source")
	b.code = parseInt32(lookup(e, "code"))
	b.message = string(l.GetPayload())
	b.err.Source = &b.source
	b.err.Code = &b.code
	b.err.Message = &b.message
	b.env.Error = &b.err

	b.out[0] = &b.env
	return b.out[:]
}

type v1Counter struct {
	env     events.Envelope
	hdr     v1Header
	counter events.CounterEvent
	name    string
	delta   uint64
	total   uint64
	out     [1]*events.Envelope
}

func counterToV1(e *loggregator_v2.Envelope, c *loggregator_v2.Counter) []*events.Envelope {
	b := &v1Counter{}
	tags, hv := convertTags(e, consumedCommon, 1)
	b.env.Tags = tags
	b.hdr.fill(&b.env, hv, e.GetTimestamp(), events.Envelope_CounterEvent)
	if id := e.GetInstanceId(); id != "" {
		b.env.Tags["instance_id"] = id
	}

	b.name = c.GetName()
	b.delta = c.GetDelta()
	b.total = c.GetTotal()
	b.counter.Name = &b.name
	b.counter.Delta = &b.delta
	b.counter.Total = &b.total
	b.env.CounterEvent = &b.counter

	b.out[0] = &b.env
	return b.out[:]
}

// containerMetricNames are the gauge metrics a ContainerMetric needs.
var containerMetricNames = [5]string{"cpu", "memory", "disk", "memory_quota", "disk_quota"}

// isContainerMetric reports whether a gauge converts to a ContainerMetric:
// not exactly one metric, and each container metric present, non-nil and
// not empty (empty = no unit and value 0).
func isContainerMetric(metrics map[string]*loggregator_v2.GaugeValue) bool {
	if len(metrics) == 1 {
		return false
	}
	for _, name := range containerMetricNames {
		v := metrics[name]
		if v == nil || (v.GetUnit() == "" && v.GetValue() == 0) {
			return false
		}
	}
	return true
}

func gaugeToV1(e *loggregator_v2.Envelope, g *loggregator_v2.Gauge) []*events.Envelope {
	metrics := g.GetMetrics()
	if isContainerMetric(metrics) {
		return containerMetricToV1(e, metrics)
	}
	if len(metrics) == 0 {
		return nil
	}
	for _, v := range metrics {
		if v == nil {
			return nil
		}
	}

	tags, hv := convertTags(e, consumedCommon, 1)
	if id := e.GetInstanceId(); id != "" {
		tags["instance_id"] = id
	}

	type block struct {
		env   events.Envelope
		hdr   v1Header
		value events.ValueMetric
		name  string
		unit  string
		v     float64
	}
	blocks := make([]block, len(metrics))
	out := make([]*events.Envelope, len(metrics))
	i := 0
	for name, v := range metrics {
		b := &blocks[i]
		b.hdr.fill(&b.env, hv, e.GetTimestamp(), events.Envelope_ValueMetric)
		if i == 0 {
			b.env.Tags = tags
		} else {
			b.env.Tags = maps.Clone(tags)
		}
		b.name = name
		b.unit = v.GetUnit()
		b.v = v.GetValue()
		b.value.Name = &b.name
		b.value.Unit = &b.unit
		b.value.Value = &b.v
		b.env.ValueMetric = &b.value
		out[i] = &b.env
		i++
	}
	return out
}

type v1ContainerMetric struct {
	env                                                      events.Envelope
	hdr                                                      v1Header
	cm                                                       events.ContainerMetric
	appID                                                    string
	instanceIndex                                            int32
	cpu                                                      float64
	memoryBytes, diskBytes, memoryBytesQuota, diskBytesQuota uint64
	out                                                      [1]*events.Envelope
}

func containerMetricToV1(e *loggregator_v2.Envelope, metrics map[string]*loggregator_v2.GaugeValue) []*events.Envelope {
	b := &v1ContainerMetric{}
	tags, hv := convertTags(e, consumedCommon, 0)
	b.env.Tags = tags
	b.hdr.fill(&b.env, hv, e.GetTimestamp(), events.Envelope_ContainerMetric)

	b.appID = e.GetSourceId()
	if v := metrics["instance_index"]; v != nil {
		b.instanceIndex = int32(v.GetValue())
	} else {
		b.instanceIndex = parseInt32(e.GetInstanceId())
	}
	b.cpu = metrics["cpu"].GetValue()
	b.memoryBytes = uint64(metrics["memory"].GetValue())
	b.diskBytes = uint64(metrics["disk"].GetValue())
	b.memoryBytesQuota = uint64(metrics["memory_quota"].GetValue())
	b.diskBytesQuota = uint64(metrics["disk_quota"].GetValue())

	b.cm.ApplicationId = &b.appID
	b.cm.InstanceIndex = &b.instanceIndex
	b.cm.CpuPercentage = &b.cpu
	b.cm.MemoryBytes = &b.memoryBytes
	b.cm.DiskBytes = &b.diskBytes
	b.cm.MemoryBytesQuota = &b.memoryBytesQuota
	b.cm.DiskBytesQuota = &b.diskBytesQuota
	b.env.ContainerMetric = &b.cm

	b.out[0] = &b.env
	return b.out[:]
}

type v1HTTP struct {
	env                        events.Envelope
	hdr                        v1Header
	http                       events.HttpStartStop
	start, stop                int64
	requestID, applicationID   events.UUID
	reqLow, reqHigh            uint64
	appLow, appHigh            uint64
	peerType                   events.PeerType
	method                     events.Method
	uri, remoteAddr, userAgent string
	statusCode                 int32
	contentLength              int64
	instanceIndex              int32
	instanceID                 string
	out                        [1]*events.Envelope
}

func timerToV1(e *loggregator_v2.Envelope, t *loggregator_v2.Timer) []*events.Envelope {
	b := &v1HTTP{}
	tags, hv := convertTags(e, consumedTimer, 0)
	b.env.Tags = tags
	b.hdr.fill(&b.env, hv, e.GetTimestamp(), events.Envelope_HttpStartStop)

	h := &b.http
	b.start, b.stop = t.GetStart(), t.GetStop()
	h.StartTimestamp, h.StopTimestamp = &b.start, &b.stop

	if low, high, ok := parseUUID(lookup(e, "request_id")); ok {
		b.reqLow, b.reqHigh = low, high
		b.requestID.Low, b.requestID.High = &b.reqLow, &b.reqHigh
		h.RequestId = &b.requestID
	}
	if low, high, ok := parseUUID(e.GetSourceId()); ok {
		b.appLow, b.appHigh = low, high
		b.applicationID.Low, b.applicationID.High = &b.appLow, &b.appHigh
		h.ApplicationId = &b.applicationID
	}

	b.peerType = events.PeerType(events.PeerType_value[lookup(e, "peer_type")])
	b.method = events.Method(events.Method_value[lookup(e, "method")])
	h.PeerType, h.Method = &b.peerType, &b.method

	b.uri = lookup(e, "uri")
	b.remoteAddr = lookup(e, "remote_address")
	b.userAgent = lookup(e, "user_agent")
	h.Uri, h.RemoteAddress, h.UserAgent = &b.uri, &b.remoteAddr, &b.userAgent

	b.statusCode = int32(parseInt64(lookup(e, "status_code")))
	b.contentLength = parseInt64(lookup(e, "content_length"))
	h.StatusCode, h.ContentLength = &b.statusCode, &b.contentLength

	b.instanceIndex = parseInt32(e.GetInstanceId())
	b.instanceID = lookup(e, "routing_instance_id")
	h.InstanceIndex, h.InstanceId = &b.instanceIndex, &b.instanceID
	h.Forwarded = strings.Split(lookup(e, "forwarded"), "\n")
	b.env.HttpStartStop = h

	b.out[0] = &b.env
	return b.out[:]
}
