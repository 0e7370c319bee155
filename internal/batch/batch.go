// Package batch is the bounded buffer between the ingress client's Emit
// methods and its sending goroutine.
//
// Emitters Add pre-encoded EnvelopeBatch entries; the buffer appends them
// to the open batch, whose Data is therefore always the complete wire
// encoding of an EnvelopeBatch. A batch is sealed once it holds MaxCount
// envelopes or MaxBytes bytes, and the Ready channel is signalled. The
// sender Takes batches, sends them and Releases them once they were
// delivered or given up; it may Requeue taken batches to send them again.
//
// The buffer is bounded twice. It holds at most Capacity envelopes, and the
// batch memory it references (the capacity of every batch's Data, waiting,
// taken or kept for reuse) stays within MaxHeldBytes. Both bounds count the
// batches taken and not yet released, so a batch being retried still
// occupies its room. Memory is allocated on demand: a new batch starts with
// room for about as many bytes as the previous batch used, and grows by
// doubling, each growth charged against MaxHeldBytes before it happens.
// When either bound would be exceeded, Add refuses the entry and never
// blocks; Room tells waiting emitters when room may have come free.
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

// maxFree is the most released batches kept for reuse.
const maxFree = 256

// minBatchCap is the smallest capacity a new batch is given.
const minBatchCap = 512

// Config sizes a Buffer. Capacity, MaxCount and MaxBytes below 1 are raised
// to 1; MaxHeldBytes below 1 means no byte bound.
type Config struct {
	// Capacity is the most envelopes held at once.
	Capacity int
	// MaxCount is the most envelopes in one batch.
	MaxCount int
	// MaxBytes seals a batch once its encoding reaches this many bytes. A
	// single entry larger than MaxBytes makes a batch of its own.
	MaxBytes int
	// MaxHeldBytes bounds the batch memory the buffer references.
	MaxHeldBytes int
}

// Batch is a run of encoded envelopes to be sent as one EnvelopeBatch.
type Batch struct {
	// Data is the encoding of an EnvelopeBatch holding N envelopes.
	Data []byte
	// N is the number of envelopes in Data.
	N int
	// Attempts counts failed sends; the sender maintains it.
	Attempts int

	closed bool // sealed for good (taken or requeued)
}

// Buffer is a bounded queue of batches.
type Buffer struct {
	cfg   Config
	ready chan struct{}

	mu        sync.Mutex
	queue     []*Batch // waiting batches, oldest first; only the last may be open
	free      []*Batch
	held      int    // envelopes in queue plus taken and not released
	added     uint64 // envelopes ever added
	heldBytes int    // cap of every batch referenced (queue, taken, free)
	hint      int    // Data length of the last sealed batch
	closed    bool
	room      chan struct{} // closed when room may have come free
}

// New returns an empty Buffer.
func New(cfg Config) *Buffer {
	cfg.Capacity = max(cfg.Capacity, 1)
	cfg.MaxCount = max(cfg.MaxCount, 1)
	cfg.MaxBytes = max(cfg.MaxBytes, 1)
	cfg.MaxHeldBytes = max(cfg.MaxHeldBytes, 0)
	return &Buffer{cfg: cfg, ready: make(chan struct{}, 1)}
}

// Ready is signalled (it has room for one signal) whenever a batch is
// sealed. The sender should then Take(false) until it returns nil.
func (b *Buffer) Ready() <-chan struct{} { return b.ready }

func (b *Buffer) sealed(bt *Batch) bool {
	return bt.closed || bt.N >= b.cfg.MaxCount || len(bt.Data) >= b.cfg.MaxBytes
}

func (b *Buffer) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// fits reports whether n more bytes of batch memory stay within the byte
// bound, first letting go of batches kept for reuse if that helps.
func (b *Buffer) fits(n int) bool {
	if b.cfg.MaxHeldBytes == 0 {
		return true
	}
	for b.heldBytes+n > b.cfg.MaxHeldBytes && len(b.free) > 0 {
		last := b.free[len(b.free)-1]
		b.free = b.free[:len(b.free)-1]
		b.heldBytes -= cap(last.Data)
	}
	return b.heldBytes+n <= b.cfg.MaxHeldBytes
}

// newBatch returns a batch with room for at least need bytes, or nil when
// the byte bound does not allow it.
func (b *Buffer) newBatch(need int) *Batch {
	for i := len(b.free) - 1; i >= 0; i-- {
		if bt := b.free[i]; cap(bt.Data) >= need {
			b.free = append(b.free[:i], b.free[i+1:]...)
			return bt
		}
	}
	c := max(need, min(b.hint, b.cfg.MaxBytes))
	if b.cfg.MaxCount > 1 {
		c = max(c, minBatchCap)
	}
	if !b.fits(c) {
		c = need
		if !b.fits(c) {
			return nil
		}
	}
	b.heldBytes += c
	return &Batch{Data: make([]byte, 0, c)}
}

// grow makes room for n more bytes in bt, charging the growth.
func (b *Buffer) grow(bt *Batch, n int) bool {
	if len(bt.Data)+n <= cap(bt.Data) {
		return true
	}
	c := max(2*cap(bt.Data), len(bt.Data)+n)
	if b.cfg.MaxBytes > len(bt.Data)+n {
		c = min(c, b.cfg.MaxBytes)
	}
	if !b.fits(c - cap(bt.Data)) {
		c = len(bt.Data) + n
		if !b.fits(c - cap(bt.Data)) {
			return false
		}
	}
	nd := make([]byte, len(bt.Data), c)
	copy(nd, bt.Data)
	b.heldBytes += c - cap(bt.Data)
	bt.Data = nd
	return true
}

// Add copies one encoded batch entry into the buffer. It returns ErrFull
// when Capacity envelopes are held or the entry does not fit the byte
// bound, and ErrClosed after Close; the entry is not kept in either case.
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
	if last != nil && !b.sealed(last) && len(last.Data)+len(entry) > b.cfg.MaxBytes {
		// The entry would push the open batch past MaxBytes: seal that
		// batch and open another.
		last.closed = true
		b.hint = len(last.Data)
		sealedNow = true
	}
	if last == nil || b.sealed(last) {
		nb := b.newBatch(len(entry))
		if nb == nil {
			b.mu.Unlock()
			if sealedNow {
				b.signal()
			}
			return ErrFull
		}
		last = nb
		b.queue = append(b.queue, last)
	} else if !b.grow(last, len(entry)) {
		b.mu.Unlock()
		return ErrFull
	}
	last.Data = append(last.Data, entry...)
	last.N++
	b.held++
	b.added++
	if b.sealed(last) {
		b.hint = len(last.Data)
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
// or Requeue the batch.
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
	first.closed = true
	copy(b.queue, b.queue[1:])
	b.queue[len(b.queue)-1] = nil
	b.queue = b.queue[:len(b.queue)-1]
	return first
}

// Requeue puts taken batches back at the front of the queue, in the given
// order, to be taken again before anything else. Their room stays held.
func (b *Buffer) Requeue(bts []*Batch) {
	if len(bts) == 0 {
		return
	}
	b.mu.Lock()
	for _, bt := range bts {
		bt.closed = true
	}
	b.queue = append(append(make([]*Batch, 0, len(bts)+len(b.queue)), bts...), b.queue...)
	b.mu.Unlock()
	b.signal()
}

// DropOldest removes the oldest waiting batch that was never sent (the
// open one too, if it is the only such batch), frees its room and returns
// its envelope count; 0 when there is none. Batches put back by Requeue
// (Attempts above 0) may already have reached the server, so they are
// kept; batches taken by the sender are not touched.
func (b *Buffer) DropOldest() int {
	b.mu.Lock()
	i := 0
	for i < len(b.queue) && b.queue[i].Attempts > 0 {
		i++
	}
	if i == len(b.queue) || b.queue[i].N == 0 {
		b.mu.Unlock()
		return 0
	}
	victim := b.queue[i]
	copy(b.queue[i:], b.queue[i+1:])
	b.queue[len(b.queue)-1] = nil
	b.queue = b.queue[:len(b.queue)-1]
	b.mu.Unlock()
	n := victim.N
	b.Release(victim)
	return n
}

// Release gives back a taken batch once it was delivered or given up,
// freeing its room. bt must not be used afterwards.
func (b *Buffer) Release(bt *Batch) {
	if bt == nil {
		return
	}
	b.mu.Lock()
	b.held -= bt.N
	bt.N, bt.Attempts, bt.Data, bt.closed = 0, 0, bt.Data[:0], false
	// Keep batches for reuse: they stay charged against MaxHeldBytes, and
	// fits lets them go when new data needs the room.
	if len(b.free) < maxFree && cap(bt.Data) <= b.cfg.MaxBytes {
		b.free = append(b.free, bt)
	} else {
		b.heldBytes -= cap(bt.Data)
	}
	b.wakeLocked()
	b.mu.Unlock()
}

// Room returns a channel that is closed the next time room may have come
// free (a Release), or when Wake or Close is called. An emitter that found
// the buffer full takes Room before it tries Add again, then waits on it.
func (b *Buffer) Room() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.room == nil {
		b.room = make(chan struct{})
	}
	return b.room
}

// Wake closes the channel Room returned, so that waiting emitters look at
// the sender's state again.
func (b *Buffer) Wake() {
	b.mu.Lock()
	b.wakeLocked()
	b.mu.Unlock()
}

func (b *Buffer) wakeLocked() {
	if b.room != nil {
		close(b.room)
		b.room = nil
	}
}

// Close makes every later Add fail with ErrClosed and wakes waiting
// emitters. Batches already held can still be taken.
func (b *Buffer) Close() {
	b.mu.Lock()
	b.closed = true
	b.wakeLocked()
	b.mu.Unlock()
}

// Held returns the number of envelopes waiting or taken and not released.
func (b *Buffer) Held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// Counts returns, read together, the number of envelopes ever added
// (every Add that returned nil) and the number held now (Held).
func (b *Buffer) Counts() (added uint64, held int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.added, b.held
}

// HeldBytes returns the batch memory the buffer references, in bytes.
func (b *Buffer) HeldBytes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.heldBytes
}
