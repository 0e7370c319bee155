package devserver

import (
	"net/http"
	"strings"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/gateway"
	"code.cloudfoundry.org/go-loggregator/internal/gatewayjson"
	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Gateway framing limits: envelopes are taken from the subscription in
// chunks of at most gatewayMaxTake, and a data frame is closed once its
// JSON exceeds gatewayFrameBytes.
const (
	gatewayMaxTake    = 1000
	gatewayFrameBytes = 64 << 10
)

// ServeHTTP serves GET /v2/read like the RLP gateway.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != gateway.Path {
		http.NotFound(w, r)
		return
	}
	if s.cfg.GatewayToken != "" {
		tok := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "bearer"))
		if tok != s.cfg.GatewayToken {
			gateway.WriteError(w, gateway.ErrNotFound)
			return
		}
	}
	req, gerr := gateway.ParseRequest(r)
	if gerr != nil {
		gateway.WriteError(w, *gerr)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		gateway.WriteError(w, gateway.ErrStreamingUnsupported)
		return
	}
	sub, err := s.router.Subscribe(req, s.cfg.BufferSize)
	if err != nil {
		gateway.WriteError(w, gateway.ErrStreamingUnavailable)
		return
	}
	defer sub.Close()
	s.logf("gateway: subscriber %d connected (%s)", sub.ID(), r.URL.RawQuery)
	defer func() {
		s.logf("gateway: subscriber %d left (%d received, %d dropped)", sub.ID(), sub.Accepted(), sub.Dropped())
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	heartbeat := time.NewTimer(s.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	closing := time.NewTimer(s.cfg.StreamTimeout)
	defer closing.Stop()

	ctx := r.Context()
	var (
		envs []*loggregator_v2.Envelope
		out  []byte
	)
	for {
		var ok bool
		envs, ok, err = sub.TryNext(envs, gatewayMaxTake)
		if err != nil {
			return
		}
		if ok {
			out = appendFrames(out[:0], envs)
			if _, err := w.Write(out); err != nil {
				return
			}
			flusher.Flush()
			heartbeat.Reset(s.cfg.HeartbeatInterval)
			continue
		}
		select {
		case <-sub.Ready():
		case <-sub.Done():
			return
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			out = gateway.AppendHeartbeat(out[:0], time.Now())
			if _, err := w.Write(out); err != nil {
				return
			}
			flusher.Flush()
			heartbeat.Reset(s.cfg.HeartbeatInterval)
		case <-closing.C:
			_, _ = w.Write(gateway.AppendClosing(out[:0]))
			flusher.Flush()
			return
		}
	}
}

// appendFrames writes envs as one or more SSE data frames, starting a new
// frame whenever the current one exceeds gatewayFrameBytes.
func appendFrames(b []byte, envs []*loggregator_v2.Envelope) []byte {
	for start := 0; start < len(envs); {
		b = append(b, `data: {"batch":[`...)
		frameStart := len(b)
		i := start
		for ; i < len(envs); i++ {
			if i > start {
				if len(b)-frameStart >= gatewayFrameBytes {
					break
				}
				b = append(b, ',')
			}
			b = gatewayjson.AppendEnvelope(b, router.ConvertTags(envs[i], true))
		}
		b = append(b, "]}\n\n"...)
		start = i
	}
	return b
}
