package loggregator_v2_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"google.golang.org/protobuf/proto"
)

// sdParam and sdElement are parsed RFC 5424 structured data.
type sdParam struct{ Name, Value string }

type sdElement struct {
	ID     string
	Params []sdParam
}

// syslogMsg is a parsed RFC 5424 message.
type syslogMsg struct {
	Pri       int
	Version   int
	Timestamp time.Time
	RawTime   string
	Hostname  string // "" for NILVALUE
	AppName   string
	ProcID    string
	MsgID     string
	SD        []sdElement
	Msg       string
}

// parseSyslog is a strict RFC 5424 parser for the messages Syslog writes:
// header fields with their length limits and character sets, SD elements
// with escaping, and the MSG.
func parseSyslog(b []byte) (syslogMsg, error) {
	var m syslogMsg
	s := string(b)
	if !strings.HasPrefix(s, "<") {
		return m, errors.New("missing '<'")
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return m, errors.New("bad PRI")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri > 191 || (len(s[1:end]) > 1 && s[1] == '0') {
		return m, fmt.Errorf("bad PRI %q", s[1:end])
	}
	m.Pri = pri
	s = s[end+1:]

	field := func(name string, max int) (string, error) {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return "", fmt.Errorf("%s: missing space", name)
		}
		f := s[:i]
		s = s[i+1:]
		if f == "" || len(f) > max {
			return "", fmt.Errorf("%s: bad length %d", name, len(f))
		}
		for j := 0; j < len(f); j++ {
			if f[j] < 33 || f[j] > 126 {
				return "", fmt.Errorf("%s: non-printable byte %#x", name, f[j])
			}
		}
		if f == "-" {
			return "", nil
		}
		return f, nil
	}
	v, err := field("version", 3)
	if err != nil || v != "1" {
		return m, fmt.Errorf("bad version %q %v", v, err)
	}
	m.Version = 1
	if m.RawTime, err = field("timestamp", 32); err != nil {
		return m, err
	}
	if m.RawTime != "" {
		if m.Timestamp, err = time.Parse(time.RFC3339Nano, m.RawTime); err != nil {
			return m, err
		}
		if dot := strings.IndexByte(m.RawTime, '.'); dot >= 0 {
			rest := m.RawTime[dot+1:]
			frac := rest[:max(strings.IndexAny(rest, "Z+-"), 0)]
			if len(frac) < 1 || len(frac) > 6 {
				return m, fmt.Errorf("fraction %q not 1-6 digits", frac)
			}
		}
	}
	if m.Hostname, err = field("hostname", 255); err != nil {
		return m, err
	}
	if m.AppName, err = field("app-name", 48); err != nil {
		return m, err
	}
	if m.ProcID, err = field("procid", 128); err != nil {
		return m, err
	}
	if m.MsgID, err = field("msgid", 32); err != nil {
		return m, err
	}

	if strings.HasPrefix(s, "-") {
		s = s[1:]
	} else {
		if !strings.HasPrefix(s, "[") {
			return m, errors.New("structured data must be '-' or start with '['")
		}
		for strings.HasPrefix(s, "[") {
			var el sdElement
			s = s[1:]
			if el.ID, err = sdName(&s); err != nil {
				return m, fmt.Errorf("SD-ID: %w", err)
			}
			for strings.HasPrefix(s, " ") {
				s = s[1:]
				var p sdParam
				if p.Name, err = sdName(&s); err != nil {
					return m, fmt.Errorf("PARAM-NAME: %w", err)
				}
				if !strings.HasPrefix(s, `="`) {
					return m, errors.New(`missing '="'`)
				}
				s = s[2:]
				var val strings.Builder
				for {
					if s == "" {
						return m, errors.New("unterminated PARAM-VALUE")
					}
					c := s[0]
					if c == '"' {
						s = s[1:]
						break
					}
					if c == ']' {
						return m, errors.New("unescaped ']' in PARAM-VALUE")
					}
					if c == '\\' && len(s) > 1 && (s[1] == '"' || s[1] == '\\' || s[1] == ']') {
						val.WriteByte(s[1])
						s = s[2:]
						continue
					}
					val.WriteByte(c)
					s = s[1:]
				}
				p.Value = val.String()
				if !utf8Valid(p.Value) {
					return m, errors.New("PARAM-VALUE is not UTF-8")
				}
				el.Params = append(el.Params, p)
			}
			if !strings.HasPrefix(s, "]") {
				return m, errors.New("missing ']'")
			}
			s = s[1:]
			m.SD = append(m.SD, el)
		}
	}
	if s == "" {
		return m, nil
	}
	if s[0] != ' ' {
		return m, errors.New("missing space before MSG")
	}
	m.Msg = s[1:]
	return m, nil
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// sdName reads an SD-NAME: 1-32 printable US-ASCII other than '=', ' ',
// ']' and '"'.
func sdName(s *string) (string, error) {
	i := 0
	for i < len(*s) {
		c := (*s)[i]
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			break
		}
		i++
	}
	if i == 0 || i > 32 {
		return "", fmt.Errorf("bad SD-NAME length %d", i)
	}
	name := (*s)[:i]
	*s = (*s)[i:]
	return name, nil
}

func mustParse(t *testing.T, b []byte) syslogMsg {
	t.Helper()
	m, err := parseSyslog(b)
	if err != nil {
		t.Fatalf("parse %q: %v", b, err)
	}
	return m
}

// ts is 2017-11-09T18:20:33.123456789Z; the syslog timestamp keeps six
// fractional digits.
const (
	ts      = int64(1510251633123456789)
	tsText  = "2017-11-09T18:20:33.123456+00:00"
	tagsSD  = `[tags@47450 a="1" b="x\"y\\z\]w"]`
	hdrTail = " - app 3 - "
)

func TestSyslogPayloads(t *testing.T) {
	tags := map[string]string{"b": `x"y\z]w`, "a": "1"}
	env := func(msg any) *loggregator_v2.Envelope {
		e := &loggregator_v2.Envelope{Timestamp: ts, SourceId: "app", InstanceId: "3", Tags: tags}
		switch m := msg.(type) {
		case *loggregator_v2.Log:
			e.Message = &loggregator_v2.Envelope_Log{Log: m}
		case *loggregator_v2.Gauge:
			e.Message = &loggregator_v2.Envelope_Gauge{Gauge: m}
		case *loggregator_v2.Counter:
			e.Message = &loggregator_v2.Envelope_Counter{Counter: m}
		case *loggregator_v2.Timer:
			e.Message = &loggregator_v2.Envelope_Timer{Timer: m}
		case *loggregator_v2.Event:
			e.Message = &loggregator_v2.Envelope_Event{Event: m}
		}
		return e
	}
	head := func(pri int) string { return "<" + strconv.Itoa(pri) + ">1 " + tsText + hdrTail }

	tests := []struct {
		name string
		env  *loggregator_v2.Envelope
		opts []loggregator_v2.SyslogOption
		want []string
	}{
		{
			name: "log OUT",
			env:  env(&loggregator_v2.Log{Payload: []byte("hello\x00 world"), Type: loggregator_v2.Log_OUT}),
			want: []string{head(14) + tagsSD + " hello world\n"},
		},
		{
			name: "log ERR keeps an existing newline",
			env:  env(&loggregator_v2.Log{Payload: []byte("oops\n"), Type: loggregator_v2.Log_ERR}),
			want: []string{head(11) + tagsSD + " oops\n"},
		},
		{
			name: "empty log",
			env:  env(&loggregator_v2.Log{}),
			want: []string{head(14) + tagsSD + " \n"},
		},
		{
			name: "gauge, one message per metric sorted by name",
			env: env(&loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{
				"mem": {Unit: "bytes", Value: 1024}, "cpu": {Unit: "percentage", Value: 0.25}, "big": {Value: 1e21},
			}}),
			want: []string{
				head(14) + tagsSD + `[gauge@47450 name="big" value="1e+21" unit=""]` + " \n",
				head(14) + tagsSD + `[gauge@47450 name="cpu" value="0.25" unit="percentage"]` + " \n",
				head(14) + tagsSD + `[gauge@47450 name="mem" value="1024" unit="bytes"]` + " \n",
			},
		},
		{
			name: "gauge without metrics",
			env:  env(&loggregator_v2.Gauge{}),
			want: []string{},
		},
		{
			name: "counter",
			env:  env(&loggregator_v2.Counter{Name: "requests", Delta: 5, Total: 18446744073709551615}),
			want: []string{head(14) + tagsSD + `[counter@47450 name="requests" total="18446744073709551615" delta="5"]` + " \n"},
		},
		{
			name: "timer",
			env:  env(&loggregator_v2.Timer{Name: "http", Start: -1, Stop: 99}),
			want: []string{head(14) + tagsSD + `[timer@47450 name="http" start="-1" stop="99"]` + " \n"},
		},
		{
			name: "event",
			env:  env(&loggregator_v2.Event{Title: "title", Body: "body"}),
			want: []string{head(14) + tagsSD + " title: body\n"},
		},
		{
			name: "no payload",
			env:  env(nil),
			want: []string{head(14) + tagsSD + " \n"},
		},
		{
			name: "no tags, deprecated tags ignored, empty fields",
			env: &loggregator_v2.Envelope{
				DeprecatedTags: map[string]*loggregator_v2.Value{"x": {Data: &loggregator_v2.Value_Text{Text: "y"}}},
				Message:        &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("m")}},
			},
			want: []string{"<14>1 1970-01-01T00:00:00+00:00 - - - - - m\n"},
		},
		{
			name: "options override the header fields",
			env:  &loggregator_v2.Envelope{Timestamp: 1_500_000_000, SourceId: "src", InstanceId: "inst"},
			opts: []loggregator_v2.SyslogOption{
				loggregator_v2.WithSyslogHostname("my-host"),
				loggregator_v2.WithSyslogAppName("my-app"),
				loggregator_v2.WithSyslogProcessID("[42]"),
			},
			want: []string{"<14>1 1970-01-01T00:00:01.5+00:00 my-host my-app [42] - - \n"},
		},
		{
			name: "hostname option only",
			env:  &loggregator_v2.Envelope{SourceId: "src"},
			opts: []loggregator_v2.SyslogOption{loggregator_v2.WithSyslogHostname("h")},
			want: []string{"<14>1 1970-01-01T00:00:00+00:00 h src - - - \n"},
		},
		{
			name: "app-name option empties the field",
			env:  &loggregator_v2.Envelope{SourceId: "src", InstanceId: "1"},
			opts: []loggregator_v2.SyslogOption{loggregator_v2.WithSyslogAppName("")},
			want: []string{"<14>1 1970-01-01T00:00:00+00:00 - - 1 - - \n"},
		},
		{
			name: "process-id option replaces instance_id",
			env:  &loggregator_v2.Envelope{SourceId: "src", InstanceId: "1"},
			opts: []loggregator_v2.SyslogOption{loggregator_v2.WithSyslogProcessID("77"), nil},
			want: []string{"<14>1 1970-01-01T00:00:00+00:00 - src 77 - - \n"},
		},
		{
			name: "nil envelope",
			env:  nil,
			want: []string{"<14>1 1970-01-01T00:00:00+00:00 - - - - - \n"},
		},
		{
			name: "typed nil payload wrappers read as empty payloads",
			env:  &loggregator_v2.Envelope{Message: (*loggregator_v2.Envelope_Counter)(nil)},
			want: []string{`<14>1 1970-01-01T00:00:00+00:00 - - - - [counter@47450 name="" total="0" delta="0"] ` + "\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.env.Syslog(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			gotS := make([]string, len(got))
			for i, b := range got {
				gotS[i] = string(b)
				mustParse(t, b)
			}
			if !reflect.DeepEqual(gotS, tt.want) {
				t.Errorf("Syslog()\n got:  %q\n want: %q", gotS, tt.want)
			}
		})
	}
}

// TestSyslogParsesBack checks the parsed fields of a message.
func TestSyslogParsesBack(t *testing.T) {
	e := &loggregator_v2.Envelope{
		Timestamp: ts, SourceId: "app", InstanceId: "3",
		Tags:    map[string]string{"q": `a"b`, "z": "ü]"},
		Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{"g": {Unit: "ms", Value: 1.5}}}},
	}
	got, err := e.Syslog(loggregator_v2.WithSyslogHostname("host"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d messages", len(got))
	}
	m := mustParse(t, got[0])
	want := syslogMsg{
		Pri: 14, Version: 1, Timestamp: time.Unix(0, ts-789).UTC(), RawTime: tsText,
		Hostname: "host", AppName: "app", ProcID: "3",
		SD: []sdElement{
			{ID: "tags@47450", Params: []sdParam{{"q", `a"b`}, {"z", "ü]"}}},
			{ID: "gauge@47450", Params: []sdParam{{"name", "g"}, {"value", "1.5"}, {"unit", "ms"}}},
		},
		Msg: "\n",
	}
	m.Timestamp = m.Timestamp.UTC()
	if !reflect.DeepEqual(m, want) {
		t.Errorf("parsed\n got:  %+v\n want: %+v", m, want)
	}
}

func TestSyslogErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	logEnv := func(typ loggregator_v2.Log_Type) *loggregator_v2.Envelope {
		return &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Type: typ}}}
	}
	tests := []struct {
		name    string
		env     *loggregator_v2.Envelope
		opts    []loggregator_v2.SyslogOption
		wantErr string
	}{
		{"unknown log type", logEnv(7), nil, "invalid log type: 7"},
		{"app-name too long", &loggregator_v2.Envelope{SourceId: long(49)}, nil, "app-name"},
		{"app-name with space", &loggregator_v2.Envelope{SourceId: "a b"}, nil, "app-name"},
		{"app-name option non-ASCII", &loggregator_v2.Envelope{}, []loggregator_v2.SyslogOption{loggregator_v2.WithSyslogAppName("ü")}, "app-name"},
		{"procid too long", &loggregator_v2.Envelope{InstanceId: long(129)}, nil, "procid"},
		{"procid control byte", &loggregator_v2.Envelope{}, []loggregator_v2.SyslogOption{loggregator_v2.WithSyslogProcessID("\x7f")}, "procid"},
		{"hostname too long", &loggregator_v2.Envelope{}, []loggregator_v2.SyslogOption{loggregator_v2.WithSyslogHostname(long(256))}, "hostname"},
		{"hostname with space", &loggregator_v2.Envelope{}, []loggregator_v2.SyslogOption{loggregator_v2.WithSyslogHostname("a b")}, "hostname"},
		{"invalid UTF-8 tag value", &loggregator_v2.Envelope{Tags: map[string]string{"k": "\xff"}}, nil, "UTF-8"},
		{"invalid UTF-8 gauge name", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{
			Metrics: map[string]*loggregator_v2.GaugeValue{"ok": {}, "\xfe": {}}}}}, nil, "UTF-8"},
		{"invalid UTF-8 counter name", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "\xc3"}}}, nil, "UTF-8"},
		{"invalid UTF-8 timer name", &loggregator_v2.Envelope{Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "\xc3"}}}, nil, "UTF-8"},
		{"tag name with space", &loggregator_v2.Envelope{Tags: map[string]string{"a b": "c"}}, nil, "SD-NAME"},
		{"tag name too long", &loggregator_v2.Envelope{Tags: map[string]string{long(33): "c"}}, nil, "SD-NAME"},
		{"empty tag name", &loggregator_v2.Envelope{Tags: map[string]string{"": "c"}}, nil, "SD-NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.env.Syslog(tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("got %q with the error, want nil", got)
			}
		})
	}
}

// TestSyslogLimits checks that header fields at their maximum length pass.
func TestSyslogLimits(t *testing.T) {
	e := &loggregator_v2.Envelope{SourceId: strings.Repeat("a", 48), InstanceId: strings.Repeat("p", 128)}
	got, err := e.Syslog(loggregator_v2.WithSyslogHostname(strings.Repeat("h", 255)))
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, got[0])
	if len(m.Hostname) != 255 || len(m.AppName) != 48 || len(m.ProcID) != 128 {
		t.Errorf("lengths %d/%d/%d", len(m.Hostname), len(m.AppName), len(m.ProcID))
	}
}

// TestSyslogTimestamp checks the fraction rules: up to six digits, trailing
// zeros dropped, truncated rather than rounded, negative times allowed.
func TestSyslogTimestamp(t *testing.T) {
	tests := []struct {
		ts   int64
		want string
	}{
		{0, "1970-01-01T00:00:00+00:00"},
		{1_000, "1970-01-01T00:00:00.000001+00:00"},
		{999, "1970-01-01T00:00:00+00:00"},
		{1_999_999_999, "1970-01-01T00:00:01.999999+00:00"},
		{-1, "1969-12-31T23:59:59.999999+00:00"},
		{math.MaxInt64, "2262-04-11T23:47:16.854775+00:00"},
		{math.MinInt64, "1677-09-21T00:12:43.145224+00:00"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.ts, 10), func(t *testing.T) {
			got, err := (&loggregator_v2.Envelope{Timestamp: tt.ts}).Syslog()
			if err != nil {
				t.Fatal(err)
			}
			m := mustParse(t, got[0])
			if m.RawTime != tt.want {
				t.Errorf("timestamp %q, want %q", m.RawTime, tt.want)
			}
		})
	}
}

// FuzzSyslog feeds arbitrary envelopes (and header options) to Syslog: it
// must not panic, must return either messages or an error, and every
// message must parse back with the envelope's fields.
func FuzzSyslog(f *testing.F) {
	seeds := []*loggregator_v2.Envelope{
		{Timestamp: ts, SourceId: "app", InstanceId: "1", Tags: map[string]string{"k": `v"]\`}, Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("a\x00b")}}},
		{Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: map[string]*loggregator_v2.GaugeValue{"a": {Value: math.NaN()}, "b": nil}}}},
		{Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: "c", Total: 1}}},
		{Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "t", Start: 1, Stop: 2}}},
		{Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "t", Body: "b"}}},
		{Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Type: 9}}},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "", "", "")
	}
	f.Add([]byte{}, "host", "app", "proc")
	f.Fuzz(func(t *testing.T, data []byte, host, app, proc string) {
		e := &loggregator_v2.Envelope{}
		if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(data, e); err != nil {
			return
		}
		var opts []loggregator_v2.SyslogOption
		if host != "" {
			opts = append(opts, loggregator_v2.WithSyslogHostname(host))
		}
		if app != "" {
			opts = append(opts, loggregator_v2.WithSyslogAppName(app))
		}
		if proc != "" {
			opts = append(opts, loggregator_v2.WithSyslogProcessID(proc))
		}
		msgs, err := e.Syslog(opts...)
		if err != nil {
			if msgs != nil {
				t.Fatalf("messages %q returned with error %v", msgs, err)
			}
			return
		}
		wantN := 1
		if g, ok := e.Message.(*loggregator_v2.Envelope_Gauge); ok {
			wantN = len(g.Gauge.GetMetrics())
		}
		if len(msgs) != wantN {
			t.Fatalf("got %d messages, want %d", len(msgs), wantN)
		}
		wantApp := e.GetSourceId()
		if app != "" {
			wantApp = app
		}
		wantProc := e.GetInstanceId()
		if proc != "" {
			wantProc = proc
		}
		for _, b := range msgs {
			m, err := parseSyslog(b)
			if err != nil {
				t.Fatalf("parse %q: %v", b, err)
			}
			// "-" is the NILVALUE: a field set to "-" reads back as empty.
			nil2empty := func(s string) string {
				if s == "-" {
					return ""
				}
				return s
			}
			if m.Hostname != nil2empty(host) || m.AppName != nil2empty(wantApp) || m.ProcID != nil2empty(wantProc) {
				t.Fatalf("header %q/%q/%q, want %q/%q/%q", m.Hostname, m.AppName, m.ProcID, host, wantApp, wantProc)
			}
			if !m.Timestamp.Equal(time.Unix(0, e.GetTimestamp()).Truncate(time.Microsecond)) && e.GetTimestamp() >= 0 {
				t.Fatalf("timestamp %v, want %v", m.Timestamp, time.Unix(0, e.GetTimestamp()))
			}
			if len(e.GetTags()) > 0 {
				if len(m.SD) == 0 || m.SD[0].ID != "tags@47450" || len(m.SD[0].Params) != len(e.GetTags()) {
					t.Fatalf("tags element missing or wrong: %+v", m.SD)
				}
				for _, p := range m.SD[0].Params {
					if e.GetTags()[p.Name] != p.Value {
						t.Fatalf("tag %q = %q, want %q", p.Name, p.Value, e.GetTags()[p.Name])
					}
				}
			}
			if l, ok := e.Message.(*loggregator_v2.Envelope_Log); ok {
				want := bytes.ReplaceAll(l.Log.GetPayload(), []byte{0}, nil)
				if !bytes.HasSuffix(want, []byte("\n")) {
					want = append(want, '\n')
				}
				if m.Msg != string(want) {
					t.Fatalf("msg %q, want %q", m.Msg, want)
				}
			}
		}
	})
}
