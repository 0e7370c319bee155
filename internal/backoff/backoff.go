// Package backoff computes reconnect delays: exponential growth from a base
// delay up to a cap, with random jitter so that many clients restarting
// together do not retry in lockstep, and a sleep that wakes when its context
// ends.
//
// A Backoff is owned by one goroutine (the one that owns the stream being
// reconnected); it is not safe for concurrent use.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Defaults used by the library's reconnecting clients.
const (
	// DefaultBaseDelay is the delay before the first retry.
	DefaultBaseDelay = 100 * time.Millisecond
	// DefaultMaxDelay caps the delay between two attempts.
	DefaultMaxDelay = 5 * time.Second
	// DefaultMultiplier is the growth factor from one delay to the next.
	DefaultMultiplier = 2.0
	// DefaultJitter is the fraction by which a delay is randomly moved up or
	// down (0.2 means ±20%).
	DefaultJitter = 0.2
)

// Config describes a backoff policy. Zero fields take the Default* values,
// and so do negative delays; a MaxDelay below BaseDelay is raised to
// BaseDelay, a non-zero Multiplier below 1 is raised to 1, and a Jitter
// outside [0, 1] is clamped (so a negative Jitter means no jitter, zero
// meaning the default).
type Config struct {
	BaseDelay  time.Duration
	MaxDelay   time.Duration
	Multiplier float64
	Jitter     float64
}

// Backoff hands out successive delays for one stream.
type Backoff struct {
	cfg     Config
	attempt int
}

// New returns a Backoff for cfg with its values resolved.
func New(cfg Config) *Backoff {
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MaxDelay < cfg.BaseDelay {
		cfg.MaxDelay = cfg.BaseDelay
	}
	if cfg.Multiplier == 0 {
		cfg.Multiplier = DefaultMultiplier
	}
	if cfg.Multiplier < 1 {
		cfg.Multiplier = 1
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	cfg.Jitter = min(max(cfg.Jitter, 0), 1)
	return &Backoff{cfg: cfg}
}

// Next returns the delay to wait before the next attempt and advances the
// attempt count. The first call returns about BaseDelay; jitter never takes
// a delay above MaxDelay.
func (b *Backoff) Next() time.Duration {
	d := float64(b.cfg.BaseDelay)
	for i := 0; i < b.attempt && d < float64(b.cfg.MaxDelay); i++ {
		d *= b.cfg.Multiplier
	}
	d = min(d, float64(b.cfg.MaxDelay))
	b.attempt++
	d *= 1 + b.cfg.Jitter*(rand.Float64()*2-1)
	return time.Duration(min(d, float64(b.cfg.MaxDelay)))
}

// Reset starts the sequence again from BaseDelay; call it once a
// connection has proved healthy.
func (b *Backoff) Reset() { b.attempt = 0 }

// Attempts returns how many delays were handed out since the last Reset.
func (b *Backoff) Attempts() int { return b.attempt }

// Wait sleeps for the next delay. It returns false, early, when ctx ends.
func (b *Backoff) Wait(ctx context.Context) bool {
	return Sleep(ctx, b.Next())
}

// Sleep waits for d or until ctx ends, whichever comes first, and reports
// whether the full delay elapsed. It leaves no timer behind.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
