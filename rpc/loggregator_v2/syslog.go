package loggregator_v2

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"code.cloudfoundry.org/go-loggregator/rfc5424"
)

// Limits of the RFC 5424 header fields, in bytes.
const (
	syslogMaxHostname  = 255
	syslogMaxAppName   = 48
	syslogMaxProcessID = 128
	syslogMaxSDName    = 32
)

// Syslog facility user with severities informational and error.
const (
	syslogPriInfo  = rfc5424.User | rfc5424.Info  // 14
	syslogPriError = rfc5424.User | rfc5424.Error // 11
)

// syslogConfig holds the header fields set by SyslogOptions.
type syslogConfig struct {
	hostname  string
	appName   string
	processID string
}

// SyslogOption overrides a header field of the messages built by
// [Envelope.Syslog].
type SyslogOption func(*syslogConfig)

// WithSyslogHostname sets the HOSTNAME header field. The default is empty,
// written as "-". It must be printable US-ASCII (33–126) of at most 255
// bytes, else Syslog returns an error.
func WithSyslogHostname(hostname string) SyslogOption {
	return func(c *syslogConfig) { c.hostname = hostname }
}

// WithSyslogAppName sets the APP-NAME header field. The default is the
// envelope's source_id; an empty value is written as "-". It must be
// printable US-ASCII (33–126) of at most 48 bytes, else Syslog returns an
// error.
func WithSyslogAppName(appName string) SyslogOption {
	return func(c *syslogConfig) { c.appName = appName }
}

// WithSyslogProcessID sets the PROCID header field. The default is the
// envelope's instance_id; an empty value is written as "-". It must be
// printable US-ASCII (33–126) of at most 128 bytes, else Syslog returns an
// error.
func WithSyslogProcessID(processID string) SyslogOption {
	return func(c *syslogConfig) { c.processID = processID }
}

// Syslog renders the envelope as RFC 5424 syslog messages, one []byte each,
// without framing:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - STRUCTURED-DATA MSG
//
// TIMESTAMP is the envelope time in UTC with up to six fractional digits and
// the offset "+00:00". HOSTNAME, APP-NAME and PROCID default to "", the
// source_id and the instance_id (see the SyslogOptions); empty fields are
// written as "-". MSGID is always "-".
//
// PRI is 14 (user.info) except for logs of type ERR, which get 11
// (user.err); a log type other than OUT and ERR is an error. Tags, if any,
// form the SD element tags@47450 with one parameter per tag, sorted by name
// so that the output is deterministic (the original used map order);
// deprecated_tags are ignored. SD parameter values escape '"', '\' and ']'
// with a backslash. STRUCTURED-DATA is "-" when there is no element.
//
// Per payload:
//   - Log: one message; MSG is the payload without NUL bytes, with a
//     trailing newline added if missing.
//   - Gauge: one message per metric, sorted by metric name for
//     determinism (the original used map order), each with the element
//     gauge@47450 (name, value in shortest 'g' form, unit) after the tags
//     element; a nil metric value reads as 0 with no unit; no metrics give
//     an empty result and no error.
//   - Counter: the element counter@47450 (name, total, delta).
//   - Timer: the element timer@47450 (name, start, stop).
//   - Event: MSG is "<title>: <body>" and a newline.
//   - none (or a nil envelope): the header and the tags element only.
//
// Gauge, counter, timer and payload-less messages carry the MSG "\n".
//
// The messages are encoded by package rfc5424 (the same encoder as
// rfc5424.Message.MarshalBinary); Syslog only chooses the fields.
//
// On error Syslog returns a nil slice. Errors are: header fields that are
// not printable US-ASCII or too long (hostname 255, app-name 48, procid 128
// bytes), SD parameter values that are not valid UTF-8, and tag names that
// are not valid SD names (1–32 printable US-ASCII bytes other than '=', ' ',
// ']' and '"'). That last check is ours (the spec of the original lists
// only the others); it keeps every returned message valid RFC 5424.
func (m *Envelope) Syslog(opts ...SyslogOption) ([][]byte, error) {
	c := syslogConfig{
		appName:   m.GetSourceId(),
		processID: m.GetInstanceId(),
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	// The rfc5424 encoder cuts over-long header fields; Syslog reports
	// them instead, as the original does.
	if err := checkHeaderField("hostname", c.hostname, syslogMaxHostname); err != nil {
		return nil, err
	}
	if err := checkHeaderField("app-name", c.appName, syslogMaxAppName); err != nil {
		return nil, err
	}
	if err := checkHeaderField("procid", c.processID, syslogMaxProcessID); err != nil {
		return nil, err
	}

	msg := rfc5424.Message{
		Priority:  syslogPriInfo,
		Timestamp: time.Unix(0, m.GetTimestamp()).UTC(),
		Hostname:  c.hostname,
		AppName:   c.appName,
		ProcessID: c.processID,
		Message:   syslogNewline,
	}
	// Read the oneof wrappers directly: the generated getters dereference
	// them and would panic on a typed nil wrapper.
	var log *Log
	if p, ok := m.GetMessage().(*Envelope_Log); ok {
		if p != nil {
			log = p.Log
		}
		switch t := log.GetType(); t {
		case Log_OUT:
		case Log_ERR:
			msg.Priority = syslogPriError
		default:
			return nil, errors.New("invalid log type: " + t.String())
		}
	}

	// The tags element, then at most one payload element. Small fixed
	// arrays keep the common case off the heap; elements are stored into
	// sdArr by index, not appended, so that escape analysis keeps them on
	// the stack.
	var sdArr [2]rfc5424.StructuredData
	var tagArr [8]rfc5424.SDParam
	nsd := 0
	if tags := m.GetTags(); len(tags) > 0 {
		params := tagArr[:0]
		for name, value := range tags {
			if !isSDName(name) {
				return nil, errors.New("syslog: tag name " + strconv.Quote(name) + " is not a valid SD-NAME")
			}
			params = append(params, rfc5424.SDParam{Name: name, Value: value})
		}
		slices.SortFunc(params, func(a, b rfc5424.SDParam) int { return strings.Compare(a.Name, b.Name) })
		sdArr[0] = rfc5424.StructuredData{ID: "tags@47450", Parameters: params}
		nsd = 1
	}
	msg.StructuredData = sdArr[:nsd]

	switch p := m.GetMessage().(type) {
	case *Envelope_Log:
		msg.Message = logMessageBody(log.GetPayload())
		return syslogOne(msg)

	case *Envelope_Gauge:
		var metrics map[string]*GaugeValue
		if p != nil {
			metrics = p.Gauge.GetMetrics()
		}
		if len(metrics) == 0 {
			// Nothing is marshalled; check the tags as a message would.
			for _, t := range msg.StructuredData {
				for _, prm := range t.Parameters {
					if !utf8.ValidString(prm.Value) {
						return nil, errors.New("syslog: value of SD parameter " + prm.Name + " is not valid UTF-8")
					}
				}
			}
			return [][]byte{}, nil
		}
		var nameArr [8]string
		names := nameArr[:0]
		for name := range metrics {
			names = append(names, name)
		}
		slices.Sort(names)
		// All values formatted into one string (one allocation), then
		// sliced per metric.
		var valArr [128]byte
		var endArr [8]int
		vals, ends := valArr[:0], endArr[:0]
		for _, name := range names {
			vals = strconv.AppendFloat(vals, metrics[name].GetValue(), 'g', -1, 64)
			ends = append(ends, len(vals))
		}
		allVals := string(vals)
		out := make([][]byte, 0, len(names))
		// Declared outside the loop so that it stays on the stack.
		var params [3]rfc5424.SDParam
		sdArr[nsd] = rfc5424.StructuredData{ID: "gauge@47450", Parameters: params[:]}
		msg.StructuredData = sdArr[:nsd+1]
		start := 0
		for i, name := range names {
			params[0] = rfc5424.SDParam{Name: "name", Value: name}
			params[1] = rfc5424.SDParam{Name: "value", Value: allVals[start:ends[i]]}
			params[2] = rfc5424.SDParam{Name: "unit", Value: metrics[name].GetUnit()}
			start = ends[i]
			b, err := syslogMarshal(msg)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		return out, nil

	case *Envelope_Counter:
		var ctr *Counter
		if p != nil {
			ctr = p.Counter
		}
		params := [3]rfc5424.SDParam{
			{Name: "name", Value: ctr.GetName()},
			{Name: "total", Value: strconv.FormatUint(ctr.GetTotal(), 10)},
			{Name: "delta", Value: strconv.FormatUint(ctr.GetDelta(), 10)},
		}
		sdArr[nsd] = rfc5424.StructuredData{ID: "counter@47450", Parameters: params[:]}
		msg.StructuredData = sdArr[:nsd+1]
		return syslogOne(msg)

	case *Envelope_Timer:
		var t *Timer
		if p != nil {
			t = p.Timer
		}
		params := [3]rfc5424.SDParam{
			{Name: "name", Value: t.GetName()},
			{Name: "start", Value: strconv.FormatInt(t.GetStart(), 10)},
			{Name: "stop", Value: strconv.FormatInt(t.GetStop(), 10)},
		}
		sdArr[nsd] = rfc5424.StructuredData{ID: "timer@47450", Parameters: params[:]}
		msg.StructuredData = sdArr[:nsd+1]
		return syslogOne(msg)

	case *Envelope_Event:
		var ev *Event
		if p != nil {
			ev = p.Event
		}
		body := make([]byte, 0, len(ev.GetTitle())+len(ev.GetBody())+3)
		body = append(body, ev.GetTitle()...)
		body = append(body, ": "...)
		body = append(body, ev.GetBody()...)
		msg.Message = append(body, '\n')
		return syslogOne(msg)
	}
	return syslogOne(msg)
}

var syslogNewline = []byte{'\n'}

// syslogOne marshals a single message.
func syslogOne(msg rfc5424.Message) ([][]byte, error) {
	b, err := syslogMarshal(msg)
	if err != nil {
		return nil, err
	}
	return [][]byte{b}, nil
}

// syslogMarshal marshals msg with the rfc5424 encoder. Header fields were
// checked before, so the only error left is a structured-data value that
// is not valid UTF-8; its text names UTF-8 as Syslog's errors always have.
func syslogMarshal(msg rfc5424.Message) ([]byte, error) {
	b, err := msg.MarshalBinary()
	if err != nil {
		var inv rfc5424.ErrInvalidValue
		if errors.As(err, &inv) && inv.Property == "StructuredData/Value" {
			return nil, fmt.Errorf("syslog: SD parameter value is not valid UTF-8: %w", err)
		}
		return nil, fmt.Errorf("syslog: %w", err)
	}
	return b, nil
}

// checkHeaderField validates a header field: empty, or printable US-ASCII
// of at most max bytes.
func checkHeaderField(field, v string, max int) error {
	if len(v) > max {
		return errors.New("syslog: " + field + " longer than " + strconv.Itoa(max) + " bytes")
	}
	if !isPrintableASCII(v) {
		return errors.New("syslog: " + field + " is not printable US-ASCII")
	}
	return nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// isSDName reports whether s is a valid RFC 5424 SD-NAME: 1–32 printable
// US-ASCII bytes other than '=', ']' and '"'. The rfc5424 encoder allows
// longer names, as the original does; tag names are held to the RFC.
func isSDName(s string) bool {
	if len(s) == 0 || len(s) > syslogMaxSDName || !isPrintableASCII(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '=', ']', '"':
			return false
		}
	}
	return true
}

// logMessageBody is the payload without NUL bytes, ending in a newline. A
// payload that already has that form is returned as is (the encoder only
// reads it).
func logMessageBody(payload []byte) []byte {
	if len(payload) > 0 && payload[len(payload)-1] == '\n' && bytes.IndexByte(payload, 0) < 0 {
		return payload
	}
	body := make([]byte, 0, len(payload)+1)
	for len(payload) > 0 {
		i := bytes.IndexByte(payload, 0)
		if i < 0 {
			body = append(body, payload...)
			break
		}
		body = append(body, payload[:i]...)
		payload = payload[i+1:]
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	return body
}
