package rfc5424

import (
	"bytes"
	"strconv"
	"time"
)

// UnmarshalBinary parses one RFC 5424 message (without framing) into m,
// replacing its contents; on error m is left unchanged. It reads what
// MarshalBinary writes and is lenient where that costs nothing:
//
//   - PRI is any decimal integer (it is not range-checked, as on writing);
//     the version must be 1.
//   - TIMESTAMP is RFC 3339 with any number of fractional digits; a "Z"
//     form sets UseUTC and a numeric offset keeps its location; "-" leaves
//     the zero time.
//   - HOSTNAME, APP-NAME, PROCID and MSGID are any non-empty run of bytes
//     other than space; "-" reads as empty. Lengths are not checked.
//   - STRUCTURED-DATA is "-" or elements [ID name="value" ...]; the escapes
//     \" \\ \] are undone and a backslash before any other byte is kept.
//   - MSG is everything after the space that follows STRUCTURED-DATA,
//     copied; no MSG leaves Message nil.
//
// Errors are of type ErrBadFormat, with the Property documented there.
func (m *Message) UnmarshalBinary(inputBuffer []byte) error {
	return m.unmarshal(inputBuffer, true)
}

// unmarshal parses in into m; MSG is copied when copyMsg is set, else it
// refers to in.
func (m *Message) unmarshal(in []byte, copyMsg bool) error {
	p := parser{in: in}
	var out Message
	var err error
	if out.Priority, err = p.priority(); err != nil {
		return err
	}
	if err = p.version(); err != nil {
		return err
	}
	if out.Timestamp, out.UseUTC, err = p.timestamp(); err != nil {
		return err
	}
	if out.Hostname, err = p.headerField("Hostname"); err != nil {
		return err
	}
	if out.AppName, err = p.headerField("AppName"); err != nil {
		return err
	}
	if out.ProcessID, err = p.headerField("ProcessID"); err != nil {
		return err
	}
	if out.MessageID, err = p.headerField("MessageID"); err != nil {
		return err
	}
	if out.StructuredData, err = p.structuredData(); err != nil {
		return err
	}
	if out.Message, err = p.msg(); err != nil {
		return err
	}
	if copyMsg && out.Message != nil {
		out.Message = bytes.Clone(out.Message)
	}
	*m = out
	return nil
}

// parser walks the input of UnmarshalBinary.
type parser struct {
	in  []byte
	pos int
}

func bad(property string) error { return ErrBadFormat{Property: property} }

// token returns the bytes up to the next space and consumes that space.
func (p *parser) token(property string) ([]byte, error) {
	rest := p.in[p.pos:]
	i := bytes.IndexByte(rest, ' ')
	if i < 0 {
		return nil, bad("expected space")
	}
	if i == 0 {
		return nil, bad(property)
	}
	p.pos += i + 1
	return rest[:i], nil
}

// priority reads "<N>".
func (p *parser) priority() (Priority, error) {
	rest := p.in[p.pos:]
	if len(rest) < 3 || rest[0] != '<' {
		return 0, bad("Priority")
	}
	end := bytes.IndexByte(rest, '>')
	if end < 2 || end > 21 {
		return 0, bad("Priority")
	}
	digits := rest[1:end]
	if digits[0] == '+' {
		return 0, bad("Priority")
	}
	n, err := strconv.ParseInt(string(digits), 10, strconv.IntSize)
	if err != nil {
		return 0, bad("Priority")
	}
	p.pos += end + 1
	return Priority(n), nil
}

// version reads "1 ".
func (p *parser) version() error {
	rest := p.in[p.pos:]
	if len(rest) == 0 || rest[0] != '1' || (len(rest) > 1 && rest[1] != ' ' && rest[1] >= '0' && rest[1] <= '9') {
		return bad("Version")
	}
	if len(rest) == 1 || rest[1] != ' ' {
		return bad("expected space")
	}
	p.pos += 2
	return nil
}

// timestamp reads the TIMESTAMP field.
func (p *parser) timestamp() (time.Time, bool, error) {
	tok, err := p.token("Timestamp")
	if err != nil {
		return time.Time{}, false, err
	}
	if len(tok) == 1 && tok[0] == '-' {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(tok))
	if err != nil {
		return time.Time{}, false, bad("Timestamp")
	}
	last := tok[len(tok)-1]
	return t, last == 'Z' || last == 'z', nil
}

// headerField reads HOSTNAME, APP-NAME, PROCID or MSGID.
func (p *parser) headerField(property string) (string, error) {
	tok, err := p.token(property)
	if err != nil {
		return "", err
	}
	if len(tok) == 1 && tok[0] == '-' {
		return "", nil
	}
	return string(tok), nil
}

// structuredData reads "-" or a run of SD-ELEMENTs.
func (p *parser) structuredData() ([]StructuredData, error) {
	if p.pos >= len(p.in) {
		return nil, bad("StructuredData")
	}
	switch p.in[p.pos] {
	case '-':
		p.pos++
		return nil, nil
	case '[':
	default:
		return nil, bad("StructuredData")
	}
	var out []StructuredData
	for p.pos < len(p.in) && p.in[p.pos] == '[' {
		p.pos++
		sd, err := p.element()
		if err != nil {
			return nil, err
		}
		out = append(out, sd)
	}
	return out, nil
}

// sdName reads an SD-ID or PARAM-NAME: bytes in 33–126 other than '=',
// ']' and '"'.
func (p *parser) sdName() string {
	start := p.pos
	for p.pos < len(p.in) {
		if !sdNameByte[p.in[p.pos]] {
			break
		}
		p.pos++
	}
	return string(p.in[start:p.pos])
}

// element reads an SD-ELEMENT after its '['.
func (p *parser) element() (StructuredData, error) {
	var sd StructuredData
	if sd.ID = p.sdName(); sd.ID == "" {
		return sd, bad("StructuredData[]")
	}
	for {
		if p.pos >= len(p.in) {
			return sd, bad("StructuredData[].Parameters")
		}
		switch p.in[p.pos] {
		case ']':
			p.pos++
			return sd, nil
		case ' ':
			p.pos++
			param, err := p.param()
			if err != nil {
				return sd, err
			}
			sd.Parameters = append(sd.Parameters, param)
		default:
			return sd, bad("StructuredData[].Parameters")
		}
	}
}

// param reads name="value" with escapes undone.
func (p *parser) param() (SDParam, error) {
	var sp SDParam
	if sp.Name = p.sdName(); sp.Name == "" {
		return sp, bad("StructuredData[].Parameters[]")
	}
	if p.pos+1 >= len(p.in) || p.in[p.pos] != '=' || p.in[p.pos+1] != '"' {
		return sp, bad("StructuredData[].Parameters[]")
	}
	p.pos += 2
	start := p.pos
	var buf []byte // only when an escape is met
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == '"':
			if buf == nil {
				sp.Value = string(p.in[start:p.pos])
			} else {
				sp.Value = string(append(buf, p.in[start:p.pos]...))
			}
			p.pos++
			return sp, nil
		case c == '\\' && p.pos+1 < len(p.in):
			switch e := p.in[p.pos+1]; e {
			case '"', '\\', ']':
				buf = append(buf, p.in[start:p.pos]...)
				buf = append(buf, e)
				p.pos += 2
				start = p.pos
				continue
			}
		}
		p.pos++
	}
	return sp, bad("StructuredData[].Parameters[]")
}

// msg reads the optional " MSG".
func (p *parser) msg() ([]byte, error) {
	if p.pos == len(p.in) {
		return nil, nil
	}
	if p.in[p.pos] != ' ' {
		return nil, bad("expected space")
	}
	rest := p.in[p.pos+1:]
	p.pos = len(p.in)
	if len(rest) == 0 {
		return nil, nil
	}
	return rest[:len(rest):len(rest)], nil
}
