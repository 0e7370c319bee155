package egress

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/protobin"
	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// Logger receives the Receiver's reports of failed streams.
type Logger interface {
	Printf(format string, v ...any)
}

// Config configures a Receiver. Zero values are not defaulted here; the
// connector resolves them.
type Config struct {
	// Backoff spaces stream attempts while the connection works but
	// streams fail or end young.
	Backoff backoff.Config
	// HealthyAfter is how long a stream must have been open to count as
	// healthy: the next attempt then starts at once and Backoff resets.
	HealthyAfter time.Duration
	// ChunkBytes is the estimated decoded size (protobin.HeapSize) at which a
	// received batch is split.
	ChunkBytes int
	// Logger gets one line per failed attempt.
	Logger Logger
	// Recorder, if not nil, is told what the Receiver receives and meets.
	Recorder Recorder
}

// Recorder receives a Receiver's statistics. Its methods are called on the
// goroutine that calls Next, so they must be cheap and must not block.
type Recorder interface {
	// Batch is called once for each message received, empty ones
	// included, before any of its envelopes is handed out.
	Batch()
	// Envelopes is called once for each chunk Next returns, with the time
	// the chunk's message was received.
	Envelopes(received time.Time, envs []*v2.Envelope)
	// Reconnect is called for each stream opened after the first one the
	// Receiver opened.
	Reconnect()
	// Error is called with each error met while opening or reading a
	// stream, and when it was met, before the error is logged. A clean end
	// of a stream and the end of Next's context are not errors.
	Error(err error, at time.Time)
}

// nopRecorder is the Recorder of a Config without one.
type nopRecorder struct{}

func (nopRecorder) Batch()                              {}
func (nopRecorder) Envelopes(time.Time, []*v2.Envelope) {}
func (nopRecorder) Reconnect()                          {}
func (nopRecorder) Error(error, time.Time)              {}

// Receiver owns one BatchedReceiver stream at a time on conn.
type Receiver struct {
	conn   *grpc.ClientConn
	client v2.EgressClient
	req    *v2.EgressBatchRequest
	cfg    Config
	bo     *backoff.Backoff

	rx       grpc.ServerStreamingClient[v2.EnvelopeBatch]
	cancelRx context.CancelFunc
	started  time.Time     // when the latest attempt started
	opened   time.Time     // when the current stream was opened
	delay    time.Duration // earliest next attempt, counted from started
	young    int           // consecutive streams that ended before HealthyAfter

	raw      RawBatch
	chunker  *protobin.Chunker // over raw, while it has envelopes left
	received time.Time         // when raw was received
	opens    int               // streams opened so far
}

// New returns a Receiver for req on conn. It does no I/O.
func New(conn *grpc.ClientConn, req *v2.EgressBatchRequest, cfg Config) *Receiver {
	if cfg.ChunkBytes < 1 {
		cfg.ChunkBytes = 1
	}
	if cfg.Recorder == nil {
		cfg.Recorder = nopRecorder{}
	}
	return &Receiver{
		conn:   conn,
		client: v2.NewEgressClient(conn),
		req:    req,
		cfg:    cfg,
		bo:     backoff.New(cfg.Backoff),
	}
}

// Next returns the next chunk of envelopes (never empty) with its
// estimated decoded size, opening and reopening the stream as needed. It
// returns nil, 0 once ctx is done, after releasing the stream.
func (r *Receiver) Next(ctx context.Context) ([]*v2.Envelope, int) {
	for ctx.Err() == nil {
		if r.chunker != nil {
			envs, size, err := r.chunker.Next(r.cfg.ChunkBytes)
			switch {
			case err != nil:
				err = fmt.Errorf("decoding batch: %w", err)
				r.cfg.Recorder.Error(err, time.Now())
				r.cfg.Logger.Printf("Error receiving from Logs Provider: %v", err)
				r.endStream(false)
			case envs == nil:
				r.raw.Free()
				r.chunker = nil
			}
			if len(envs) > 0 {
				r.cfg.Recorder.Envelopes(r.received, envs)
				return envs, size
			}
			continue
		}
		if r.rx == nil {
			r.open(ctx)
			continue
		}
		if err := r.rx.RecvMsg(&r.raw); err != nil {
			if ctx.Err() != nil {
				break
			}
			clean := err == io.EOF
			if !clean {
				r.cfg.Recorder.Error(err, time.Now())
				r.cfg.Logger.Printf("Error receiving from Logs Provider: %v", err)
			}
			r.endStream(clean)
			continue
		}
		r.received = time.Now()
		r.cfg.Recorder.Batch()
		r.chunker = protobin.NewChunker(r.raw.Bytes())
	}
	r.release()
	return nil, 0
}

// open waits for its turn and opens a stream; on failure it logs and
// sets the spacing of the next attempt.
func (r *Receiver) open(ctx context.Context) {
	if !r.pace(ctx) {
		return
	}
	sctx, cancel := context.WithCancel(ctx)
	r.started = time.Now()
	rx, err := r.client.BatchedReceiver(sctx, r.req, CallOptions...)
	if err != nil {
		cancel()
		if ctx.Err() == nil {
			r.cfg.Recorder.Error(err, time.Now())
			r.cfg.Logger.Printf("Error connecting to Logs Provider: %v", err)
			r.young++
			r.delay = r.bo.Next()
		}
		return
	}
	r.rx, r.cancelRx, r.opened = rx, cancel, time.Now()
	r.opens++
	if r.opens > 1 {
		r.cfg.Recorder.Reconnect()
	}
}

// pace waits until the next attempt may start: while the connection is in
// TRANSIENT_FAILURE, until gRPC's connection backoff has brought it back;
// and until the spacing since the previous attempt's start has passed.
// The waits overlap. It returns false when ctx ends first.
func (r *Receiver) pace(ctx context.Context) bool {
	for {
		st := r.conn.GetState()
		if st != connectivity.TransientFailure {
			break
		}
		if !r.conn.WaitForStateChange(ctx, st) {
			return false
		}
	}
	if r.delay > 0 {
		return backoff.Sleep(ctx, time.Until(r.started.Add(r.delay)))
	}
	return ctx.Err() == nil
}

// endStream forgets the current stream and decides when the next may
// start: at once after a healthy stream, or after the first young one the
// server ended cleanly (a routine close, a GOAWAY); otherwise after the
// next backoff delay.
func (r *Receiver) endStream(clean bool) {
	lived := time.Since(r.opened)
	r.release()
	if lived >= r.cfg.HealthyAfter {
		r.bo.Reset()
		r.young, r.delay = 0, 0
		return
	}
	r.young++
	if clean && r.young == 1 {
		r.delay = 0
		return
	}
	r.delay = r.bo.Next()
}

// Close releases the current stream and the message being handed out; a
// later Next starts over with a new stream. The owner calls it when it
// stops calling Next before Next has returned nil.
func (r *Receiver) Close() { r.release() }

// release cancels the current stream and frees the message being handed
// out.
func (r *Receiver) release() {
	if r.cancelRx != nil {
		r.cancelRx()
	}
	r.rx, r.cancelRx, r.chunker = nil, nil, nil
	r.raw.Free()
}
