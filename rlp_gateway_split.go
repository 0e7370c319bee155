package loggregator

import (
	"bytes"
	"errors"
)

// errNotPlainBatch is returned by batchParts for a large event whose top
// level is not a plain {"batch":[...]} object (for example a key written
// with escapes). Such events are skipped rather than decoded whole.
var errNotPlainBatch = errors.New("large event is not a plain JSON envelope batch")

// errMalformedJSON is returned by batchParts when the JSON ends early or
// has a structural error.
var errMalformedJSON = errors.New("malformed JSON")

// batchParts walks the elements of the "batch" array of a JSON
// EnvelopeBatch without decoding them, so that a large event can be
// decoded a part at a time and handed to the caller before the next part
// is decoded. Members of the top-level object other than "batch" are
// skipped, as unknown fields are; the elements themselves are checked by
// the decoder of each part.
type batchParts struct {
	data  []byte
	i     int  // position after '[' or after the ',' of the last element
	comma bool // the last element was followed by a comma
	done  bool
}

// newBatchParts finds the batch array of data. An object without a batch
// member has no parts.
func newBatchParts(data []byte) (*batchParts, error) {
	p := &batchParts{data: data}
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return nil, errMalformedJSON
	}
	i++
	for {
		i = skipSpace(data, i)
		if i == len(data) {
			return nil, errMalformedJSON
		}
		if data[i] == '}' {
			p.done = true
			return p, nil
		}
		if data[i] != '"' {
			return nil, errMalformedJSON
		}
		end, ok := skipString(data, i)
		if !ok {
			return nil, errMalformedJSON
		}
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return nil, errNotPlainBatch
		}
		i = skipSpace(data, end)
		if i == len(data) || data[i] != ':' {
			return nil, errMalformedJSON
		}
		i = skipSpace(data, i+1)
		if string(key) == "batch" {
			if bytes.HasPrefix(data[i:], []byte("null")) {
				// No envelopes (protojson reads null as the default).
				p.done = true
				return p, nil
			}
			if i == len(data) || data[i] != '[' {
				return nil, errNotPlainBatch
			}
			p.i = i + 1
			return p, nil
		}
		if i, ok = skipValue(data, i); !ok {
			return nil, errMalformedJSON
		}
		i = skipSpace(data, i)
		if i == len(data) {
			return nil, errMalformedJSON
		}
		switch data[i] {
		case ',':
			i++
		case '}':
		default:
			return nil, errMalformedJSON
		}
	}
}

// next returns the raw bytes of the next elements (with the commas
// between them), at most maxN elements and, beyond the first element, at
// most maxBytes bytes. It returns n == 0 once the array is exhausted.
func (p *batchParts) next(maxN, maxBytes int) (raw []byte, n int, err error) {
	if p.done {
		return nil, 0, nil
	}
	d := p.data
	start := skipSpace(d, p.i)
	if start < len(d) && d[start] == ']' {
		p.done = true
		if p.comma {
			return nil, 0, errMalformedJSON
		}
		return nil, 0, nil
	}
	i := start
	for n < maxN {
		end, ok := skipValue(d, skipSpace(d, i))
		if !ok {
			p.done = true
			return nil, 0, errMalformedJSON
		}
		n++
		i = skipSpace(d, end)
		if i == len(d) {
			p.done = true
			return nil, 0, errMalformedJSON
		}
		switch d[i] {
		case ',':
			raw = d[start:end]
			i++
			p.i = i
			p.comma = true
			if end-start >= maxBytes {
				return raw, n, nil
			}
		case ']':
			p.done = true
			return d[start:end], n, nil
		default:
			p.done = true
			return nil, 0, errMalformedJSON
		}
	}
	return raw, n, nil
}

// skipSpace returns the position of the first non-whitespace byte at or
// after i.
func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the position after the string starting with the
// quote at i.
func skipString(d []byte, i int) (int, bool) {
	j := i + 1
	for {
		k := bytes.IndexByte(d[j:], '"')
		if k < 0 {
			return 0, false
		}
		j += k
		// The quote is escaped when an odd number of backslashes precede it.
		bs := 0
		for b := j - 1; b > i && d[b] == '\\'; b-- {
			bs++
		}
		j++
		if bs%2 == 0 {
			return j, true
		}
	}
}

// skipValue returns the position after the JSON value starting at i. It
// checks only what it needs to find the end: matching nesting depth and
// string boundaries.
func skipValue(d []byte, i int) (int, bool) {
	if i >= len(d) {
		return 0, false
	}
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				end, ok := skipString(d, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	default:
		j := i
		for j < len(d) {
			switch d[j] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return j, j > i
			}
			j++
		}
		return j, j > i
	}
}
