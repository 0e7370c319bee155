package conversion

import "github.com/cloudfoundry/sonde-go/events"

const hexDigits = "0123456789abcdef"

// zeroUUID is the text of an unset v1 UUID.
const zeroUUID = "00000000-0000-0000-0000-000000000000"

// uuidText renders a v1 UUID as lowercase 8-4-4-4-12 hex text. The sixteen
// bytes are the little-endian bytes of low followed by those of high. A nil
// UUID (or unset halves) counts as zero.
func uuidText(u *events.UUID) string {
	low, high := u.GetLow(), u.GetHigh()
	if low == 0 && high == 0 {
		return zeroUUID
	}
	var buf [36]byte
	pos := 0
	for i := range 16 {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf[pos] = '-'
			pos++
		}
		var b byte
		if i < 8 {
			b = byte(low >> (8 * i))
		} else {
			b = byte(high >> (8 * (i - 8)))
		}
		buf[pos] = hexDigits[b>>4]
		buf[pos+1] = hexDigits[b&0x0f]
		pos += 2
	}
	return string(buf[:])
}

// parseUUID reads the 36-character text form of a UUID. As in the original,
// the characters at offsets 8, 13, 18 and 23 are skipped without checking
// that they are dashes; the other 32 must be hex digits of either case.
// It reports false for anything else.
func parseUUID(s string) (low, high uint64, ok bool) {
	if len(s) != 36 {
		return 0, 0, false
	}
	n := 0 // index of the next byte (0..15)
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return 0, 0, false
		}
		b := uint64(hi<<4 | lo)
		if n < 8 {
			low |= b << (8 * n)
		} else {
			high |= b << (8 * (n - 8))
		}
		n++
		i += 2
	}
	return low, high, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
