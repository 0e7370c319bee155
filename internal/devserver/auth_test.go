package devserver_test

import (
	"net/http"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
)

// TestGatewayTokenHeaderForms sends each form of the Authorization header
// to a gateway configured with the token s3cret: the bearer scheme in any
// case followed by a space and the token streams (200); a bare token, a
// missing space, another scheme or a wrong token gets 404 not_found.
func TestGatewayTokenHeaderForms(t *testing.T) {
	s := startServer(t, func(c *devserver.Config) { c.GatewayToken = "s3cret" })
	tests := []struct {
		name   string
		header []string // nil: no Authorization header
		status int
	}{
		{"lowercase bearer", []string{"bearer s3cret"}, http.StatusOK},
		{"standard Bearer", []string{"Bearer s3cret"}, http.StatusOK},
		{"upper case BEARER", []string{"BEARER s3cret"}, http.StatusOK},
		{"two spaces", []string{"Bearer  s3cret"}, http.StatusOK},
		{"trailing space", []string{"Bearer s3cret "}, http.StatusOK},
		{"bare token", []string{"s3cret"}, http.StatusNotFound},
		{"no space", []string{"bearers3cret"}, http.StatusNotFound},
		{"no space capitalised", []string{"Bearers3cret"}, http.StatusNotFound},
		{"wrong token", []string{"Bearer s3creT"}, http.StatusNotFound},
		{"token prefix", []string{"Bearer s3cre"}, http.StatusNotFound},
		{"basic scheme", []string{"Basic s3cret"}, http.StatusNotFound},
		{"scheme only", []string{"Bearer"}, http.StatusNotFound},
		{"empty header", []string{""}, http.StatusNotFound},
		{"no header", nil, http.StatusNotFound},
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t, 5*time.Second)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Addrs().GatewayURL+"/v2/read?log", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != nil {
				req.Header["Authorization"] = tt.header
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("Authorization %q: status %d, want %d", tt.header, resp.StatusCode, tt.status)
			}
		})
	}
}
