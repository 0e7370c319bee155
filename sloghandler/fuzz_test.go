package sloghandler_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/sloghandler"
)

// fuzzLevelTag is the level tag name the fuzzed handler writes.
const fuzzLevelTag = "level"

// program turns fuzz input into handler calls: each byte selects an
// operation, and strings are read as a length byte and that many bytes.
type program struct{ b []byte }

func (p *program) byte() byte {
	if len(p.b) == 0 {
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

func (p *program) str() string {
	n := min(int(p.byte()), len(p.b))
	s := string(p.b[:n])
	p.b = p.b[n:]
	return s
}

// build runs the program: it returns the handler after its WithGroup and
// WithAttrs calls and the record's attributes.
func (p *program) build(h slog.Handler) (slog.Handler, []slog.Attr) {
	type frame struct {
		name  string
		attrs []slog.Attr
	}
	stack := []frame{{}}
	top := func() *frame { return &stack[len(stack)-1] }
	for len(p.b) > 0 {
		switch p.byte() % 10 {
		case 0:
			top().attrs = append(top().attrs, slog.String(p.str(), p.str()))
		case 1:
			top().attrs = append(top().attrs, slog.Int(p.str(), int(p.byte())))
		case 2: // open a group (its name may be empty: inlined)
			stack = append(stack, frame{name: p.str()})
		case 3: // close a group
			if len(stack) > 1 {
				f := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				top().attrs = append(top().attrs, slog.Group(f.name, anys(f.attrs)...))
			}
		case 4:
			h = h.WithGroup(p.str())
		case 5:
			if len(stack) == 1 {
				h = h.WithAttrs(top().attrs)
				top().attrs = nil
			}
		case 6:
			top().attrs = append(top().attrs, slog.Attr{})
		case 7: // a long key or value
			s := strings.Repeat(p.str(), int(p.byte())+1)
			if p.byte()%2 == 0 {
				top().attrs = append(top().attrs, slog.String(s, "v"))
			} else {
				top().attrs = append(top().attrs, slog.String("k", s))
			}
		case 8: // many attributes
			for i := range int(p.byte()) {
				top().attrs = append(top().attrs, slog.Int("n"+strconv.Itoa(i), i))
			}
		case 9:
			top().attrs = append(top().attrs, slog.Any(p.str(), valuer{}))
		}
	}
	for len(stack) > 1 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		top().attrs = append(top().attrs, slog.Group(f.name, anys(f.attrs)...))
	}
	return h, stack[0].attrs
}

func anys(as []slog.Attr) []any {
	out := make([]any, len(as))
	for i, a := range as {
		out[i] = a
	}
	return out
}

// FuzzHandlerTags feeds random attributes, groups, WithAttrs and WithGroup
// calls through the handler and checks that the envelope stays within the
// documented limits and is valid protobuf (strings are UTF-8).
func FuzzHandlerTags(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 1, 'b'})
	f.Add([]byte{2, 1, 'G', 0, 1, 'a', 1, 'b', 3, 4, 1, 'H', 5, 0, 1, 'c', 1, 'd'})
	f.Add([]byte{8, 200, 8, 100, 5, 8, 50})
	f.Add([]byte{7, 3, 0xe2, 0x82, 0xac, 255, 0, 7, 2, 0xff, 'x', 200, 1})
	f.Add([]byte{2, 0, 0, 1, 'a', 1, 'b', 3, 6, 9, 1, 'v', 4, 0})
	f.Add([]byte{4, 200, 'x', 'y'})
	f.Fuzz(func(t *testing.T, in []byte) {
		rec := &recordingEmitter{}
		p := &program{b: in}
		h, attrs := p.build(sloghandler.New(rec, sloghandler.WithLevelTag(fuzzLevelTag)))
		r := slog.NewRecord(time.Unix(0, 1), slog.LevelWarn, "msg", 0)
		r.AddAttrs(attrs...)
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if len(rec.envs) != 1 {
			t.Fatalf("%d envelopes, want 1", len(rec.envs))
		}
		e := rec.envs[0]
		if _, err := proto.Marshal(e); err != nil {
			t.Fatalf("envelope does not encode: %v", err)
		}
		if e.GetTimestamp() != 1 || string(e.GetLog().GetPayload()) != "msg" {
			t.Fatalf("timestamp %d, payload %q", e.GetTimestamp(), e.GetLog().GetPayload())
		}
		if got := e.GetTags()[fuzzLevelTag]; got != "WARN" {
			t.Fatalf("level tag %q, want WARN", got)
		}
		attrTags := 0
		for k, v := range e.GetTags() {
			if k == "" || len(k) > sloghandler.MaxKeyLength || !utf8.ValidString(k) {
				t.Fatalf("tag name %q (%d bytes) breaks the limits", k, len(k))
			}
			if len(v) > sloghandler.MaxValueLength || !utf8.ValidString(v) {
				t.Fatalf("tag %q value of %d bytes breaks the limits", k, len(v))
			}
			if k != fuzzLevelTag && k != sloghandler.DroppedAttrsTag {
				attrTags++
			}
		}
		if attrTags > sloghandler.MaxTags {
			t.Fatalf("%d attribute tags, more than MaxTags", attrTags)
		}
		// The counter tag holds a positive count when attributes were
		// dropped, and then every attribute slot was in use (one of them
		// possibly by an attribute of the counter's name, which the
		// counter replaces). Any other value came from an attribute.
		if d := e.GetTags()[sloghandler.DroppedAttrsTag]; d != "" {
			if n, err := strconv.Atoi(d); err == nil && n > 0 && attrTags < sloghandler.MaxTags-1 {
				t.Fatalf("%s = %d with only %d attribute tags", sloghandler.DroppedAttrsTag, n, attrTags)
			}
		}
	})
}
