package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// BearerScheme is the authorization scheme CheckBearer accepts, in any
// letter case.
const BearerScheme = "bearer"

// CheckBearer reports whether an Authorization header value carries token
// with the bearer scheme: the scheme in any letter case ("bearer",
// "Bearer", "BEARER"), at least one space, then exactly token (RFC 7235
// credentials; net/http has already trimmed the value's outer white
// space). A bare token, a missing space ("bearers3cret"), another scheme
// or an empty token is refused; an empty configured token refuses
// everything.
//
// The comparison takes the same time whatever the header holds: both sides
// are hashed with SHA-256 and the digests compared with
// crypto/subtle.ConstantTimeCompare, so neither the position of the first
// wrong byte nor the token's length leaks through timing.
//
// The real gateway only strips a lowercase "bearer" before asking UAA
// (rlp-gateway-http.md); the dev server is stricter about the form and
// lenient about the case, as RFC 7235 says schemes are case-insensitive.
func CheckBearer(header, token string) bool {
	scheme, rest, ok := strings.Cut(header, " ")
	schemeOK := ok && strings.EqualFold(scheme, BearerScheme)
	got := strings.TrimLeft(rest, " ")
	gotSum := sha256.Sum256([]byte(got))
	wantSum := sha256.Sum256([]byte(token))
	same := subtle.ConstantTimeCompare(gotSum[:], wantSum[:]) == 1
	return schemeOK && same && token != ""
}
