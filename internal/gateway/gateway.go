// Package gateway holds the server side of the RLP gateway's HTTP API
// (rlp-gateway-http.md §3–§5), shared by testhelpers.GatewayServer and the
// loggregator dev command: the exact error answers, request validation,
// SSE frame encoding and the loop that writes frames with heartbeats and a
// stream timeout.
//
// Everything here is safe for concurrent use except a Stream, which belongs
// to the handler goroutine serving its request.
package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/rlpquery"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Path is the only path the gateway routes.
const Path = "/v2/read"

// Defaults of the real gateway.
const (
	// DefaultHeartbeatInterval is the silence after which a heartbeat
	// event is sent.
	DefaultHeartbeatInterval = 15 * time.Second
	// DefaultStreamTimeout is how long a stream lasts before the gateway
	// sends a closing event and ends the response.
	DefaultStreamTimeout = 14 * time.Minute
)

// Error is one of the gateway's error answers.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Name is the "error" member of the JSON body.
	Name string
	// Message is the "message" member of the JSON body.
	Message string
}

func (e Error) Error() string { return strconv.Itoa(e.Status) + " " + e.Name + ": " + e.Message }

// Body returns the exact response body: the JSON object followed by two
// newlines.
func (e Error) Body() string {
	return `{"message":` + strconv.Quote(e.Message) + `,"error":` + strconv.Quote(e.Name) + "}\n\n"
}

// The gateway's error answers (rlp-gateway-http.md §4).
var (
	ErrEmptyQuery           = Error{http.StatusBadRequest, rlpquery.ErrEmptyQuery.Name, rlpquery.ErrEmptyQuery.Message}
	ErrMissingEnvelopeType  = Error{http.StatusBadRequest, rlpquery.ErrMissingEnvelopeType.Name, rlpquery.ErrMissingEnvelopeType.Message}
	ErrNotFound             = Error{http.StatusNotFound, "not_found", "resource not found"}
	ErrMethodNotAllowed     = Error{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed"}
	ErrStreamingUnsupported = Error{http.StatusInternalServerError, "streaming_unsupported", "request does not support streaming"}
	ErrStreamingUnavailable = Error{http.StatusServiceUnavailable, "streaming_unavailable", "streaming is temporarily unavailable"}
)

// ErrorForStatus returns the gateway's answer for status, or, for a status
// the gateway never sends, an Error with the status text as message and
// "error" as name.
func ErrorForStatus(status int) Error {
	for _, e := range []Error{ErrEmptyQuery, ErrNotFound, ErrMethodNotAllowed, ErrStreamingUnsupported, ErrStreamingUnavailable} {
		if e.Status == status {
			return e
		}
	}
	return Error{Status: status, Name: "error", Message: http.StatusText(status)}
}

// WriteError writes e the way the gateway does (Go's http.Error): status,
// Content-Type text/plain; charset=utf-8, X-Content-Type-Options nosniff,
// and Body.
func WriteError(w http.ResponseWriter, e Error) {
	body := e.Body()
	// http.Error adds the final newline itself.
	http.Error(w, body[:len(body)-1], e.Status)
}

// ParseRequest checks a request the way the gateway's handler does after
// authorization: GET only, then the query (rlpquery.Parse). The path is not
// checked (route Path to the handler).
func ParseRequest(r *http.Request) (*loggregator_v2.EgressBatchRequest, *Error) {
	if r.Method != http.MethodGet {
		e := ErrMethodNotAllowed
		return nil, &e
	}
	req, err := rlpquery.Parse(r.URL.RawQuery)
	if err != nil {
		e := ErrMissingEnvelopeType
		if errors.Is(err, rlpquery.ErrEmptyQuery) {
			e = ErrEmptyQuery
		}
		return nil, &e
	}
	return req, nil
}

// ClosingData is the data of the closing event.
const ClosingData = "closing due to stream timeout"

// AppendData appends a data frame carrying batchJSON, which must be a
// single line (protojson output without Multiline is).
func AppendData(b, batchJSON []byte) []byte {
	b = append(b, "data: "...)
	b = append(b, batchJSON...)
	return append(b, "\n\n"...)
}

// AppendHeartbeat appends a heartbeat frame with t as Unix seconds.
func AppendHeartbeat(b []byte, t time.Time) []byte {
	b = append(b, "event: heartbeat\ndata: "...)
	b = strconv.AppendInt(b, t.Unix(), 10)
	return append(b, "\n\n"...)
}

// AppendClosing appends the closing frame.
func AppendClosing(b []byte) []byte {
	return append(b, "event: closing\ndata: "+ClosingData+"\n\n"...)
}

// Stream is an open event-stream response.
type Stream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// StartStream sends the success headers (Content-Type text/event-stream,
// Cache-Control no-cache, Connection keep-alive) and flushes them at once.
// When w cannot flush it answers ErrStreamingUnsupported and returns that
// error.
func StartStream(w http.ResponseWriter) (*Stream, error) {
	if _, ok := w.(http.Flusher); !ok {
		WriteError(w, ErrStreamingUnsupported)
		return nil, ErrStreamingUnsupported
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	s := &Stream{w: w, rc: http.NewResponseController(w)}
	return s, s.rc.Flush()
}

// Write writes frame and flushes it to the client.
func (s *Stream) Write(frame []byte) error {
	if _, err := s.w.Write(frame); err != nil {
		return err
	}
	return s.rc.Flush()
}

// Config sets the timing of Serve.
type Config struct {
	// Heartbeat is the silence after which a heartbeat is sent: zero means
	// DefaultHeartbeatInterval, negative means never.
	Heartbeat time.Duration
	// StreamTimeout is how long the stream lasts before a closing frame is
	// sent: zero means DefaultStreamTimeout, negative means never.
	StreamTimeout time.Duration
}

// End tells why Serve returned.
type End int

// Reasons for Serve to return.
const (
	// EndContext: ctx was done (client gone or server stopping).
	EndContext End = iota
	// EndFramesClosed: the frames channel was closed.
	EndFramesClosed
	// EndClosing: a closing frame was sent, because the stream timed out
	// or closeNow fired.
	EndClosing
	// EndWriteError: writing to the client failed.
	EndWriteError
)

// Serve writes every frame received on frames to s, a heartbeat after each
// Heartbeat of silence (the timer restarts after every frame and
// heartbeat), and a closing frame when StreamTimeout elapses or closeNow is
// closed or receives. It returns when one of those ends the stream, when
// frames is closed or when ctx is done. A nil closeNow never fires.
func Serve(ctx context.Context, s *Stream, frames <-chan []byte, closeNow <-chan struct{}, cfg Config) (End, error) {
	hbEvery := cfg.Heartbeat
	if hbEvery == 0 {
		hbEvery = DefaultHeartbeatInterval
	}
	var hbC <-chan time.Time
	var hb *time.Timer
	if hbEvery > 0 {
		hb = time.NewTimer(hbEvery)
		defer hb.Stop()
		hbC = hb.C
	}
	timeout := cfg.StreamTimeout
	if timeout == 0 {
		timeout = DefaultStreamTimeout
	}
	var toC <-chan time.Time
	if timeout > 0 {
		to := time.NewTimer(timeout)
		defer to.Stop()
		toC = to.C
	}
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return EndContext, ctx.Err()
		case f, ok := <-frames:
			if !ok {
				return EndFramesClosed, nil
			}
			if err := s.Write(f); err != nil {
				return EndWriteError, err
			}
		case now := <-hbC:
			buf = AppendHeartbeat(buf[:0], now)
			if err := s.Write(buf); err != nil {
				return EndWriteError, err
			}
		case <-toC:
			return EndClosing, s.Write(AppendClosing(nil))
		case <-closeNow:
			return EndClosing, s.Write(AppendClosing(nil))
		}
		if hb != nil {
			hb.Reset(hbEvery)
		}
	}
}
