package stats

import "sync/atomic"

// Max records the largest value observed. The zero value is ready to use
// and holds 0.
type Max struct {
	v atomic.Int64
}

// Observe raises the maximum to v if v is larger.
func (m *Max) Observe(v int64) {
	for {
		old := m.v.Load()
		if v <= old || m.v.CompareAndSwap(old, v) {
			return
		}
	}
}

// Load returns the maximum observed so far, 0 if nothing larger was.
func (m *Max) Load() int64 { return m.v.Load() }
