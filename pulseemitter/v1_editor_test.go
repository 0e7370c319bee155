package pulseemitter_test

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/pulseemitter"
)

// editorCalls implements the Emit options' editor methods (as the v1
// client's envelope builder does) and records each call.
type editorCalls struct {
	proto.Message // nil; only makes *editorCalls a proto.Message
	calls         []string
}

func (e *editorCalls) add(f string, args ...any)    { e.calls = append(e.calls, fmt.Sprintf(f, args...)) }
func (e *editorCalls) SetLogAppInfo(a, t, i string) { e.add("SetLogAppInfo(%s,%s,%s)", a, t, i) }
func (e *editorCalls) SetLogToStdout()              { e.add("SetLogToStdout()") }
func (e *editorCalls) SetGaugeAppInfo(a string, i int) {
	e.add("SetGaugeAppInfo(%s,%d)", a, i)
}
func (e *editorCalls) SetCounterAppInfo(a string, i int) {
	e.add("SetCounterAppInfo(%s,%d)", a, i)
}
func (e *editorCalls) SetSourceInfo(s, i string) { e.add("SetSourceInfo(%s,%s)", s, i) }
func (e *editorCalls) SetGaugeValue(n string, v float64, u string) {
	e.add("SetGaugeValue(%s,%v,%s)", n, v, u)
}
func (e *editorCalls) SetDelta(d uint64)  { e.add("SetDelta(%d)", d) }
func (e *editorCalls) SetTotal(t uint64)  { e.add("SetTotal(%d)", t) }
func (e *editorCalls) SetTag(n, v string) { e.add("SetTag(%s,%s)", n, v) }

// v1LikeClient applies the options to an editorCalls, like the v1 client.
type v1LikeClient struct{ got [][]string }

func (c *v1LikeClient) EmitCounter(name string, opts ...loggregator.EmitCounterOption) {
	e := &editorCalls{}
	for _, o := range opts {
		o(e)
	}
	c.got = append(c.got, append([]string{"counter " + name}, e.calls...))
}

func (c *v1LikeClient) EmitGauge(opts ...loggregator.EmitGaugeOption) {
	e := &editorCalls{}
	for _, o := range opts {
		o(e)
	}
	c.got = append(c.got, append([]string{"gauge"}, e.calls...))
}

func TestSourceIDIgnoredByV1(t *testing.T) {
	cases := []struct {
		name string
		emit func(c pulseemitter.LogClient)
		want []string
	}{
		{
			name: "counter",
			emit: func(c pulseemitter.LogClient) {
				m := pulseemitter.NewCounterMetric("n", "src", pulseemitter.WithVersion(1, 2))
				m.Increment(4)
				m.Emit(c)
			},
			want: []string{"counter n", "SetDelta(4)", "SetTag(metric_version,1.2)"},
		},
		{
			name: "gauge",
			emit: func(c pulseemitter.LogClient) {
				m := pulseemitter.NewGaugeMetric("g", "u", "src", pulseemitter.WithTags(map[string]string{"b": "2", "a": "1"}))
				m.Set(-1.5)
				m.Emit(c)
			},
			want: []string{"gauge", "SetGaugeValue(g,-1.5,u)", "SetTag(a,1)", "SetTag(b,2)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &v1LikeClient{}
			tc.emit(c)
			if len(c.got) != 1 || !slices.Equal(c.got[0], tc.want) {
				t.Errorf("calls = %q, want [%q]", c.got, tc.want)
			}
		})
	}
}
