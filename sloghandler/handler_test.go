package sloghandler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/sloghandler"
)

// TestHandlerSlogtest runs testing/slogtest against the handler sending
// through a real IngressClient to an in-process ingress server; each
// result is decoded from the envelope the server received.
func TestHandlerSlogtest(t *testing.T) {
	a := newAgent(t)
	emitter := clientClock{a.client}
	slogtest.Run(t,
		func(*testing.T) slog.Handler { return sloghandler.New(emitter) },
		func(t *testing.T) map[string]any { return toSlogtestMap(t, a.next(t)) },
	)
	if got := a.closeAndCount(t); got != a.read {
		t.Errorf("server received %d envelopes, want exactly one per case (%d)", got, a.read)
	}
}

// stringer formats itself; panicky panics while doing so.
type (
	stringer struct{}
	panicky  struct{}
	valuer   struct{}
)

func (stringer) String() string { return "formatted" }
func (panicky) String() string  { panic("boom") }
func (valuer) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("id", 7), slog.String("name", "x"))
}

// emptyValuer resolves to an empty group, which slog.Record.AddAttrs
// cannot see in advance.
type emptyValuer struct{}

func (emptyValuer) LogValue() slog.Value { return slog.GroupValue() }

func tags(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func logEnvelope(ts int64, msg string, typ loggregator_v2.Log_Type, tags map[string]string) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{
		Timestamp: ts,
		Tags:      tags,
		Message:   &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte(msg), Type: typ}},
	}
}

// TestHandlerEnvelopes checks the exact envelope the server receives for
// one record.
func TestHandlerEnvelopes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ts := at.UnixNano()
	long := strings.Repeat("é", maxValueLengthRunes()+10) // 2 bytes each
	manyAttrs := func() []slog.Attr {
		var as []slog.Attr
		for i := range sloghandler.MaxTags + 5 {
			as = append(as, slog.Int(fmt.Sprintf("k%02d", i), i))
		}
		return as
	}
	manyTags := func() map[string]string {
		m := map[string]string{sloghandler.DroppedAttrsTag: "5"}
		for i := range sloghandler.MaxTags {
			m[fmt.Sprintf("k%02d", i)] = fmt.Sprint(i)
		}
		return m
	}
	cases := []struct {
		name       string
		clientOpts []loggregator.IngressOption
		opts       []sloghandler.Option
		handler    func(h slog.Handler) slog.Handler
		level      slog.Level
		time       time.Time
		msg        string
		attrs      []slog.Attr
		want       *loggregator_v2.Envelope
	}{
		{
			name: "info is OUT with the record time",
			time: at, level: slog.LevelInfo, msg: "hello",
			want: logEnvelope(ts, "hello", loggregator_v2.Log_OUT, nil),
		},
		{
			name: "debug is OUT when enabled",
			opts: []sloghandler.Option{sloghandler.WithLevel(slog.LevelDebug)},
			time: at, level: slog.LevelDebug, msg: "d",
			want: logEnvelope(ts, "d", loggregator_v2.Log_OUT, nil),
		},
		{
			name: "warn is OUT",
			time: at, level: slog.LevelWarn, msg: "w",
			want: logEnvelope(ts, "w", loggregator_v2.Log_OUT, nil),
		},
		{
			name: "error is ERR",
			time: at, level: slog.LevelError, msg: "e",
			want: logEnvelope(ts, "e", loggregator_v2.Log_ERR, nil),
		},
		{
			name: "error+4 is ERR, level tag",
			opts: []sloghandler.Option{sloghandler.WithLevelTag("level")},
			time: at, level: slog.LevelError + 4, msg: "e",
			attrs: []slog.Attr{slog.String("level", "attribute loses")},
			want:  logEnvelope(ts, "e", loggregator_v2.Log_ERR, tags("level", "ERROR+4")),
		},
		{
			name: "error-1 is OUT",
			time: at, level: slog.LevelError - 1, msg: "x",
			want: logEnvelope(ts, "x", loggregator_v2.Log_OUT, nil),
		},
		{
			name: "source info: source_id, instance_id, source_type tag wins",
			opts: []sloghandler.Option{sloghandler.WithSourceInfo("app", "APP/PROC/WEB", "3")},
			time: at, msg: "m",
			attrs: []slog.Attr{slog.String("source_type", "attr")},
			want: func() *loggregator_v2.Envelope {
				e := logEnvelope(ts, "m", loggregator_v2.Log_OUT, tags("source_type", "APP/PROC/WEB"))
				e.SourceId, e.InstanceId = "app", "3"
				return e
			}(),
		},
		{
			name:       "attributes replace client tags",
			clientOpts: []loggregator.IngressOption{loggregator.WithTag("deployment", "d1"), loggregator.WithTag("job", "j")},
			time:       at, msg: "m",
			attrs: []slog.Attr{slog.String("job", "from-attr")},
			want:  logEnvelope(ts, "m", loggregator_v2.Log_OUT, tags("deployment", "d1", "job", "from-attr")),
		},
		{
			name: "value kinds",
			time: at, msg: "m",
			attrs: []slog.Attr{
				slog.String("s", "text"), slog.Int("i", -3), slog.Uint64("u", 1<<63),
				slog.Float64("f", 0.1), slog.Bool("b", true), slog.Duration("d", 1500*time.Millisecond),
				slog.Time("t", at), slog.Any("err", errors.New("bad")), slog.Any("str", stringer{}),
				slog.Any("nil", nil), slog.Any("p", panicky{}), slog.Any("v", valuer{}),
				slog.Any("bytes", []byte("ab")),
			},
			want: logEnvelope(ts, "m", loggregator_v2.Log_OUT, tags(
				"s", "text", "i", "-3", "u", "9223372036854775808", "f", "0.1", "b", "true",
				"d", "1.5s", "t", "2026-01-02T03:04:05.000000006Z", "err", "bad", "str", "formatted",
				"nil", "<nil>", "p", "%!v(PANIC=String method: boom)", "v.id", "7", "v.name", "x",
				"bytes", "[97 98]",
			)),
		},
		{
			name: "groups, WithGroup and WithAttrs nest with dots; later duplicate wins",
			handler: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("top", "1"), slog.String("dup", "first")}).
					WithGroup("G").WithAttrs([]slog.Attr{slog.String("a", "2")}).WithGroup("").WithGroup("H")
			},
			time: at, msg: "m",
			attrs: []slog.Attr{
				slog.String("b", "3"), slog.Group("I", slog.String("c", "4"), slog.Group("", slog.String("d", "5"))),
				slog.Group("empty"), {},
			},
			want: logEnvelope(ts, "m", loggregator_v2.Log_OUT, tags(
				"top", "1", "dup", "first", "G.a", "2", "G.H.b", "3", "G.H.I.c", "4", "G.H.I.d", "5",
			)),
		},
		{
			name:    "record attribute replaces a WithAttrs one",
			handler: func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String("k", "old")}) },
			time:    at, msg: "m",
			attrs: []slog.Attr{slog.String("k", "new")},
			want:  logEnvelope(ts, "m", loggregator_v2.Log_OUT, tags("k", "new")),
		},
		{
			name: "an empty key is no tag, a group resolved empty is no tag",
			time: at, msg: "m",
			attrs: []slog.Attr{slog.String("", "v"), slog.Group("G", slog.String("", "w")), slog.Any("E", emptyValuer{})},
			want:  logEnvelope(ts, "m", loggregator_v2.Log_OUT, nil),
		},
		{
			name: "more than MaxTags: the first MaxTags kept, the rest counted",
			time: at, msg: "m",
			attrs: manyAttrs(),
			want:  logEnvelope(ts, "m", loggregator_v2.Log_OUT, manyTags()),
		},
		{
			name: "long keys and values are truncated on character boundaries",
			time: at, msg: "m",
			attrs: []slog.Attr{slog.String(strings.Repeat("k", sloghandler.MaxKeyLength+1), long)},
			want: logEnvelope(ts, "m", loggregator_v2.Log_OUT, tags(
				strings.Repeat("k", sloghandler.MaxKeyLength), strings.Repeat("é", sloghandler.MaxValueLength/2),
			)),
		},
		{
			name: "deep group prefixes are cut at MaxKeyLength; colliding keys: later wins",
			handler: func(h slog.Handler) slog.Handler {
				return h.WithGroup(strings.Repeat("g", 100)).WithGroup(strings.Repeat("h", 100)).WithGroup("i")
			},
			time: at, msg: "m",
			attrs: []slog.Attr{slog.String("k", "1"), slog.Group("j", slog.String("l", "2"))},
			want: logEnvelope(ts, "m", loggregator_v2.Log_OUT, tags(
				strings.Repeat("g", 100)+"."+strings.Repeat("h", sloghandler.MaxKeyLength-101), "2",
			)),
		},
		{
			name: "invalid UTF-8 is repaired, the message is kept as bytes",
			time: at, msg: "raw\xff",
			attrs: []slog.Attr{slog.String("k\xfe", "v\xffw")},
			want:  logEnvelope(ts, "raw\xff", loggregator_v2.Log_OUT, tags("k\uFFFD", "v\uFFFDw")),
		},
		{
			name: "a zero time keeps the client's time stamp",
			msg:  "m",
			want: logEnvelope(clientTime, "m", loggregator_v2.Log_OUT, nil),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, tc.clientOpts...)
			var h slog.Handler = sloghandler.New(clientClock{a.client}, tc.opts...)
			if tc.handler != nil {
				h = tc.handler(h)
			}
			r := slog.NewRecord(tc.time, tc.level, tc.msg, 0)
			r.AddAttrs(tc.attrs...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if !h.Enabled(ctx, tc.level) {
				t.Fatalf("handler not enabled for %v", tc.level)
			}
			if err := h.Handle(ctx, r); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			got := a.next(t)
			if tc.want.Tags == nil {
				tc.want.Tags = map[string]string{}
			}
			if len(got.Tags) == 0 {
				got.Tags = map[string]string{}
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("\n got: %s\nwant: %s", prototext.Format(got), prototext.Format(tc.want))
			}
			if n := a.closeAndCount(t); n != 1 {
				t.Errorf("server received %d envelopes, want 1", n)
			}
		})
	}
}

// maxValueLengthRunes is how many 2-byte characters fit in a value.
func maxValueLengthRunes() int { return sloghandler.MaxValueLength / 2 }

func TestHandlerEnabled(t *testing.T) {
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	cases := []struct {
		name    string
		h       *sloghandler.Handler
		level   slog.Level
		enabled bool
	}{
		{"default level: info enabled", sloghandler.New(&recordingEmitter{}), slog.LevelInfo, true},
		{"default level: debug disabled", sloghandler.New(&recordingEmitter{}), slog.LevelDebug, false},
		{"nil leveler is the default", sloghandler.New(&recordingEmitter{}, sloghandler.WithLevel(nil)), slog.LevelInfo, true},
		{"level var: info disabled", sloghandler.New(&recordingEmitter{}, sloghandler.WithLevel(&lv)), slog.LevelInfo, false},
		{"level var: warn enabled", sloghandler.New(&recordingEmitter{}, sloghandler.WithLevel(&lv)), slog.LevelWarn, true},
		{"nil emitter: nothing enabled", sloghandler.New(nil), slog.LevelError, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.Enabled(context.Background(), tc.level); got != tc.enabled {
				t.Errorf("Enabled(%v) = %v, want %v", tc.level, got, tc.enabled)
			}
		})
	}
	// Handle with a nil Emitter does nothing and does not panic.
	if err := sloghandler.New(nil).Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelError, "m", 0)); err != nil {
		t.Errorf("Handle with a nil emitter: %v", err)
	}
}

// TestHandlerDerivedHandlersAreIndependent checks that WithAttrs and
// WithGroup leave their receiver unchanged.
func TestHandlerDerivedHandlersAreIndependent(t *testing.T) {
	rec := &recordingEmitter{}
	base := sloghandler.New(rec).WithAttrs([]slog.Attr{slog.String("base", "1")})
	a := base.WithAttrs([]slog.Attr{slog.String("a", "1")})
	if base.WithAttrs(nil) != base || base.WithGroup("") != base {
		t.Error("WithAttrs(nil) and WithGroup(\"\") must return the receiver")
	}
	g := base.WithGroup("G")
	b := g.WithAttrs([]slog.Attr{slog.String("b", "1")})
	ctx := context.Background()
	for _, h := range []slog.Handler{base, a, g, b} {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.String("r", "1"))
		if err := h.Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	want := []map[string]string{
		tags("base", "1", "r", "1"),
		tags("base", "1", "a", "1", "r", "1"),
		tags("base", "1", "G.r", "1"),
		tags("base", "1", "G.b", "1", "G.r", "1"),
	}
	for i, w := range want {
		if got := rec.envs[i].GetTags(); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("handler %d: tags %v, want %v", i, got, w)
		}
	}
}

func TestHandlerConcurrentSafe(t *testing.T) {
	a := newAgent(t)
	logger := slog.New(sloghandler.New(a.client)).With("shared", "yes")
	const goroutines, each = 4, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := logger.WithGroup(fmt.Sprintf("g%d", g))
			for i := range each {
				l.Info("m", "i", i)
			}
		}()
	}
	wg.Wait()
	if n := a.closeAndCount(t); n != goroutines*each {
		t.Fatalf("server received %d envelopes, want %d", n, goroutines*each)
	}
	seen := map[string]bool{}
	for _, e := range a.srv.Envelopes() {
		if len(e.GetTags()) != 2 || e.GetTags()["shared"] != "yes" {
			t.Fatalf("unexpected tags %v", e.GetTags())
		}
		for k, v := range e.GetTags() {
			if k != "shared" {
				seen[k+"="+v] = true
			}
		}
	}
	if len(seen) != goroutines*each {
		t.Errorf("%d distinct group/attribute pairs, want %d", len(seen), goroutines*each)
	}
}
