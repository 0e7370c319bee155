package runtimeemitter

import "time"

// WithTicker makes the emitter take its ticks from newTicker instead of
// time.NewTicker, so that tests decide when each tick happens.
func WithTicker(newTicker func(d time.Duration) (<-chan time.Time, func())) RuntimeEmitterOption {
	return func(e *Emitter) { e.newTicker = newTicker }
}
