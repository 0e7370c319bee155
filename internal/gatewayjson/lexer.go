// This file owns the lexer: whitespace, punctuation and literals, member
// names, skipping unknown values, string scanning with the word-at-a-time
// (SWAR) search, unescaping, and number tokens. It interprets no values.

package gatewayjson

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// maxSkipDepth bounds the nesting of skipped unknown values; deeper input
// goes to protojson (whose own limit is 10000).
const maxSkipDepth = 1000

// ws skips JSON whitespace.
func (d *decoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return
	}
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// lit consumes c after optional whitespace.
func (d *decoder) lit(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// delimited reports whether position i may end a literal or number.
func (d *decoder) delimited(i int) bool {
	if i >= len(d.b) {
		return true
	}
	switch d.b[i] {
	case ' ', '\t', '\n', '\r', ',', '}', ']':
		return true
	}
	return false
}

// null consumes a JSON null value if one is next.
func (d *decoder) null() bool {
	d.ws()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" && d.delimited(d.i+4) {
		d.i += 4
		return true
	}
	return false
}

// member advances to the next member name of an object whose '{' was
// consumed. more is false after the closing '}'.
func (d *decoder) member(first bool) (more, ok bool) {
	d.ws()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case '}':
		d.i++
		return false, true
	case ',':
		if first {
			return false, false
		}
		d.i++
	default:
		if !first {
			return false, false
		}
	}
	return true, true
}

// key reads the next member name and the ':' after it. The returned bytes
// are valid until the next string is unescaped.
func (d *decoder) key(first bool) (key []byte, more, ok bool) {
	if more, ok = d.member(first); !more || !ok {
		return nil, more, ok
	}
	if key, _, ok = d.str(); !ok || !d.lit(':') {
		return nil, false, false
	}
	return key, true, true
}

// mapKey is key returning a string for use as a map key.
func (d *decoder) mapKey(first bool) (k string, more, ok bool) {
	if more, ok = d.member(first); !more || !ok {
		return "", more, ok
	}
	if k, ok = d.stringVal(); !ok || !d.lit(':') {
		return "", false, false
	}
	return k, true, true
}

// skipUnknown skips the value of an unknown field. Names in [brackets] are
// extension names to protojson; those go to protojson.
func (d *decoder) skipUnknown(key []byte) bool {
	if len(key) >= 2 && key[0] == '[' && key[len(key)-1] == ']' {
		return false
	}
	return d.skip(0)
}

// skip validates and skips any JSON value.
func (d *decoder) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case '"':
		_, _, ok := d.str()
		return ok
	case '{':
		d.i++
		for first := true; ; first = false {
			_, more, ok := d.key(first)
			if !ok {
				return false
			}
			if !more {
				return true
			}
			if !d.skip(depth + 1) {
				return false
			}
		}
	case '[':
		d.i++
		if d.ws(); d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			if d.i >= len(d.b) {
				return false
			}
			c := d.b[d.i]
			d.i++
			if c == ']' {
				return true
			}
			if c != ',' {
				return false
			}
		}
	case 't', 'f', 'n':
		for _, w := range [...]string{"true", "false", "null"} {
			if len(d.b)-d.i >= len(w) && string(d.b[d.i:d.i+len(w)]) == w && d.delimited(d.i+len(w)) {
				d.i += len(w)
				return true
			}
		}
		return false
	default:
		_, _, _, ok := d.num()
		return ok
	}
}

// str reads a JSON string and returns its contents: a slice of the input,
// or, if esc (it had escapes), the unescaped text in d.scratch, valid until
// the next string with escapes. UTF-8 and control characters are checked
// while scanning, escapes by unescape.
func (d *decoder) str() (s []byte, esc, ok bool) {
	d.ws()
	b := d.b
	i := d.i
	if i >= len(b) || b[i] != '"' {
		return nil, false, false
	}
	i++
	start := i
	nonASCII := false
	for {
		i = plainASCII(b, i)
		if i >= len(b) {
			return nil, false, false
		}
		switch c := b[i]; {
		case c == '"':
			if nonASCII && !utf8.Valid(b[start:i]) {
				return nil, false, false
			}
			d.i = i + 1
			if !esc {
				return b[start:i], false, true
			}
			if s, ok = d.unescape(b[start:i]); !ok {
				return nil, false, false
			}
			return s, true, true
		case c == '\\':
			esc = true
			i += 2
		case c < 0x20:
			return nil, false, false
		default:
			nonASCII = true
			i++
		}
	}
}

// plainASCII returns the index of the first byte at or after i in b that is
// a quote, a backslash, a control character or non-ASCII (len(b) if none),
// examining eight bytes at a time.
func plainASCII(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// The lowest flagged byte is exact (borrows only flag higher bytes).
		if m := (x-lo*0x20)&^x&hi | zero(x^(lo*'"')) | zero(x^(lo*'\\')) | x&hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return i
}

// SWAR constants: lo has 0x01 in every byte, hi has 0x80.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// zero has a high bit set in some byte iff a byte of x is zero. (Also used
// as (x-lo*n)&^x&hi: nonzero iff some byte of x is below n, for n <= 0x80.)
func zero(x uint64) uint64 { return (x - lo) &^ x & hi }

// unescape decodes the escapes in raw into d.scratch, accepting exactly what
// protojson accepts (a \u surrogate must be followed by its pair).
func (d *decoder) unescape(raw []byte) ([]byte, bool) {
	out := d.scratch[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(raw) {
			return nil, false
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				return nil, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if len(raw)-i < 6 || raw[i] != '\\' || raw[i+1] != 'u' {
					return nil, false
				}
				r2, ok := hex4(raw[i+2:])
				if !ok {
					return nil, false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, false
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	d.scratch = out
	return out, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// num reads a JSON number followed by a delimiter; isInt reports that it has
// no fraction or exponent.
func (d *decoder) num() (start, end int, isInt, ok bool) {
	d.ws()
	start = d.i
	n, isInt := numLen(d.b[start:])
	if n == 0 || !d.delimited(start+n) {
		return 0, 0, false, false
	}
	d.i = start + n
	return start, d.i, isInt, true
}

// numLen returns the length of the JSON number at the start of b, 0 if none.
func numLen(b []byte) (n int, isInt bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	isInt = true
	if i+1 < len(b) && b[i] == '.' && '0' <= b[i+1] && b[i+1] <= '9' {
		isInt = false
		i += 2
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		j := i + 1
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j < len(b) && '0' <= b[j] && b[j] <= '9' {
			isInt = false
			i = j
			for i < len(b) && '0' <= b[i] && b[i] <= '9' {
				i++
			}
		}
	}
	return i, isInt
}
