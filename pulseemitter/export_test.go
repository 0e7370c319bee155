package pulseemitter

import "time"

// WithTicker makes the emitter take its ticks from newTicker instead of
// time.NewTicker, so that tests decide when each tick happens.
func WithTicker(newTicker func(d time.Duration) (<-chan time.Time, func())) PulseEmitterOption {
	return func(p *PulseEmitter) { p.newTicker = newTicker }
}
