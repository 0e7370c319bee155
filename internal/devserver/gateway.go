package devserver

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/gateway"
	"code.cloudfoundry.org/go-loggregator/internal/gatewayjson"
	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Gateway framing limits: envelopes are taken from the subscription in
// chunks of at most gatewayMaxTake envelopes and gatewayTakeBytes (by
// router.Size, at least one envelope), and a data frame is closed once its
// JSON exceeds gatewayFrameBytes. A frame buffer grown beyond
// gatewayKeepBytes by a large envelope is released after its write.
const (
	gatewayMaxTake    = 1000
	gatewayTakeBytes  = 256 << 10
	gatewayFrameBytes = 64 << 10
	gatewayKeepBytes  = 1 << 20
)

// ServeHTTP serves GET /v2/read like the RLP gateway.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != gateway.Path {
		http.NotFound(w, r)
		return
	}
	if s.cfg.GatewayToken != "" && !gateway.CheckBearer(r.Header.Get("Authorization"), s.cfg.GatewayToken) {
		gateway.WriteError(w, gateway.ErrNotFound)
		return
	}
	req, gerr := gateway.ParseRequest(r)
	if gerr != nil {
		gateway.WriteError(w, *gerr)
		return
	}
	if _, ok := w.(http.Flusher); !ok {
		gateway.WriteError(w, gateway.ErrStreamingUnsupported)
		return
	}
	sub, err := s.subscribe(req)
	if err != nil {
		gateway.WriteError(w, gateway.ErrStreamingUnavailable)
		return
	}
	defer sub.Close()
	s.logf("gateway: subscriber %d connected (%s)", sub.ID(), r.URL.RawQuery)
	var end string
	defer func() {
		s.logf("gateway: subscriber %d left%s (%d received, %d dropped)", sub.ID(), end, sub.Accepted(), sub.Dropped())
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	out := &gatewayWriter{w: w, rc: http.NewResponseController(w), timeout: s.cfg.GatewayWriteTimeout}
	if err := out.flush(); err != nil {
		end = s.gatewayWriteFailed(err)
		return
	}

	heartbeat := time.NewTimer(s.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	closing := time.NewTimer(s.cfg.StreamTimeout)
	defer closing.Stop()

	ctx := r.Context()
	var envs []*loggregator_v2.Envelope
	for {
		var ok bool
		envs, ok, err = sub.TryNextBytes(envs, gatewayMaxTake, gatewayTakeBytes)
		if err != nil {
			return
		}
		if ok {
			out.buf = appendFrames(out.buf[:0], envs)
			clear(envs)
			if err := out.flush(); err != nil {
				end = s.gatewayWriteFailed(err)
				return
			}
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
			out.buf = gateway.AppendHeartbeat(out.buf[:0], time.Now())
			if err := out.flush(); err != nil {
				end = s.gatewayWriteFailed(err)
				return
			}
			heartbeat.Reset(s.cfg.HeartbeatInterval)
		case <-closing.C:
			out.buf = gateway.AppendClosing(out.buf[:0])
			if err := out.flush(); err != nil {
				end = s.gatewayWriteFailed(err)
			}
			return
		}
	}
}

// gatewayWriter writes and flushes a response's frames, each write under
// its own deadline.
type gatewayWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration // negative: no deadline
	buf     []byte
}

// flush writes buf (possibly empty) and flushes it to the client within
// the write timeout.
func (g *gatewayWriter) flush() error {
	if g.timeout > 0 {
		// ErrNotSupported (a ResponseWriter without deadlines) leaves the
		// write unbounded, as before.
		_ = g.rc.SetWriteDeadline(time.Now().Add(g.timeout))
	}
	if len(g.buf) > 0 {
		if _, err := g.w.Write(g.buf); err != nil {
			return err
		}
	}
	err := g.rc.Flush()
	if cap(g.buf) > gatewayKeepBytes {
		g.buf = nil
	}
	return err
}

// gatewayWriteFailed counts a write that missed its deadline and returns
// the reason for the log line.
func (s *Server) gatewayWriteFailed(err error) string {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		s.gatewayWriteTimeouts.Add(1)
		return fmt.Sprintf(": a write took over %s, dropped as a dead reader", s.cfg.GatewayWriteTimeout)
	}
	return ""
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
