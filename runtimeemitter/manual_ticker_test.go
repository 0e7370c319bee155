package runtimeemitter_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// manualTicker stands in for time.NewTicker: the test delivers each tick
// by hand, so it knows exactly how many ticks the emitter saw.
type manualTicker struct {
	c       chan time.Time
	started chan time.Duration // the interval of each ticker started
	stopped chan struct{}      // one value per ticker stopped

	mu     sync.Mutex
	starts int
}

func newManualTicker() *manualTicker {
	return &manualTicker{
		c:       make(chan time.Time),
		started: make(chan time.Duration, 16),
		stopped: make(chan struct{}, 16),
	}
}

// new is the tickerFunc given to WithTicker.
func (m *manualTicker) new(d time.Duration) (<-chan time.Time, func()) {
	m.mu.Lock()
	m.starts++
	m.mu.Unlock()
	m.started <- d
	var once sync.Once
	return m.c, func() { once.Do(func() { m.stopped <- struct{}{} }) }
}

// startCount returns how many tickers were started.
func (m *manualTicker) startCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.starts
}

// tick delivers one tick; it returns once the emitter has taken it.
func (m *manualTicker) tick(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case m.c <- time.Now():
	case <-ctx.Done():
		t.Fatal("the emitter did not take a tick within 5s")
	}
}

// waitStarted waits for a ticker to start and returns its interval.
func (m *manualTicker) waitStarted(t *testing.T) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case d := <-m.started:
		return d
	case <-ctx.Done():
		t.Fatal("no ticker started within 5s")
		return 0
	}
}

// waitStopped waits for a ticker to be stopped.
func (m *manualTicker) waitStopped(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-m.stopped:
	case <-ctx.Done():
		t.Fatal("no ticker stopped within 5s")
	}
}
