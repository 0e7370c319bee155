package testhelpers_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

func startGateway(t *testing.T, opts ...testhelpers.GatewayServerOption) (*testhelpers.GatewayServer, *http.Client) {
	t.Helper()
	srv, err := testhelpers.NewGatewayServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c := srv.HTTPClient()
	t.Cleanup(c.CloseIdleConnections)
	return srv, c
}

func gatewayGet(ctx context.Context, t *testing.T, c *http.Client, method, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestGatewayServerErrors(t *testing.T) {
	tests := []struct {
		name, method, path string
		status             int
		setStatus          int
		auth               string
		body               string
	}{
		{"empty query", "GET", "/v2/read", 400, 0, "bearer tok", `{"message":"query cannot be empty","error":"empty_query"}` + "\n\n"},
		{"no type", "GET", "/v2/read?source_id=a", 400, 0, "bearer tok", `{"message":"query must provide at least one envelope type","error":"missing_envelope_type"}` + "\n\n"},
		{"bad token", "GET", "/v2/read?log", 404, 0, "bearer nope", `{"message":"resource not found","error":"not_found"}` + "\n\n"},
		{"no token", "GET", "/v2/read?log", 404, 0, "", `{"message":"resource not found","error":"not_found"}` + "\n\n"},
		{"post", "POST", "/v2/read?log", 405, 0, "bearer tok", `{"message":"method not allowed","error":"method_not_allowed"}` + "\n\n"},
		{"set 503", "GET", "/v2/read?log", 503, 503, "bearer tok", `{"message":"streaming is temporarily unavailable","error":"streaming_unavailable"}` + "\n\n"},
		{"other path", "GET", "/v1/read", 404, 0, "bearer tok", "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			certs := testhelpers.NewCerts(t)
			srv, c := startGateway(t, testhelpers.WithGatewayToken("tok"), testhelpers.WithGatewayTLS(certs))
			srv.SetStatus(tt.setStatus)
			resp := gatewayGet(ctx, t, c, tt.method, srv.URL()+tt.path, map[string]string{"Authorization": tt.auth})
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.path != "/v1/read" && (resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("X-Content-Type-Options") != "nosniff") {
				t.Fatalf("headers %v", resp.Header)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Fatalf("%d requests recorded", n)
			}
		})
	}
}

func TestGatewayServerStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, c := startGateway(t, testhelpers.WithGatewayHeartbeat(50*time.Millisecond), testhelpers.WithGatewayStreamTimeout(300*time.Millisecond))
	if err := srv.Send(&loggregator_v2.Envelope{SourceId: "a", Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{}}}); err != nil {
		t.Fatal(err)
	}
	resp := gatewayGet(ctx, t, c, "GET", srv.URL()+"/v2/read?log", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	all := strings.Join(lines, "\n")
	wantData := `data: {"batch":[{"timestamp":"0","source_id":"a","instance_id":"","deprecated_tags":{},"tags":{},"log":{"payload":"","type":"OUT"}}]}`
	if strings.ReplaceAll(lines[0], " ", "") != strings.ReplaceAll(wantData, " ", "") || lines[1] != "" {
		t.Fatalf("first frame %q", lines[:2])
	}
	if !strings.Contains(all, "event: heartbeat\ndata: ") {
		t.Fatalf("no heartbeat in %q", all)
	}
	if !strings.HasSuffix(all, "event: closing\ndata: closing due to stream timeout\n") {
		t.Fatalf("no closing at the end of %q", all)
	}
	if got := srv.Requests()[0].Request; len(got.GetSelectors()) != 1 || !got.GetUsePreferredTags() {
		t.Fatalf("parsed request %v", got)
	}
}

func TestGatewayServerDropClosingRestart(t *testing.T) {
	tests := []struct {
		name    string
		act     func(*testhelpers.GatewayServer) error
		wantEnd string
	}{
		{"drop", func(s *testhelpers.GatewayServer) error { s.DropConnections(); return nil }, "unexpected EOF"},
		{"end", func(s *testhelpers.GatewayServer) error { s.EndStreams(); return nil }, "EOF"},
		{"closing", func(s *testhelpers.GatewayServer) error { s.SendClosing(); return nil }, "closing"},
		{"restart", func(s *testhelpers.GatewayServer) error { return s.Restart() }, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv, c := startGateway(t)
			url := srv.URL()
			resp := gatewayGet(ctx, t, c, "GET", url+"/v2/read?log", nil)
			for srv.OpenStreams() == 0 {
				select {
				case <-ctx.Done():
					t.Fatal("the stream never opened")
				case <-time.After(time.Millisecond):
				}
			}
			if err := tt.act(srv); err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			end := "EOF"
			if err != nil {
				end = err.Error()
			}
			if strings.Contains(string(body), "event: closing") {
				end = "closing"
			}
			if !strings.HasSuffix(end, tt.wantEnd) {
				t.Fatalf("stream ended with %q (%q), want %q", end, body, tt.wantEnd)
			}
			// The server still serves on the same address.
			if srv.URL() != url {
				t.Fatalf("URL changed to %s", srv.URL())
			}
			srv.SetStatus(503)
			if r := gatewayGet(ctx, t, c, "GET", url+"/v2/read?log", nil); r.StatusCode != 503 {
				t.Fatalf("status %d", r.StatusCode)
			}
		})
	}
}

// TestGatewayServerTokenForms: the scheme is matched case-insensitively,
// a space must separate it from the token, and nothing else is accepted.
func TestGatewayServerTokenForms(t *testing.T) {
	tests := []struct {
		header string
		ok     bool
	}{
		{"bearer s3cret", true},
		{"Bearer s3cret", true},
		{"BEARER s3cret", true},
		{"bEaReR s3cret", true},
		{"bearer   s3cret  ", true},
		{"  bearer s3cret", true},
		{"s3cret", false},
		{"bearers3cret", false},
		{"Bearers3cret", false},
		{"bearer", false},
		{"bearer ", false},
		{"", false},
		{"bearer s3cre", false},
		{"bearer s3cret2", false},
		{"bearer S3CRET", false},
		{"basic s3cret", false},
		{"bearer\ts3cret", false},
		{"token s3cret", false},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, c := startGateway(t, testhelpers.WithGatewayToken("s3cret"), testhelpers.WithGatewayHeartbeat(-1))
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			rctx, rcancel := context.WithCancel(ctx)
			defer rcancel()
			hdr := map[string]string{}
			if tt.header != "" {
				hdr["Authorization"] = tt.header
			}
			resp := gatewayGet(rctx, t, c, "GET", srv.URL()+"/v2/read?log", hdr)
			want := http.StatusNotFound
			if tt.ok {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Fatalf("Authorization %q: status %d, want %d", tt.header, resp.StatusCode, want)
			}
		})
	}
}

// TestGatewayServerStopStart: while stopped the server refuses
// connections; started again it serves on the same address and still
// holds the frames queued meanwhile.
func TestGatewayServerStopStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, c := startGateway(t)
	url := srv.URL()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/v2/read?log", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("stopped server answered %d", resp.StatusCode)
	}
	if err := srv.Send(&loggregator_v2.Envelope{SourceId: "queued", Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{}}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if srv.URL() != url {
		t.Fatalf("URL changed from %s to %s", url, srv.URL())
	}
	resp := gatewayGet(ctx, t, c, "GET", url+"/v2/read?log", nil)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"source_id":"queued"`) {
		t.Fatalf("first line %q, err %v", line, err)
	}
	srv.Close()
	if err := srv.Start(); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}
