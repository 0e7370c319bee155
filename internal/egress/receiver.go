package egress

import (
	"context"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"code.cloudfoundry.org/go-loggregator/internal/backoff"
	"code.cloudfoundry.org/go-loggregator/internal/decode"
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
	// ChunkBytes is the estimated decoded size (decode.Size) at which a
	// received batch is split.
	ChunkBytes int
	// Logger gets one line per failed attempt.
	Logger Logger
}

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

	raw     RawBatch
	chunker *decode.Chunker // over raw, while it has envelopes left
}

// New returns a Receiver for req on conn. It does no I/O.
func New(conn *grpc.ClientConn, req *v2.EgressBatchRequest, cfg Config) *Receiver {
	if cfg.ChunkBytes < 1 {
		cfg.ChunkBytes = 1
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
				r.cfg.Logger.Printf("Error receiving from Logs Provider: decoding batch: %v", err)
				r.endStream(false)
			case envs == nil:
				r.raw.Free()
				r.chunker = nil
			}
			if len(envs) > 0 {
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
				r.cfg.Logger.Printf("Error receiving from Logs Provider: %v", err)
			}
			r.endStream(clean)
			continue
		}
		r.chunker = decode.NewChunker(r.raw.Bytes())
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
			r.cfg.Logger.Printf("Error connecting to Logs Provider: %v", err)
			r.young++
			r.delay = r.bo.Next()
		}
		return
	}
	r.rx, r.cancelRx, r.opened = rx, cancel, time.Now()
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
