package ingress

import (
	"math"
	"time"
)

// Pace configures the send rate after a failure. Zero fields take the
// Default* values.
type Pace struct {
	// StartRate is the rate, in envelopes per second, right after a
	// failure.
	StartRate float64
	// DoublingTime is how long the rate takes to double.
	DoublingTime time.Duration
	// MaxRate ends the pacing: once the rate reaches it, sending is
	// unpaced until the next failure.
	MaxRate float64
	// Burst is how many envelopes may be sent at once at any rate (at
	// least one batch is always allowed).
	Burst int
}

// Pace defaults.
const (
	DefaultStartRate    = 1000
	DefaultDoublingTime = 500 * time.Millisecond
	DefaultMaxRate      = 1 << 20
	DefaultBurst        = 100
)

func (p Pace) resolved() Pace {
	if p.StartRate <= 0 {
		p.StartRate = DefaultStartRate
	}
	if p.DoublingTime <= 0 {
		p.DoublingTime = DefaultDoublingTime
	}
	if p.MaxRate < p.StartRate {
		p.MaxRate = max(DefaultMaxRate, p.StartRate)
	}
	if p.Burst < 1 {
		p.Burst = DefaultBurst
	}
	return p
}

// pacer limits the envelopes sent since its start to the integral of a
// rate that doubles every DoublingTime: budget(t) = Burst +
// StartRate*T/ln2*(2^(t/T)-1).
type pacer struct {
	cfg    Pace
	active bool
	start  time.Time
	sent   int
}

// restart starts pacing at now.
func (p *pacer) restart(now time.Time) {
	p.active, p.start, p.sent = true, now, 0
}

// delay returns how long to wait before n more envelopes may be sent; 0
// means now. It ends the pacing once the rate reached MaxRate.
func (p *pacer) delay(now time.Time, n int) time.Duration {
	if !p.active {
		return 0
	}
	t := p.cfg.DoublingTime.Seconds()
	e := now.Sub(p.start).Seconds()
	if p.cfg.StartRate*math.Exp2(e/t) >= p.cfg.MaxRate {
		p.active = false
		return 0
	}
	if p.sent == 0 {
		return 0 // one batch at once, whatever its size
	}
	need := float64(p.sent+n-p.cfg.Burst) * math.Ln2 / (p.cfg.StartRate * t)
	if need <= 0 {
		return 0
	}
	at := t * math.Log2(1+need)
	if at <= e {
		return 0
	}
	return time.Duration((at - e) * float64(time.Second))
}

// sent records n envelopes sent.
func (p *pacer) add(n int) {
	if p.active {
		p.sent += n
	}
}
