// Package ticker is the seam between the pulse and runtime emitters and
// time.NewTicker: the emitters take their ticks from a Func, which is Real
// in production, and Manual in tests that deliver each tick by hand so that
// they know exactly how many ticks an emitter saw.
package ticker

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Func starts a ticker with interval d and returns its channel and the
// function that stops it.
type Func func(d time.Duration) (<-chan time.Time, func())

// Real is the Func of time.NewTicker.
func Real(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// waitLimit bounds every wait of a Manual ticker.
const waitLimit = 5 * time.Second

// Manual is a Func whose ticks a test delivers by hand. It is safe for
// concurrent use by the emitter and the test.
type Manual struct {
	c       chan time.Time
	started chan time.Duration // the interval of each ticker started
	stopped chan struct{}      // one value per ticker stopped

	mu     sync.Mutex
	starts int
}

// NewManual returns a Manual ticker with nothing started.
func NewManual() *Manual {
	return &Manual{
		c:       make(chan time.Time),
		started: make(chan time.Duration, 16),
		stopped: make(chan struct{}, 16),
	}
}

// New is the Func to hand to the emitter.
func (m *Manual) New(d time.Duration) (<-chan time.Time, func()) {
	m.mu.Lock()
	m.starts++
	m.mu.Unlock()
	m.started <- d
	var once sync.Once
	return m.c, func() { once.Do(func() { m.stopped <- struct{}{} }) }
}

// Starts returns how many tickers were started.
func (m *Manual) Starts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.starts
}

// Tick delivers one tick and returns once the emitter has taken it.
func (m *Manual) Tick(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	select {
	case m.c <- time.Now():
	case <-ctx.Done():
		t.Fatal("the emitter did not take a tick within 5s")
	}
}

// WaitStarted waits for a ticker to start and returns its interval.
func (m *Manual) WaitStarted(t testing.TB) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	select {
	case d := <-m.started:
		return d
	case <-ctx.Done():
		t.Fatal("no ticker started within 5s")
		return 0
	}
}

// WaitStopped waits for a ticker to be stopped.
func (m *Manual) WaitStopped(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	select {
	case <-m.stopped:
	case <-ctx.Done():
		t.Fatal("no ticker stopped within 5s")
	}
}
