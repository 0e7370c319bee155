package gateway

import "testing"

func TestCheckBearer(t *testing.T) {
	const token = "s3cret"
	tests := []struct {
		name, header string
		want         bool
	}{
		{"lowercase scheme", "bearer s3cret", true},
		{"standard capitalisation", "Bearer s3cret", true},
		{"upper case scheme", "BEARER s3cret", true},
		{"mixed case scheme", "bEaReR s3cret", true},
		{"several spaces", "Bearer   s3cret", true},
		{"bare token", "s3cret", false},
		{"no space", "bearers3cret", false},
		{"no space capitalised", "Bearers3cret", false},
		{"tab instead of space", "Bearer\ts3cret", false},
		{"wrong token", "Bearer s3creT", false},
		{"token prefix", "Bearer s3cre", false},
		{"token with suffix", "Bearer s3cretx", false},
		{"token then more", "Bearer s3cret extra", false},
		{"other scheme", "Basic s3cret", false},
		{"scheme only", "Bearer", false},
		{"scheme and space", "Bearer ", false},
		{"empty", "", false},
		{"scheme repeated", "bearer bearer s3cret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckBearer(tt.header, token); got != tt.want {
				t.Errorf("CheckBearer(%q, %q) = %v, want %v", tt.header, token, got, tt.want)
			}
		})
	}
	t.Run("empty configured token refuses", func(t *testing.T) {
		for _, h := range []string{"", "bearer ", "Bearer  "} {
			if CheckBearer(h, "") {
				t.Errorf("CheckBearer(%q, \"\") = true", h)
			}
		}
	})
}

func FuzzCheckBearer(f *testing.F) {
	for _, s := range []string{"bearer s3cret", "Bearer s3cret", "s3cret", "bearers3cret", ""} {
		f.Add(s, "s3cret")
	}
	f.Fuzz(func(t *testing.T, header, token string) {
		got := CheckBearer(header, token)
		scheme, rest, ok := cutScheme(header)
		want := token != "" && ok && equalFoldASCII(scheme, "bearer") && rest == token
		if got != want {
			t.Errorf("CheckBearer(%q, %q) = %v, want %v", header, token, got, want)
		}
	})
}

// cutScheme and equalFoldASCII restate the rule independently of the
// implementation: scheme, one or more spaces, credentials.
func cutScheme(h string) (string, string, bool) {
	i := 0
	for i < len(h) && h[i] != ' ' {
		i++
	}
	if i == len(h) {
		return "", "", false
	}
	j := i
	for j < len(h) && h[j] == ' ' {
		j++
	}
	return h[:i], h[j:], true
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
