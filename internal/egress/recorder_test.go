package egress

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/protobin"
	v2 "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// callRecorder keeps every call a Receiver makes to its Recorder.
type callRecorder struct {
	mu         sync.Mutex
	batches    int
	envelopes  int
	chunks     []time.Time // received time of each chunk
	reconnects int
	errs       []error
	errTimes   []time.Time
}

func (c *callRecorder) Batch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
}

func (c *callRecorder) Envelopes(received time.Time, envs []*v2.Envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.envelopes += len(envs)
	c.chunks = append(c.chunks, received)
}

func (c *callRecorder) Reconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reconnects++
}

func (c *callRecorder) Error(err error, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
	c.errTimes = append(c.errTimes, at)
}

// TestRecorderSplitBatch: a batch handed out in several chunks is one
// Batch call; each chunk is an Envelopes call carrying the time its
// message arrived, the same for every chunk of it.
func TestRecorderSplitBatch(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	envs := make([]*v2.Envelope, 5000)
	for i := range envs {
		envs[i] = &v2.Envelope{Timestamp: int64(i + 1)}
	}
	addr := rawServer(t, certs, marshal(t, envs), marshal(t, nil), marshal(t, envs[:3]))
	rec := &callRecorder{}
	r := newReceiver(t, certs, addr, Config{HealthyAfter: time.Second, ChunkBytes: 64 << 10, Logger: &lines{}, Recorder: rec})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := time.Now()
	chunks := 0
	for got := 0; got < 5003; chunks++ {
		b, _ := r.Next(ctx)
		if b == nil {
			t.Fatalf("stream ended after %d envelopes", got)
		}
		got += len(b)
	}
	after := time.Now()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.batches != 3 || rec.envelopes != 5003 || len(rec.chunks) != chunks {
		t.Fatalf("Batch %d Envelopes %d over %d calls, want 3 (empty one included), 5003 over %d", rec.batches, rec.envelopes, len(rec.chunks), chunks)
	}
	if chunks < 3 {
		t.Fatalf("%d chunks: the large batch was not split", chunks)
	}
	first := rec.chunks[0]
	for i, at := range rec.chunks[:chunks-1] {
		if !at.Equal(first) {
			t.Fatalf("chunk %d of the first batch stamped %v, chunk 0 %v", i, at, first)
		}
	}
	if first.Before(before) || rec.chunks[chunks-1].After(after) || rec.chunks[chunks-1].Before(first) {
		t.Fatalf("receive times %v..%v outside %v..%v", first, rec.chunks[chunks-1], before, after)
	}
	if rec.reconnects != 0 || len(rec.errs) != 0 {
		t.Fatalf("Reconnect %d, errors %v on a healthy stream", rec.reconnects, rec.errs)
	}
}

// TestRecorderMalformedBatch: the envelopes before the malformed part are
// counted, the decoding error is recorded with its time, and the stream
// opened again is a reconnect (the server sends the same bad batch on
// every stream).
func TestRecorderMalformedBatch(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	good := marshal(t, []*v2.Envelope{{SourceId: "good"}})
	bad := append(append([]byte(nil), good...), 0x0a, 0x05, 0x01) // truncated envelope
	addr := rawServer(t, certs, bad)
	rec := &callRecorder{}
	r := newReceiver(t, certs, addr, Config{HealthyAfter: time.Second, ChunkBytes: 1 << 20, Logger: &lines{}, Recorder: rec})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := time.Now()
	for i := 0; i < 2; i++ { // once per stream
		if got, _ := r.Next(ctx); len(got) != 1 {
			t.Fatalf("stream %d: got %v", i, got)
		}
	}
	rec.mu.Lock()
	if rec.batches != 2 || rec.envelopes != 2 || rec.reconnects != 1 {
		t.Fatalf("Batch %d Envelopes %d Reconnect %d, want 2 2 1", rec.batches, rec.envelopes, rec.reconnects)
	}
	// Each stream's batch fails after its good envelope, which Next
	// returns together with recording the failure.
	if len(rec.errs) != 2 {
		t.Fatalf("errors %v, want one per stream", rec.errs)
	}
	for i, err := range rec.errs {
		if !errors.Is(err, protobin.ErrMalformed) || !strings.Contains(err.Error(), "decoding batch") {
			t.Fatalf("error %v, want a decoding error wrapping protobin.ErrMalformed", err)
		}
		if rec.errTimes[i].Before(before) || rec.errTimes[i].After(time.Now()) {
			t.Fatalf("error time %v not after %v", rec.errTimes[i], before)
		}
	}
	rec.mu.Unlock()
	cancel()
	r.Next(ctx)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.errs) != 2 {
		t.Fatalf("the end of the context was recorded as an error: %v", rec.errs)
	}
}

// TestRecorderNilIsIgnored: a Config without a Recorder works.
func TestRecorderNilIsIgnored(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	addr := rawServer(t, certs, marshal(t, []*v2.Envelope{{SourceId: "a"}}))
	r := newReceiver(t, certs, addr, Config{HealthyAfter: time.Second, ChunkBytes: 1 << 20, Logger: &lines{}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, _ := r.Next(ctx); len(got) != 1 {
		t.Fatalf("got %v", got)
	}
	cancel()
	r.Next(ctx)
}
