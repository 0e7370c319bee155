package rlpquery

import (
	"errors"
	"net/url"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func logSel(src string) *v2.Selector {
	return &v2.Selector{SourceId: src, Message: &v2.Selector_Log{Log: &v2.LogSelector{}}}
}
func counterSel(src, name string) *v2.Selector {
	return &v2.Selector{SourceId: src, Message: &v2.Selector_Counter{Counter: &v2.CounterSelector{Name: name}}}
}
func gaugeSel(src string, names ...string) *v2.Selector {
	return &v2.Selector{SourceId: src, Message: &v2.Selector_Gauge{Gauge: &v2.GaugeSelector{Names: names}}}
}
func timerSel(src string) *v2.Selector {
	return &v2.Selector{SourceId: src, Message: &v2.Selector_Timer{Timer: &v2.TimerSelector{}}}
}
func eventSel(src string) *v2.Selector {
	return &v2.Selector{SourceId: src, Message: &v2.Selector_Event{Event: &v2.EventSelector{}}}
}
func sourceSel(src string) *v2.Selector { return &v2.Selector{SourceId: src} }

func TestEncode(t *testing.T) {
	const sd = "shard_id=s&deterministic_name=d&"
	tests := []struct {
		name      string
		selectors []*v2.Selector
		want      string
	}{
		{"source and log", []*v2.Selector{logSel("a")}, sd + "source_id=a&log"},
		{"log without source", []*v2.Selector{logSel("")}, sd + "log"},
		{"counter", []*v2.Selector{counterSel("", "")}, sd + "counter"},
		{"counter name", []*v2.Selector{counterSel("", "c")}, sd + "counter.name=c"},
		{"counter and counter name", []*v2.Selector{counterSel("", ""), counterSel("", "c")}, sd + "counter.name=c"},
		{"two counter names", []*v2.Selector{counterSel("", "c1"), counterSel("", "c2")}, sd + "counter.name=c1&counter.name=c2"},
		{"gauge", []*v2.Selector{gaugeSel("")}, sd + "gauge"},
		{"gauge name", []*v2.Selector{gaugeSel("", "g")}, sd + "gauge.name=g"},
		{"gauge and gauge name", []*v2.Selector{gaugeSel(""), gaugeSel("", "g")}, sd + "gauge.name=g"},
		{"gauge with several names", []*v2.Selector{gaugeSel("", "cpu", "memory")}, sd + "gauge.name=cpu,memory"},
		{"timer", []*v2.Selector{timerSel("")}, sd + "timer"},
		{"event", []*v2.Selector{eventSel("")}, sd + "event"},
		{"every kind", []*v2.Selector{logSel("a"), counterSel("a", ""), gaugeSel("a"), timerSel("a"), eventSel("a")},
			sd + "source_id=a&log&counter&gauge&timer&event"},
		{"per-source kinds", []*v2.Selector{logSel("a"), gaugeSel("b", "g")}, sd + "source_id=a&log&source_id=b&gauge.name=g"},
		{"sources without kinds deduplicated", []*v2.Selector{sourceSel("a"), sourceSel("b"), sourceSel("b")}, sd + "source_id=a&source_id=b"},
		{"duplicate kinds kept", []*v2.Selector{logSel("a"), logSel("a")}, sd + "source_id=a&log&log"},
		{"nil selector skipped", []*v2.Selector{nil, logSel("a")}, sd + "source_id=a&log"},
		{"escaped source id", []*v2.Selector{logSel("a&b=c d/ü")}, sd + "source_id=a%26b%3Dc+d%2F%C3%BC&log"},
		{"escaped names", []*v2.Selector{counterSel("", "x&y"), gaugeSel("", "a b", "c=d")}, sd + "counter.name=x%26y&gauge.name=a+b,c%3Dd"},
		{"no selectors", nil, "shard_id=s&deterministic_name=d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &v2.EgressBatchRequest{ShardId: "s", DeterministicName: "d", Selectors: tt.selectors}
			if got := Encode(req); got != tt.want {
				t.Fatalf("Encode() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEncodeWithoutShard(t *testing.T) {
	tests := []struct {
		name string
		req  *v2.EgressBatchRequest
		want string
	}{
		{"nil", nil, ""},
		{"empty", &v2.EgressBatchRequest{}, ""},
		{"only kinds", &v2.EgressBatchRequest{Selectors: []*v2.Selector{logSel("")}}, "log"},
		{"escaped shard", &v2.EgressBatchRequest{ShardId: "a b&c", DeterministicName: "é"}, "shard_id=a+b%26c&deterministic_name=%C3%A9"},
		{"ignored fields", &v2.EgressBatchRequest{UsePreferredTags: true, LegacySelector: logSel("x")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Encode(tt.req); got != tt.want {
				t.Fatalf("Encode() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		want    *v2.EgressBatchRequest
		wantErr error
	}{
		{"empty", "", nil, ErrEmptyQuery},
		{"only separators", "&&", nil, ErrEmptyQuery},
		{"no kind", "source_id=a&shard_id=s", nil, ErrMissingEnvelopeType},
		{"log firehose", "log", &v2.EgressBatchRequest{UsePreferredTags: true, Selectors: []*v2.Selector{logSel("")}}, nil},
		{"cross product", "source_id=a&log&source_id=b&gauge.name=g",
			&v2.EgressBatchRequest{UsePreferredTags: true, Selectors: []*v2.Selector{logSel("a"), gaugeSel("a", "g"), logSel("b"), gaugeSel("b", "g")}}, nil},
		{"counter names win", "counter&counter.name=x&counter.name=y",
			&v2.EgressBatchRequest{UsePreferredTags: true, Selectors: []*v2.Selector{counterSel("", "x"), counterSel("", "y")}}, nil},
		{"empty counter name", "counter.name=",
			&v2.EgressBatchRequest{UsePreferredTags: true, Selectors: []*v2.Selector{counterSel("", "")}}, nil},
		{"gauge names split", "gauge.name=cpu,memory&gauge",
			&v2.EgressBatchRequest{UsePreferredTags: true, Selectors: []*v2.Selector{gaugeSel("", "cpu", "memory")}}, nil},
		{"every kind", "shard_id=s&shard_id=t&deterministic_name=d&timer&event&log&counter&gauge&foo=bar",
			&v2.EgressBatchRequest{ShardId: "s", DeterministicName: "d", UsePreferredTags: true,
				Selectors: []*v2.Selector{logSel(""), counterSel("", ""), gaugeSel(""), timerSel(""), eventSel("")}}, nil},
		{"escaped source", "source_id=a%26b%3Dc+d%2F%C3%BC&log",
			&v2.EgressBatchRequest{UsePreferredTags: true, Selectors: []*v2.Selector{logSel("a&b=c d/ü")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.query)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse() error = %v, want %v", err, tt.wantErr)
			}
			if !proto.Equal(got, tt.want) {
				t.Fatalf("Parse() = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzEncodeParse(f *testing.F) {
	f.Add("s", "d", "a&b=c d/ü", "b", "g1", "g2", "c", uint8(0x1f))
	f.Add("", "", "", "", "", "", "", uint8(0))
	f.Add("%zz", "+", "=", "&", ",", "", "x", uint8(0xff))
	f.Fuzz(func(t *testing.T, shard, det, src1, src2, g1, g2, cname string, kinds uint8) {
		var sels []*v2.Selector
		for i, src := range []string{src1, src2} {
			k := kinds >> (4 * i)
			switch k % 6 {
			case 0:
				sels = append(sels, logSel(src))
			case 1:
				sels = append(sels, counterSel(src, cname))
			case 2:
				sels = append(sels, gaugeSel(src, g1, g2))
			case 3:
				sels = append(sels, timerSel(src))
			case 4:
				sels = append(sels, eventSel(src))
			case 5:
				sels = append(sels, sourceSel(src))
			}
		}
		req := &v2.EgressBatchRequest{ShardId: shard, DeterministicName: det, Selectors: sels}
		q := Encode(req)
		for _, c := range []byte(q) {
			if c <= ' ' || c >= 0x7f || c == '#' || c == '?' {
				t.Fatalf("unescaped byte %q in %q", c, q)
			}
		}
		if _, err := url.ParseQuery(q); err != nil {
			t.Fatalf("ParseQuery(%q): %v", q, err)
		}
		got, err := Parse(q)
		if err != nil {
			return
		}
		if got.GetShardId() != shard || got.GetDeterministicName() != det {
			t.Fatalf("shard/name %q %q, want %q %q (query %q)", got.GetShardId(), got.GetDeterministicName(), shard, det, q)
		}
		for _, src := range []string{src1, src2} {
			if src == "" {
				continue
			}
			if !slices.ContainsFunc(got.GetSelectors(), func(s *v2.Selector) bool { return s.GetSourceId() == src }) {
				t.Fatalf("source %q lost in %q", src, q)
			}
		}
	})
}

func TestKindSelector(t *testing.T) {
	tests := []struct {
		kind string
		want *v2.Selector
	}{
		{"log", &v2.Selector{SourceId: "s", Message: &v2.Selector_Log{Log: &v2.LogSelector{}}}},
		{"counter", &v2.Selector{SourceId: "s", Message: &v2.Selector_Counter{Counter: &v2.CounterSelector{}}}},
		{"gauge", &v2.Selector{SourceId: "s", Message: &v2.Selector_Gauge{Gauge: &v2.GaugeSelector{}}}},
		{"timer", &v2.Selector{SourceId: "s", Message: &v2.Selector_Timer{Timer: &v2.TimerSelector{}}}},
		{"event", &v2.Selector{SourceId: "s", Message: &v2.Selector_Event{Event: &v2.EventSelector{}}}},
		{"Log", nil},
		{"counter.name", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			got, ok := KindSelector("s", tt.kind)
			if ok != (tt.want != nil) {
				t.Fatalf("ok = %v, want %v", ok, tt.want != nil)
			}
			if !proto.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
