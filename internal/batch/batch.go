// Package batch is the bounded buffer between the ingress client's Emit
// methods and its sending goroutine.
//
// Emitters Add pre-encoded EnvelopeBatch entries; the buffer appends them
// to the open batch, whose Data is therefore always the complete wire
// encoding of an EnvelopeBatch. A batch is sealed once it holds MaxCount
// envelopes or MaxBytes bytes, and the Ready channel is signalled. The
// sender Takes batches, sends them and Releases them once they were
// delivered or given up.
//
// The buffer holds at most Capacity envelopes, counting both the batches
// waiting and the ones taken but not yet released, so a batch being
// retried still occupies its room. When full, Add refuses the envelope and
// never blocks.
//
// A Buffer is safe for concurrent use by any number of emitters and one
// sender. Every method holds the buffer's mutex only for a copy or a
// slice swap.
package batch

import (
	"errors"
	"sync"
)

// Errors returned by Add.
var (
	ErrFull   = errors.New("batch: buffer full")
	ErrClosed = errors.New("batch: buffer closed")
)

// Config sizes a Buffer. Values below 1 are raised to 1.
type Config struct {
	// Capacity is the most envelopes held at once.
	Capacity int
	// MaxCount is the most envelopes in one batch.
	MaxCount int
	// MaxBytes seals a batch once its encoding reaches this many bytes. A
	// single entry larger than MaxBytes makes a batch of its own.
	MaxBytes int
}

// Batch is a run of encoded envelopes to be sent as one EnvelopeBatch.
type Batch struct {
	// Data is the encoding of an EnvelopeBatch holding N envelopes.
	Data []byte
	// N is the number of envelopes in Data.
	N int
	// Attempts counts failed sends; the sender maintains it.
	Attempts int
}

// Buffer is a bounded queue of batches.
type Buffer struct {
	cfg   Config
	ready chan struct{}

	mu     sync.Mutex
	queue  []*Batch // waiting batches, oldest first; only the last may be unsealed
	free   []*Batch
	held   int // envelopes in queue plus taken and not released
	closed bool
}

// New returns an empty Buffer.
func New(cfg Config) *Buffer {
	cfg.Capacity = max(cfg.Capacity, 1)
	cfg.MaxCount = max(cfg.MaxCount, 1)
	cfg.MaxBytes = max(cfg.MaxBytes, 1)
	return &Buffer{cfg: cfg, ready: make(chan struct{}, 1)}
}

// Ready is signalled (it has room for one signal) whenever a batch is
// sealed. The sender should then Take(false) until it returns nil.
func (b *Buffer) Ready() <-chan struct{} { return b.ready }

func (b *Buffer) sealed(bt *Batch) bool {
	return bt.N >= b.cfg.MaxCount || len(bt.Data) >= b.cfg.MaxBytes
}

func (b *Buffer) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *Buffer) newBatch() *Batch {
	if n := len(b.free); n > 0 {
		bt := b.free[n-1]
		b.free = b.free[:n-1]
		return bt
	}
	return &Batch{Data: make([]byte, 0, min(b.cfg.MaxBytes, 64<<10))}
}

// Add copies one encoded batch entry into the buffer. It returns ErrFull
// when Capacity envelopes are held and ErrClosed after Close; the entry is
// not kept in either case.
func (b *Buffer) Add(entry []byte) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if b.held >= b.cfg.Capacity {
		b.mu.Unlock()
		return ErrFull
	}
	var last *Batch
	if n := len(b.queue); n > 0 {
		last = b.queue[n-1]
	}
	sealedNow := false
	switch {
	case last == nil || b.sealed(last):
		last = b.newBatch()
		b.queue = append(b.queue, last)
	case len(last.Data)+len(entry) > b.cfg.MaxBytes:
		// The entry would push the open batch past MaxBytes: leave that
		// batch as it is (no longer last, so sealed) and open another.
		sealedNow = true
		last = b.newBatch()
		b.queue = append(b.queue, last)
	}
	last.Data = append(last.Data, entry...)
	last.N++
	b.held++
	if b.sealed(last) {
		sealedNow = true
	}
	b.mu.Unlock()
	if sealedNow {
		b.signal()
	}
	return nil
}

// Take removes and returns the oldest batch: only a sealed one unless
// partial is true, in which case an open, non-empty batch is taken too.
// It returns nil when there is nothing to take. The caller must Release
// the batch.
func (b *Buffer) Take(partial bool) *Batch {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) == 0 {
		return nil
	}
	first := b.queue[0]
	if first.N == 0 {
		return nil
	}
	// Any batch that is not the last was sealed when its successor opened.
	if !partial && len(b.queue) == 1 && !b.sealed(first) {
		return nil
	}
	copy(b.queue, b.queue[1:])
	b.queue[len(b.queue)-1] = nil
	b.queue = b.queue[:len(b.queue)-1]
	return first
}

// Release gives back a taken batch once it was delivered or given up,
// freeing its room. bt must not be used afterwards.
func (b *Buffer) Release(bt *Batch) {
	if bt == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held -= bt.N
	bt.N, bt.Attempts, bt.Data = 0, 0, bt.Data[:0]
	// Keep a few ordinary-sized batches for reuse; let oversized ones go.
	if cap(bt.Data) <= 4*b.cfg.MaxBytes && len(b.free) < 4 {
		b.free = append(b.free, bt)
	}
}

// Close makes every later Add fail with ErrClosed. Batches already held
// can still be taken.
func (b *Buffer) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// Held returns the number of envelopes waiting or taken and not released.
func (b *Buffer) Held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}
