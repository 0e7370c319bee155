// This file owns value parsing: integers, doubles, strings and the enum
// from their tokens, base64 payloads, and the arenas strings and payloads
// are carved from.

package gatewayjson

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"

	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// arenaChunk is the size of the shared backing arrays for strings and
// payloads; values over a quarter of it get their own allocation.
const arenaChunk = 8 << 10

// intText returns the raw text of an integer given as a JSON number or a
// JSON string without escapes.
func (d *decoder) intText() ([]byte, bool) {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '"' {
		s, esc, ok := d.str()
		if !ok || esc {
			return nil, false
		}
		return s, true
	}
	start, end, isInt, ok := d.num()
	if !ok || !isInt {
		return nil, false
	}
	return d.b[start:end], true
}

// parseDigits parses -?(0|[1-9][0-9]*) into a sign and a magnitude below
// 2^64.
func parseDigits(b []byte) (neg bool, v uint64, ok bool) {
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 20 || (b[0] == '0' && len(b) > 1) {
		return false, 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' || v > math.MaxUint64/10 {
			return false, 0, false
		}
		x := v*10 + uint64(c-'0')
		if x < v*10 {
			return false, 0, false
		}
		v = x
	}
	return neg, v, true
}

// intDigits reads an integer given as a JSON number or a JSON string without
// escapes, as a sign and a magnitude below 2^64.
func (d *decoder) intDigits() (neg bool, v uint64, ok bool) {
	t, ok := d.intText()
	if !ok {
		return false, 0, false
	}
	return parseDigits(t)
}

// signedVal reads an integer that fits in a two's complement integer of
// size bits (at most 64).
func (d *decoder) signedVal(size uint) (int64, bool) {
	neg, v, ok := d.intDigits()
	switch limit := uint64(1) << (size - 1); {
	case !ok:
		return 0, false
	case neg && v <= limit:
		return int64(-v), true
	case !neg && v < limit:
		return int64(v), true
	}
	return 0, false
}

func (d *decoder) int64Val() (int64, bool) { return d.signedVal(64) }

func (d *decoder) uint64Val() (uint64, bool) {
	neg, v, ok := d.intDigits()
	if !ok || neg {
		return 0, false
	}
	return v, true
}

func (d *decoder) float64Val() (float64, bool) {
	d.ws()
	var text []byte
	if d.i < len(d.b) && d.b[d.i] == '"' {
		s, esc, ok := d.str()
		if !ok || esc {
			return 0, false
		}
		switch string(s) {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
		if n, _ := numLen(s); n == 0 || n != len(s) {
			return 0, false
		}
		text = s
	} else {
		s, e, _, ok := d.num()
		if !ok {
			return 0, false
		}
		text = d.b[s:e]
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// stringVal reads a JSON string value.
func (d *decoder) stringVal() (string, bool) { return d.stringValLike("") }

// stringValLike reads a JSON string value, returning like itself when the
// value equals it, saving a copy.
func (d *decoder) stringValLike(like string) (string, bool) {
	raw, _, ok := d.str()
	if !ok {
		return "", false
	}
	if string(raw) == like {
		return like, true
	}
	return d.save(raw), true
}

// save returns b as a string carved from the shared string arena; strings
// longer than a quarter chunk get their own allocation.
func (d *decoder) save(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case len(b) > arenaChunk/4:
		return string(b)
	case d.strs.Cap()-d.strs.Len() < len(b):
		d.strs = strings.Builder{}
		d.strs.Grow(arenaChunk)
	}
	n := d.strs.Len()
	d.strs.Write(b)
	return d.strs.String()[n:]
}

// logTypeVal reads the Log.Type enum as a name or a number. As in protojson
// with DiscardUnknown, an unknown name (even "1") leaves the default.
func (d *decoder) logTypeVal() (int32, bool) {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '"' {
		name, _, ok := d.str()
		if !ok {
			return 0, false
		}
		if string(name) == "ERR" {
			return int32(v2.Log_ERR), true
		}
		return int32(v2.Log_OUT), true
	}
	n, ok := d.signedVal(32)
	return int32(n), ok
}

// bytesVal decodes base64 as protojson does: URL alphabet if the text holds
// '-' or '_', unpadded if its length is not a multiple of 4. Payloads share
// backing arrays of arenaChunk bytes, each capped at its own length.
func (d *decoder) bytesVal() ([]byte, bool) {
	src, esc, ok := d.str()
	if !ok {
		return nil, false
	}
	need := base64.RawStdEncoding.DecodedLen(len(src)) // bound for all four
	var buf []byte
	if need > arenaChunk/4 {
		buf = make([]byte, need)
	} else {
		if cap(d.arena)-len(d.arena) < need {
			d.arena = make([]byte, 0, arenaChunk)
		}
		buf = d.arena[len(d.arena) : len(d.arena)+need]
	}
	n, ok := decodeBase64(buf, src, esc)
	if !ok {
		return nil, false
	}
	if need <= arenaChunk/4 {
		d.arena = d.arena[:len(d.arena)+n]
	}
	return buf[:n:n], true
}

// decodeBase64 decodes src into buf as protojson does: the URL alphabet if
// src holds '-' or '_', unpadded if its length is not a multiple of 4.
func decodeBase64(buf, src []byte, esc bool) (int, bool) {
	std := base64.StdEncoding
	if len(src)%4 != 0 {
		std = base64.RawStdEncoding
	}
	if !esc {
		// Raw JSON strings hold no \r or \n, and '-' or '_' make the
		// standard alphabet fail, so trying it first is exact.
		if n, err := std.Decode(buf, src); err == nil {
			return n, true
		}
	}
	url := false
	for _, c := range src {
		switch c {
		case '-', '_':
			url = true
		case '\r', '\n':
			return 0, false // skipped by encoding/base64: leave to protojson
		}
	}
	enc := std
	switch {
	case url && len(src)%4 != 0:
		enc = base64.RawURLEncoding
	case url:
		enc = base64.URLEncoding
	}
	n, err := enc.Decode(buf, src)
	return n, err == nil
}
