package loggregator_v2

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits of the RFC 5424 header fields, in bytes.
const (
	syslogMaxHostname  = 255
	syslogMaxAppName   = 48
	syslogMaxProcessID = 128
	syslogMaxSDName    = 32
)

// Syslog facility user (1) with severities informational (6) and error (3).
const (
	syslogPriInfo  = 1*8 + 6 // 14
	syslogPriError = 1*8 + 3 // 11
)

// syslogTimeLayout is RFC 3339 with at most six fractional digits (trailing
// zeros and a bare dot dropped) and a numeric offset, which for UTC reads
// "+00:00".
const syslogTimeLayout = "2006-01-02T15:04:05.999999-07:00"

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
	if err := checkHeaderField("hostname", c.hostname, syslogMaxHostname); err != nil {
		return nil, err
	}
	if err := checkHeaderField("app-name", c.appName, syslogMaxAppName); err != nil {
		return nil, err
	}
	if err := checkHeaderField("procid", c.processID, syslogMaxProcessID); err != nil {
		return nil, err
	}

	pri := syslogPriInfo
	// Read the oneof wrappers directly: the generated getters dereference
	// them and would panic on a typed nil wrapper.
	switch p := m.GetMessage().(type) {
	case *Envelope_Log:
		var l *Log
		if p != nil {
			l = p.Log
		}
		switch t := l.GetType(); t {
		case Log_OUT:
		case Log_ERR:
			pri = syslogPriError
		default:
			return nil, errors.New("invalid log type: " + t.String())
		}
	}

	head := appendSyslogHeader(nil, pri, m.GetTimestamp(), c)
	tagsSD, err := appendTagsSD(nil, m.GetTags())
	if err != nil {
		return nil, err
	}

	switch p := m.GetMessage().(type) {
	case *Envelope_Log:
		var payload []byte
		if p != nil {
			payload = p.Log.GetPayload()
		}
		return [][]byte{buildSyslogMessage(head, tagsSD, nil, logMessageBody(payload))}, nil

	case *Envelope_Gauge:
		var metrics map[string]*GaugeValue
		if p != nil {
			metrics = p.Gauge.GetMetrics()
		}
		names := make([]string, 0, len(metrics))
		for name := range metrics {
			names = append(names, name)
		}
		slices.Sort(names)
		out := make([][]byte, 0, len(names))
		var sd []byte
		for _, name := range names {
			v := metrics[name]
			sd = append(sd[:0], "[gauge@47450"...)
			var err error
			if sd, err = appendSDParam(sd, "name", name); err != nil {
				return nil, err
			}
			sd = appendSDParamRaw(sd, "value", strconv.AppendFloat(nil, v.GetValue(), 'g', -1, 64))
			if sd, err = appendSDParam(sd, "unit", v.GetUnit()); err != nil {
				return nil, err
			}
			sd = append(sd, ']')
			out = append(out, buildSyslogMessage(head, tagsSD, sd, syslogNewline))
		}
		return out, nil

	case *Envelope_Counter:
		var ctr *Counter
		if p != nil {
			ctr = p.Counter
		}
		sd, err := appendSDParam([]byte("[counter@47450"), "name", ctr.GetName())
		if err != nil {
			return nil, err
		}
		sd = appendSDParamRaw(sd, "total", strconv.AppendUint(nil, ctr.GetTotal(), 10))
		sd = appendSDParamRaw(sd, "delta", strconv.AppendUint(nil, ctr.GetDelta(), 10))
		sd = append(sd, ']')
		return [][]byte{buildSyslogMessage(head, tagsSD, sd, syslogNewline)}, nil

	case *Envelope_Timer:
		var t *Timer
		if p != nil {
			t = p.Timer
		}
		sd, err := appendSDParam([]byte("[timer@47450"), "name", t.GetName())
		if err != nil {
			return nil, err
		}
		sd = appendSDParamRaw(sd, "start", strconv.AppendInt(nil, t.GetStart(), 10))
		sd = appendSDParamRaw(sd, "stop", strconv.AppendInt(nil, t.GetStop(), 10))
		sd = append(sd, ']')
		return [][]byte{buildSyslogMessage(head, tagsSD, sd, syslogNewline)}, nil

	case *Envelope_Event:
		var ev *Event
		if p != nil {
			ev = p.Event
		}
		body := make([]byte, 0, len(ev.GetTitle())+len(ev.GetBody())+3)
		body = append(body, ev.GetTitle()...)
		body = append(body, ": "...)
		body = append(body, ev.GetBody()...)
		body = append(body, '\n')
		return [][]byte{buildSyslogMessage(head, tagsSD, nil, body)}, nil
	}
	return [][]byte{buildSyslogMessage(head, tagsSD, nil, syslogNewline)}, nil
}

var syslogNewline = []byte{'\n'}

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

// isSDName reports whether s is a valid RFC 5424 SD-NAME.
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

// appendSyslogHeader writes "<PRI>1 TIMESTAMP HOST APP PROCID -".
func appendSyslogHeader(b []byte, pri int, ts int64, c syslogConfig) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(pri), 10)
	b = append(b, ">1 "...)
	b = time.Unix(0, ts).UTC().AppendFormat(b, syslogTimeLayout)
	for _, f := range [...]string{c.hostname, c.appName, c.processID} {
		b = append(b, ' ')
		b = appendNilValue(b, f)
	}
	return append(b, " -"...)
}

func appendNilValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

// appendTagsSD writes the tags@47450 element, parameters sorted by name;
// nothing when there are no tags.
func appendTagsSD(b []byte, tags map[string]string) ([]byte, error) {
	if len(tags) == 0 {
		return b, nil
	}
	names := make([]string, 0, len(tags))
	for name := range tags {
		if !isSDName(name) {
			return nil, errors.New("syslog: tag name " + strconv.Quote(name) + " is not a valid SD-NAME")
		}
		names = append(names, name)
	}
	slices.Sort(names)
	b = append(b, "[tags@47450"...)
	for _, name := range names {
		var err error
		if b, err = appendSDParam(b, name, tags[name]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendSDParam writes ` name="value"`, escaping '"', '\' and ']'. value
// must be valid UTF-8.
func appendSDParam(b []byte, name, value string) ([]byte, error) {
	if !utf8.ValidString(value) {
		return nil, errors.New("syslog: value of SD parameter " + name + " is not valid UTF-8")
	}
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=', '"')
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '"', '\\', ']':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"'), nil
}

// appendSDParamRaw writes ` name="value"` for a value that needs no
// escaping (a formatted number).
func appendSDParamRaw(b []byte, name string, value []byte) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=', '"')
	b = append(b, value...)
	return append(b, '"')
}

// buildSyslogMessage joins header, SD elements (or "-") and MSG.
func buildSyslogMessage(head, tagsSD, payloadSD, msg []byte) []byte {
	out := make([]byte, 0, len(head)+len(tagsSD)+len(payloadSD)+len(msg)+3)
	out = append(out, head...)
	out = append(out, ' ')
	if len(tagsSD) == 0 && len(payloadSD) == 0 {
		out = append(out, '-')
	} else {
		out = append(out, tagsSD...)
		out = append(out, payloadSD...)
	}
	out = append(out, ' ')
	return append(out, msg...)
}

// logMessageBody is the payload without NUL bytes, ending in a newline.
func logMessageBody(payload []byte) []byte {
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
