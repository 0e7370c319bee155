package sloghandler

import (
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits on the tags a Handler makes from attributes. They keep an
// envelope's size bounded whatever a caller logs (a batch of 100 envelopes
// at these limits stays far below the agent's 10 MiB message limit,
// unless the messages themselves are large).
const (
	// MaxTags is the largest number of distinct tags a Handler makes from
	// the attributes of one record (those added by WithAttrs included).
	// Attributes with new keys beyond it are dropped, and the number
	// dropped is written into the tag DroppedAttrsTag, which is the only
	// tag beyond MaxTags. An attribute whose key is already present
	// replaces the earlier value and is never dropped.
	MaxTags = 32

	// MaxKeyLength is the largest length in bytes of a tag name. Longer
	// names, including the dotted group prefix, are truncated (see
	// MaxValueLength for the rule). Two keys that are equal after
	// truncation are one tag: the later attribute wins.
	MaxKeyLength = 128

	// MaxValueLength is the largest length in bytes of a tag value.
	// Longer values are truncated: bytes that are not valid UTF-8 are
	// first replaced by U+FFFD (each invalid byte by one U+FFFD), then
	// whole characters are kept from the start while they fit, so a tag
	// is always valid UTF-8 and never ends in a cut character. No marker
	// is appended.
	MaxValueLength = 1024

	// DroppedAttrsTag names the tag holding the number of attributes
	// dropped because a record had more than MaxTags distinct keys
	// (decimal). It is absent when nothing was dropped; it then replaces
	// an attribute of the same name.
	DroppedAttrsTag = "slog_dropped_attrs"
)

// tag is one envelope tag.
type tag struct{ key, value string }

// tagSet collects the tags of a record in insertion order, within the
// limits.
type tagSet struct {
	tags    []tag
	dropped int
}

// clone returns a copy of s with room for n more tags.
func (s *tagSet) clone(n int) tagSet {
	c := tagSet{dropped: s.dropped}
	if len(s.tags) > 0 || n > 0 {
		c.tags = make([]tag, len(s.tags), len(s.tags)+min(n, MaxTags))
		copy(c.tags, s.tags)
	}
	return c
}

// set writes key = value. key and value are already clipped.
func (s *tagSet) set(key, value string) {
	for i := range s.tags {
		if s.tags[i].key == key {
			s.tags[i].value = value
			return
		}
	}
	if len(s.tags) >= MaxTags {
		s.dropped++
		return
	}
	s.tags = append(s.tags, tag{key, value})
}

// addAttr adds a, resolved, under the dotted group prefix (either empty or
// ending in "."), following the slog.Handler rules: an attribute with an
// empty key and no value is ignored, an empty group is ignored, a group
// with an empty key is inlined. A non-group attribute with an empty key
// has no tag name and is ignored too.
func (s *tagSet) addAttr(prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if len(attrs) == 0 {
			return
		}
		if a.Key != "" {
			prefix = groupPrefix(prefix, a.Key)
		}
		for _, ga := range attrs {
			s.addAttr(prefix, ga)
		}
		return
	}
	if a.Key == "" {
		return
	}
	s.set(clip(prefix+a.Key, MaxKeyLength), clip(formatValue(a.Value), MaxValueLength))
}

// groupPrefix returns the prefix for attributes in group name within
// prefix. It is kept within MaxKeyLength+1 bytes, since no key may be
// longer than MaxKeyLength anyway.
func groupPrefix(prefix, name string) string {
	if len(prefix) > MaxKeyLength {
		return prefix
	}
	return clip(prefix+name+".", MaxKeyLength+1)
}

// formatValue writes a resolved, non-group value as text.
func formatValue(v slog.Value) string {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case slog.KindUint64:
		return strconv.FormatUint(v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.FormatFloat(v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.FormatBool(v.Bool())
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	default:
		// fmt.Sprint: an error gives its Error text, a fmt.Stringer its
		// String text, and fmt recovers from such methods panicking.
		return v.String()
	}
}

// clip returns s as valid UTF-8 of at most max bytes: invalid bytes
// become U+FFFD, then whole characters are kept while they fit. It
// allocates only when s is invalid or too long.
func clip(s string, max int) string {
	if len(s) <= max && utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if len(b)+utf8.RuneLen(r) > max {
			break
		}
		b = utf8.AppendRune(b, r)
		i += size
	}
	return string(b)
}
