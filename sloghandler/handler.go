package sloghandler

import (
	"context"
	"log/slog"
	"strconv"

	"google.golang.org/protobuf/proto"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Emitter sends a log. *loggregator.IngressClient and *v1.Client
// implement it. Like them, EmitLog must make a log of type ERR unless
// loggregator.WithStdout is among the options, and must apply the options
// before it returns.
type Emitter interface {
	EmitLog(message string, opts ...loggregator.EmitLogOption)
}

// Handler is a slog.Handler that sends each record as a log envelope
// through an Emitter. Create it with New. It is safe for concurrent use;
// the handlers WithAttrs and WithGroup return share its Emitter.
type Handler struct {
	emit   Emitter
	cfg    *config
	prefix string // dotted group prefix from WithGroup: "" or "G.H."
	attrs  tagSet // tags from WithAttrs, with their prefixes
}

// New returns a Handler that sends records through e. A nil e gives a
// handler that is enabled for no level and discards everything.
func New(e Emitter, opts ...Option) *Handler {
	cfg := &config{}
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	cfg.resolve()
	return &Handler{emit: e, cfg: cfg}
}

// Enabled reports whether the handler handles records at level: whether
// it has an Emitter and level is at least the WithLevel level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return h.emit != nil && level >= h.cfg.level.Level()
}

// Handle sends r as one log envelope: the message as the payload; type
// ERR for slog.LevelError and above, OUT below; the attributes (with
// those from WithAttrs) as tags within the limits; the source info and
// level tag from the options; and r.Time as the envelope timestamp unless
// it is zero (the Emitter's own time stamp is kept then, and always with
// Emitters that do not build v2 envelopes, such as v1.Client).
//
// Handle always returns nil: EmitLog reports no errors. Envelopes the
// client cannot deliver are counted by the client (for example
// IngressClient.Dropped).
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	if h.emit == nil {
		return nil
	}
	set := h.attrs.clone(r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		set.addAttr(h.prefix, a)
		return true
	})
	opts := make([]loggregator.EmitLogOption, 0, 5)
	if tags := set.tagMap(h.cfg.levelTag, r.Level); tags != nil {
		opts = append(opts, loggregator.WithEnvelopeTags(tags))
	}
	if r.Level < slog.LevelError {
		opts = append(opts, loggregator.WithStdout())
	}
	if h.cfg.sourceOpt != nil {
		opts = append(opts, h.cfg.sourceOpt)
	}
	if !r.Time.IsZero() {
		opts = append(opts, withTimestamp(r.Time.UnixNano()))
	}
	h.emit.EmitLog(r.Message, opts...)
	return nil
}

// WithAttrs returns a handler whose records carry attrs as tags too,
// within the groups opened so far. The attributes are resolved and
// formatted now, once. With no attrs it returns h.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	c.attrs = h.attrs.clone(len(attrs))
	for _, a := range attrs {
		c.attrs.addAttr(h.prefix, a)
	}
	return &c
}

// WithGroup returns a handler that writes the attributes of later
// WithAttrs calls and of records inside group name: their tag names are
// prefixed with "name.". A group that receives no attribute leaves no
// trace. With an empty name it returns h.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = groupPrefix(h.prefix, name)
	return &c
}

// tagMap returns the tags to write, or nil when there are none.
func (s *tagSet) tagMap(levelTag string, level slog.Level) map[string]string {
	n := len(s.tags)
	if s.dropped > 0 {
		n++
	}
	if levelTag != "" {
		n++
	}
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for _, t := range s.tags {
		m[t.key] = t.value
	}
	if s.dropped > 0 {
		m[DroppedAttrsTag] = strconv.Itoa(s.dropped)
	}
	if levelTag != "" {
		m[levelTag] = level.String()
	}
	return m
}

// withTimestamp sets the timestamp of a v2 envelope; other messages are
// left alone (the Emit options offer no way to set a v1 timestamp).
func withTimestamp(ns int64) loggregator.EmitLogOption {
	return func(m proto.Message) {
		if e, ok := m.(*loggregator_v2.Envelope); ok && e != nil {
			e.Timestamp = ns
		}
	}
}

var _ slog.Handler = (*Handler)(nil)
